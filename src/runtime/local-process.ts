/**
 * Whether a process of this host is alive: what the sweeper asks before it declares a silent
 * agent of its own host lost. A process the OS still runs is starved or blocked, not dead.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` start times (USER_HZ: 100 on every Linux ABI). */
const USER_HZ = 100;
/** Slack between the process's start (second-grained boot time) and the agent's registration. */
const START_SLACK_MS = 5_000;

let bootTimeMs: number | null | undefined;

/** When this host booted, in epoch ms, from `/proc/stat` (`btime`); null off Linux. */
function bootTime(): number | null {
  if (bootTimeMs !== undefined) return bootTimeMs;
  try {
    const match = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    bootTimeMs = match?.[1] === undefined ? null : Number(match[1]) * 1000;
  } catch {
    bootTimeMs = null;
  }
  return bootTimeMs;
}

/**
 * The state letter and start time (epoch ms) of a process from `/proc/<pid>/stat`, or null when
 * that cannot be read (not Linux, or the process is gone).
 */
function procStat(pid: number): { state: string; startedAt: number } | null {
  const boot = bootTime();
  if (boot === null) return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses; fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  const ticks = Number(fields[19]); // field 22 of the whole line: starttime
  if (!Number.isFinite(ticks)) return null;
  return { state, startedAt: boot + (ticks / USER_HZ) * 1000 };
}

/**
 * Whether process `pid` of this host is alive, and (where the OS tells) is a process that was
 * already running at `runningBy` (epoch ms): a pid the OS gave to a new process after the
 * original died does not count, nor does a zombie (dead, not yet reaped by its parent).
 */
export function processAlive(pid: number, runningBy: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(pid);
  if (stat === null) return true; // not Linux: the signal check is all there is
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return stat.startedAt <= runningBy + START_SLACK_MS;
}
