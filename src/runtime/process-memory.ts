/**
 * The resident memory (RSS) of another process, for the pool's memory limit. On Linux it is
 * read from `/proc/<pid>/status` (no child process per reading); elsewhere from `ps -o rss=`.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The `VmRSS` line of `/proc/<pid>/status`, in kB. */
const VM_RSS = /^VmRSS:\s+(\d+)\s+kB$/m;

/**
 * RSS of `pid` in bytes, or `null` when the process is gone (or is a zombie, which has no
 * resident memory) or the platform offers no way to read it.
 */
export async function readRssBytes(pid: number): Promise<number | null> {
  if (process.platform === 'linux') {
    let status: string;
    try {
      status = await readFile(`/proc/${pid}/status`, 'utf8');
    } catch {
      return null;
    }
    const kb = VM_RSS.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  }
  try {
    const { stdout } = await execFileAsync('ps', ['-o', 'rss=', '-p', String(pid)]);
    const kb = Number(stdout.trim());
    return stdout.trim() === '' || !Number.isFinite(kb) ? null : kb * 1024;
  } catch {
    // `ps` exits 1 when there is no such process.
    return null;
  }
}
