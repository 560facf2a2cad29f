/**
 * A task's programs end with the process that started them, however it ends: a real `baton
 * worker` SIGKILLed mid-task (an argv task, and a shell task with pipelines and a background job,
 * whose grandchildren are in the group too), a holder SIGKILLed while its task ignores SIGTERM,
 * a normal exit mid-task, and a supervisor that was itself SIGKILLed. These use only `runShell`
 * and the CLI, so they run unchanged against the code before the supervisor (where they fail).
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { useCli } from '../helpers/cli.ts';
import { killAll, startNode } from '../helpers/node-process.ts';
import {
  isLive,
  killGroup,
  liveChildren,
  liveGroupMembers,
  pollFor,
  processInfo,
  waitForGroupGone,
  type ProcInfo,
} from '../helpers/proc.ts';

const HOLDER = fileURLToPath(new URL('./fixtures/shell-holder.ts', import.meta.url));
/** How long a killed task's group may take to go: generous, for a machine at load 10+. */
const GONE_WITHIN_MS = 20_000;
/** Long enough for a worker to start, claim and be killed on a loaded machine. */
const KILL_TEST_TIMEOUT_MS = 90_000;

/** Groups a test started, SIGKILLed afterwards whatever happened (a failing test leaks none). */
let groups: number[] = [];
let dir: string;

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'baton-pgroup-')));
});

