import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NonRetryableError, type BatonError } from '../../src/core/errors.ts';
import {
  ExitCodeError,
  parseShellPayload,
  runShell,
  shellHandler,
} from '../../src/executors/shell.ts';

let dir: string;

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'baton-shell-')));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Alive and not a zombie: an orphan may wait for a reaper that this container's init never runs. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Signal delivery is asynchronous: wait (bounded) for a killed process to be gone. */
async function waitUntilGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return false;
}

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8').trim();
      if (text) return text;
    }
    await sleep(25);
  }
  throw new Error(`${path} never appeared`);
}

const noAbort = new AbortController().signal;

describe('runShell', () => {
  it('captures stdout and stderr and the exit code', async () => {
    const result = await runShell({ command: 'sh', args: ['-c', 'echo out; echo err >&2'] });
    expect(result).toMatchObject({
      exitCode: 0,
      signal: null,
      stdout: 'out\n',
      stderr: 'err\n',
      stdoutTruncated: false,
      stderrTruncated: false,
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports a non-zero exit code as a result', async () => {
    const result = await runShell({ command: 'sh', args: ['-c', 'exit 7'] });
    expect(result.exitCode).toBe(7);
  });

  it('passes arguments with spaces and metacharacters literally', async () => {
    const marker = join(dir, 'x');
    writeFileSync(marker, 'keep');
    const args = ['a; rm -f x', '$HOME', '`id`', '*', 'two words', "it's"];
    const result = await runShell({ command: 'printf', args: ['%s\\n', ...args], cwd: dir });
    expect(result.stdout).toBe(args.map((a) => `${a}\n`).join(''));
    expect(existsSync(marker)).toBe(true);
  });

  it('accepts argv form: command as an array', async () => {
    const result = await runShell({ command: ['printf', '%s-%s'], args: ['a', 'b c'] });
    expect(result.stdout).toBe('a-b c');
  });

  it('runs a pipeline with shell: true, with args as positional parameters', async () => {
    const result = await runShell({
      command: 'printf "c\\na\\nb\\n" | sort | tr "\\n" " "; printf "[%s]" "$1"',
      shell: true,
      args: ['x; echo injected'],
    });
    expect(result.stdout).toBe('a b c [x; echo injected]');
  });

  it('runs in cwd with the payload env layered on the base env', async () => {
    mkdirSync(join(dir, 'sub'));
    const result = await runShell(
      {
        command: 'sh',
        args: ['-c', 'pwd; echo "$FOO $BASE"'],
        cwd: join(dir, 'sub'),
        env: { FOO: 'bar' },
      },
      { env: { ...process.env, BASE: 'base', FOO: 'overridden' } },
    );
    expect(result.stdout).toBe(`${join(dir, 'sub')}\nbar base\n`);
  });

  it('keeps the last maxOutputBytes of each stream, counts every byte, and marks it truncated', async () => {
    const result = await runShell(
      {
        command: 'sh',
        args: ['-c', 'head -c 100000 /dev/zero | tr "\\0" a; echo END; echo small >&2'],
      },
      { maxOutputBytes: 1000 },
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`${'a'.repeat(996)}END\n`);
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stdoutBytes).toBe(100_004);
    expect(result.stderr).toBe('small\n');
    expect(result.stderrTruncated).toBe(false);
    expect(result.stderrBytes).toBe(6);
  });

  it('never cuts a character in two at the start of the kept end', async () => {
    // 3-byte characters: a cut 1000 bytes from the end falls inside one.
    const result = await runShell(
      { command: 'sh', args: ['-c', 'i=0; while [ $i -lt 500 ]; do printf "€"; i=$((i+1)); done'] },
      { maxOutputBytes: 1000 },
    );
    expect(result.stdout).toBe('€'.repeat(333));
    expect(result.stdoutBytes).toBe(1500);
  });

  it('sends each chunk of output to the log as it is printed, tagged with its stream', async () => {
    const chunks: [string, string][] = [];
    const result = await runShell(
      { command: 'sh', args: ['-c', 'echo out; echo err >&2'] },
      { log: { write: (stream, chunk) => chunks.push([stream, Buffer.from(chunk).toString()]) } },
    );
    expect(result.exitCode).toBe(0);
    expect(
      chunks
        .filter(([s]) => s === 'stdout')
        .map(([, c]) => c)
        .join(''),
    ).toBe('out\n');
    expect(
      chunks
        .filter(([s]) => s === 'stderr')
        .map(([, c]) => c)
        .join(''),
    ).toBe('err\n');
  });

  it('on abort kills the whole process group and rejects with the reason', async () => {
    const pids = join(dir, 'pids');
    const controller = new AbortController();
    const running = runShell(
      { command: `sleep 100 & echo "$$ $!" > ${pids}; wait`, shell: true },
      { signal: controller.signal },
    );
    const [shPid, grandchild] = (await waitForFile(pids)).split(' ').map(Number);
    expect(isAlive(grandchild!)).toBe(true);

    const reason = new Error('stop now');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);

    expect(isAlive(shPid!)).toBe(false);
    expect(await waitUntilGone(grandchild!)).toBe(true);
  });

  it('escalates to SIGKILL when the group ignores SIGTERM', async () => {
    const pidFile = join(dir, 'pid');
    const controller = new AbortController();
    const running = runShell(
      { command: `trap "" TERM; sleep 100 & echo $! > ${pidFile}; wait`, shell: true },
      { signal: controller.signal, killGraceMs: 100 },
    );
    const grandchild = Number(await waitForFile(pidFile));
    controller.abort(new Error('cancelled'));
    await expect(running).rejects.toThrow('cancelled');
    expect(await waitUntilGone(grandchild)).toBe(true);
  });

  it('rejects at once without spawning when the signal is already aborted', async () => {
    const marker = join(dir, 'ran');
    const reason = new Error('too late');
    await expect(
      runShell({ command: 'touch', args: [marker] }, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    expect(existsSync(marker)).toBe(false);
  });

  it('ends background processes left behind when the command exits', async () => {
    const pidFile = join(dir, 'pid');
    const result = await runShell({
      command: `sleep 100 >/dev/null 2>&1 & echo $! > ${pidFile}`,
      shell: true,
    });
    expect(result.exitCode).toBe(0);
    expect(await waitUntilGone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
  });

  it('settles even when a process that left the group keeps the output pipe open', async () => {
    const pidFile = join(dir, 'pid');
    const running = runShell(
      {
        // The escapee writes its pid once it runs in its own session; only then does sh exit.
        command: `echo before; setsid sh -c 'echo $$ > ${pidFile}; exec sleep 100' & while [ ! -s ${pidFile} ]; do sleep 0.01; done`,
        shell: true,
      },
      { killGraceMs: 50 },
    );
    try {
      const result = await running;
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe('before\n');
    } finally {
      const escapee = Number(await waitForFile(pidFile));
      expect(isAlive(escapee)).toBe(true); // it really did outlive the group
      process.kill(escapee, 'SIGKILL');
    }
  });

  it('says which command was not found, and where, as a non-retryable error', async () => {
    const error = await runShell({ command: 'baton-no-such-program', cwd: dir }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as BatonError).retryable).toBe(false);
    expect((error as Error).message).toContain(
      `command not found: baton-no-such-program (cwd ${dir})`,
    );
  });

  it('hints at args or shell: true when a command string contains spaces', async () => {
    await expect(runShell({ command: 'sleep 0.1' })).rejects.toThrow(
      /command not found: sleep 0\.1.*shell: true/,
    );
  });

  it('names a program that is not executable, as a non-retryable error', async () => {
    const plain = join(dir, 'plain.sh');
    writeFileSync(plain, 'echo hi\n', { mode: 0o644 });
    const error = await runShell({ command: plain }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toContain(`permission denied running ${plain}`);
  });

  it('names a missing working directory', async () => {
    const missing = join(dir, 'nope');
    await expect(runShell({ command: 'true', cwd: missing })).rejects.toThrow(
      `working directory does not exist: ${missing}`,
    );
  });
});

describe('shellHandler', () => {
  const handler = shellHandler();

  it('returns the result as JSON on exit code 0', async () => {
    const result = await handler({ payload: { command: 'echo', args: ['hi'] }, signal: noAbort });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'hi\n', stderr: '' });
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('throws a retryable EXIT_CODE error quoting the last 20 lines of stderr', async () => {
    const script = 'i=1; while [ $i -le 30 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 3';
    const error = await handler({
      payload: { command: script, shell: true },
      signal: noAbort,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExitCodeError);
    const exit = error as ExitCodeError;
    expect(exit.code).toBe('EXIT_CODE');
    expect(exit.retryable).toBe(true);
    expect(exit.exitCode).toBe(3);
    expect(exit.message).toContain('exited with code 3');
    expect(exit.message).toContain('line 11\n');
    expect(exit.message).toContain('line 30');
    expect(exit.message).not.toContain('line 10\n');
  });

  it('quotes the end of stderr even when the kept output was truncated', async () => {
    const failing = shellHandler({ maxOutputBytes: 10 });
    await expect(
      failing({
        payload: {
          command: 'echo "a long first line of noise" >&2; echo "the real reason" >&2; exit 1',
          shell: true,
        },
        signal: noAbort,
      }),
    ).rejects.toThrow('the real reason');
  });

  it('rejects a malformed payload as non-retryable, naming the field', async () => {
    const error = await handler({
      payload: { command: 'echo', args: 'hi' },
      signal: noAbort,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toContain('args');
    await expect(handler({ payload: null, signal: noAbort })).rejects.toBeInstanceOf(
      NonRetryableError,
    );
    await expect(
      handler({ payload: { command: 'x', sheel: true }, signal: noAbort }),
    ).rejects.toThrow(/sheel/);
  });

  it('rejects with the signal reason on abort', async () => {
    const controller = new AbortController();
    const running = handler({
      payload: { command: 'sleep', args: ['100'] },
      signal: controller.signal,
    });
    const reason = new Error('timed out');
    setTimeout(() => controller.abort(reason), 50);
    await expect(running).rejects.toBe(reason);
  });
});

describe('parseShellPayload', () => {
  it('refuses an argv array with shell: true', () => {
    expect(() => parseShellPayload({ command: ['a', 'b'], shell: true })).toThrow(
      /one script line/,
    );
  });

  it('drops nothing it was given', () => {
    const payload = { command: 'x', args: ['1'], shell: false, cwd: '/tmp', env: { A: 'b' } };
    expect(parseShellPayload(payload)).toEqual(payload);
  });
});
