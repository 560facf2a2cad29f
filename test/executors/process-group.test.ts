/**
 * What a program sees when started through `spawnProcessGroup` (the launcher execs it): its pid
 * leads its group and its parent is the worker; argv, environment, cwd and stdin are as given;
 * its exit code or signal arrive unchanged; it never runs when already aborted; a program that
 * cannot be found or run fails as `spawn` would. Dying workers: `worker-death.test.ts`.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { spawnProcessGroup, type ProcessGroup } from '../../src/executors/process-group.ts';
import { killGroup } from '../helpers/proc.ts';

/** Groups a test started, SIGKILLed afterwards whatever happened (a failing test leaks none). */
let groups: number[] = [];
let dir: string;

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'baton-pgroup-')));
});

afterEach(() => {
  for (const pgid of groups) killGroup(pgid);
  groups = [];
  rmSync(dir, { recursive: true, force: true });
});

describe('spawnProcessGroup', () => {
  async function run(
    file: string,
    args: string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ): Promise<{ group: ProcessGroup; stdout: string; code: number | null; signal: string | null }> {
    const group = await spawnProcessGroup(file, args, {
      cwd: options.cwd ?? dir,
      env: options.env ?? process.env,
    });
    groups.push(group.pid);
    let stdout = '';
    group.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    group.stderr.resume();
    const exit = await group.exited;
    return { group, stdout, code: exit.code, signal: exit.signal };
  }

  it('runs the program itself: its pid leads its group and its parent is this process', async () => {
    const { group, stdout } = await run('cat', ['/proc/self/stat']);
    const fields = stdout.slice(stdout.lastIndexOf(')') + 2).split(' ');
    expect(stdout.startsWith(`${group.pid} (cat)`)).toBe(true);
    expect(Number(fields[1])).toBe(process.pid); // ppid
    expect(Number(fields[2])).toBe(group.pid); // process group
  });

  it('leaves no signal ignored or blocked and the umask as it was, like a direct spawn', async () => {
    const pick = (status: string): string[] =>
      status.split('\n').filter((line) => /^(SigBlk|SigIgn|Umask):/.test(line));
    const direct = spawnSync('cat', ['/proc/self/status'], { encoding: 'utf8' }).stdout;
    const { stdout } = await run('cat', ['/proc/self/status']);
    expect(pick(stdout)).toHaveLength(3);
    expect(pick(stdout)).toEqual(pick(direct));
  });

  it('passes argv exactly, argv[0] as given', async () => {
    const { stdout } = await run('cat', ['/proc/self/cmdline']);
    expect(stdout.split('\0')).toEqual(['cat', '/proc/self/cmdline', '']);
    const odd = ['$HOME', 'a b', '', "'", '"', '-x', '*', '\\'];
    const echoed = await run('printf', ['%s\\n', ...odd]);
    expect(echoed.stdout).toBe(odd.map((a) => `${a}\n`).join(''));
  });

  it('gives the program exactly the environment it was given, PWD included or not', async () => {
    const env = (text: string): Record<string, string> =>
      Object.fromEntries(
        text
          .split('\0')
          .filter((line) => line !== '')
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
    const given = { PATH: process.env['PATH']!, ONE: 'a\nb', TWO: '$x `y`' };
    expect(env((await run('env', ['-0'], { env: given })).stdout)).toEqual(given);
    const stale = { ...given, PWD: '/not/where/it/runs' };
    expect(env((await run('env', ['-0'], { env: stale })).stdout)).toEqual(stale);
  });

  it('runs in cwd with stdin at /dev/null', async () => {
    mkdirSync(join(dir, 'sub'));
    const { stdout } = await run('sh', ['-c', 'pwd -P; readlink /proc/self/fd/0'], {
      cwd: join(dir, 'sub'),
    });
    expect(stdout).toBe(`${join(dir, 'sub')}\n/dev/null\n`);
  });

  it('reports the exit code and the signal the program died of, unchanged', async () => {
    expect(await run('sh', ['-c', 'exit 130'])).toMatchObject({ code: 130, signal: null });
    expect(await run('sh', ['-c', 'kill -USR1 $$'])).toMatchObject({
      code: null,
      signal: 'SIGUSR1',
    });
  });

  it('never runs the program when the signal is already aborted', async () => {
    const marker = join(dir, 'ran');
    const group = await spawnProcessGroup('touch', [marker], {
      cwd: dir,
      env: process.env,
      signal: AbortSignal.abort(),
    });
    const exit = await group.exited;
    expect(exit.code).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  it('fails like spawn does when the program cannot be found or run', async () => {
    await expect(
      spawnProcessGroup('baton-no-such-program', [], { cwd: dir, env: process.env }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'echo hi\n');
    chmodSync(plain, 0o644);
    await expect(
      spawnProcessGroup(plain, [], { cwd: dir, env: process.env }),
    ).rejects.toMatchObject({ code: 'EACCES' });
    await expect(spawnProcessGroup(dir, [], { cwd: dir, env: process.env })).rejects.toMatchObject({
      code: 'EACCES',
    });
  });
});