afterEach(async () => {
  for (const pgid of groups) killGroup(pgid);
  groups = [];
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

const argvText = (p: ProcInfo): string => p.argv.join(' ');

/** The supervisor serving process `pid`, if it runs. */
function supervisorOf(pid: number): ProcInfo | undefined {
  return liveChildren(pid).find(
    (p) => p.argv.includes('baton-supervisor') && p.argv.at(-1) === String(pid),
  );
}

describe('a baton worker killed with SIGKILL mid-task', () => {
  const cli = useCli();

  /** Submit `task` (a plan line set), start a worker, return it with the task's group once running. */
  async function runUntilHeld(
    taskLines: string[],
    isLeader: (p: ProcInfo) => boolean,
    expectedArgv: string[],
  ): Promise<{ worker: ReturnType<typeof cli.start>; pgid: number }> {
    const plan = join(cli.dir, 'plan.yaml');
    writeFileSync(plan, ['name: kill', 'tasks:', '  - key: held', ...taskLines, ''].join('\n'));
    const submitted = await cli.run(['submit', plan, '--store', cli.store, '--json']);
    expect(submitted.code, submitted.stderr).toBe(0);

    const worker = cli.start(['worker', '--store', cli.store, '--concurrency', '1']);
    const workerPid = worker.child.pid!;
    const leader = await pollFor(() => liveChildren(workerPid).find(isLeader), 30_000);
    expect(leader, `the task never started\n${worker.stderr}`).toBeDefined();
    const pgid = leader!.pid;
    groups.push(pgid);
    expect(leader!.pgrp).toBe(pgid); // the program leads its own group
    // Every process of the task runs before the kill (a pipeline forks its parts one by one).
    const all = await pollFor(() => {
      const members = liveGroupMembers(pgid).map(argvText);
      return expectedArgv.every((a) => members.includes(a)) ? members : undefined;
    }, 30_000);
    expect(all, `members of ${pgid}: ${liveGroupMembers(pgid).map(argvText).join(', ')}`).toEqual(
      expect.arrayContaining(expectedArgv),
    );
    return { worker, pgid };
  }

  async function killAndExpectGone(
    worker: ReturnType<typeof cli.start>,
    pgid: number,
  ): Promise<void> {
    const workerPid = worker.child.pid!;
    const supervisor = supervisorOf(workerPid);
    worker.child.kill('SIGKILL');
    expect((await worker.exited).signal).toBe('SIGKILL');

    const left = await waitForGroupGone(pgid, GONE_WITHIN_MS);
    expect(left.map(argvText), `processes of group ${pgid} still running`).toEqual([]);
    // The supervisor did its work and is not the thing left behind either.
    expect(supervisor, 'the worker ran no supervisor').toBeDefined();
    const stays = await pollFor(
      () => (isLive(processInfo(supervisor!.pid)) ? undefined : true),
      GONE_WITHIN_MS,
    );
    expect(stays, `supervisor ${supervisor!.pid} still running`).toBe(true);
  }

  it(
    'ends an argv task (sleep 301) and its supervisor',
    async () => {
      const { worker, pgid } = await runUntilHeld(
        ['    command: sleep', "    args: ['301']"],
        (p) => argvText(p) === 'sleep 301',
        ['sleep 301'],
      );
      await killAndExpectGone(worker, pgid);
    },
    KILL_TEST_TIMEOUT_MS,
  );

  it(
    'ends a shell task with pipelines and a background job, grandchildren included',
    async () => {
      const script = 'sleep 301 | cat & sleep 302 | cat; wait';
      const { worker, pgid } = await runUntilHeld(
        [`    command: '${script}'`, '    shell: true'],
        (p) => p.argv[0] === '/bin/sh' && p.argv[2] === script,
        ['sleep 301', 'sleep 302', 'cat'],
      );
      expect(liveGroupMembers(pgid).filter((p) => argvText(p) === 'cat')).toHaveLength(2);
      await killAndExpectGone(worker, pgid);
    },
    KILL_TEST_TIMEOUT_MS,
  );
});

describe('a process running a shell task', () => {
  /** Start the holder; resolves with it and the task's group once the task runs. */
  async function hold(mode: 'hold' | 'exit', killGraceMs: number, script: string) {
    const pidFile = join(dir, 'pgid');
    const holder = startNode(HOLDER, [mode, String(killGraceMs), pidFile, script]);
    await holder.waitFor(/running \d+\n/);
    const pgid = Number(/running (\d+)/.exec(holder.stdout)![1]);
    groups.push(pgid);
    return { holder, pgid };
  }

  it(
    'SIGKILLed: a group that ignores SIGTERM is SIGKILLed after the grace',
    async () => {
      const { holder, pgid } = await hold(
        'hold',
        300,
        `trap "" TERM; sleep 303 & sleep 304 & echo $$ > "$1"; wait`,
      );
      // sh and both sleeps (they inherit the ignored SIGTERM), before the kill.
      const members = await pollFor(
        () => (liveGroupMembers(pgid).length >= 3 ? true : undefined),
        GONE_WITHIN_MS,
      );
      expect(members, liveGroupMembers(pgid).map(argvText).join(', ')).toBe(true);
      holder.child.kill('SIGKILL');
      await holder.exited;
      expect((await waitForGroupGone(pgid, GONE_WITHIN_MS)).map(argvText)).toEqual([]);
    },
    KILL_TEST_TIMEOUT_MS,
  );

  it(
    'exiting normally mid-task (status 0) ends the task too',
    async () => {
      const { holder, pgid } = await hold('exit', 2000, `sleep 305 & echo $$ > "$1"; wait`);
      expect((await holder.exited).code).toBe(0);
      expect((await waitForGroupGone(pgid, GONE_WITHIN_MS)).map(argvText)).toEqual([]);
    },
    KILL_TEST_TIMEOUT_MS,
  );

  it(
    'still guards its tasks after its supervisor was SIGKILLed',
    async () => {
      const { holder, pgid } = await hold('hold', 2000, `sleep 306 & echo $$ > "$1"; wait`);
      const holderPid = holder.child.pid!;
      const first = supervisorOf(holderPid);
      expect(first).toBeDefined();
      process.kill(first!.pid, 'SIGKILL');
      const second = await pollFor(() => {
        const found = supervisorOf(holderPid);
        return found !== undefined && found.pid !== first!.pid ? found : undefined;
      }, GONE_WITHIN_MS);
      expect(second, 'no new supervisor').toBeDefined();

      holder.child.kill('SIGKILL');
      await holder.exited;
      expect((await waitForGroupGone(pgid, GONE_WITHIN_MS)).map(argvText)).toEqual([]);
    },
    KILL_TEST_TIMEOUT_MS,
  );
});
