/**
 * The machine's processes as `/proc` shows them (Linux), to check what a test's programs left
 * running: members of a process group, children of a process, and a bounded wait for them to go.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** The process group. */
  pgrp: number;
  /** `R`, `S`, `D`, `T`, `Z` (zombie), `X` (dead)… */
  state: string;
  argv: string[];
}

/** One process, or undefined when it is gone (or went while being read). */
export function processInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so cut at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return {
      pid,
      state: fields[0] ?? '?',
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
      argv: cmdline === '' ? [] : cmdline.replace(/\0$/, '').split('\0'),
    };
  } catch {
    return undefined;
  }
}

/** Every process on the machine (that this user may read). */
export function processes(): ProcInfo[] {
  const all: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = processInfo(Number(name));
    if (info !== undefined) all.push(info);
  }
  return all;
}

/**
 * Running, not a zombie: an orphan killed after its parent died may wait as a zombie for a reaper
 * that this container's init never runs, and a zombie runs nothing.
 */
export function isLive(info: ProcInfo | undefined): info is ProcInfo {
  return info !== undefined && info.state !== 'Z' && info.state !== 'X';
}

/** The live members of process group `pgid`. */
export function liveGroupMembers(pgid: number): ProcInfo[] {
  return processes().filter((p) => p.pgrp === pgid && isLive(p));
}

/** The live children of `pid`. */
export function liveChildren(pid: number): ProcInfo[] {
  return processes().filter((p) => p.ppid === pid && isLive(p));
}

/** Poll `probe` every 50 ms until it returns a value (not undefined), for at most `timeoutMs`. */
export async function pollFor<T>(
  probe: () => T | undefined,
  timeoutMs: number,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await sleep(50);
  }
}

/** Wait (bounded) until group `pgid` has no live member; returns the members still live. */
export async function waitForGroupGone(pgid: number, timeoutMs: number): Promise<ProcInfo[]> {
  const gone = await pollFor(
    () => (liveGroupMembers(pgid).length === 0 ? true : undefined),
    timeoutMs,
  );
  return gone ? [] : liveGroupMembers(pgid);
}

/** SIGKILL whatever is left of group `pgid` (a test's clean-up after a failure). */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left.
  }
}
