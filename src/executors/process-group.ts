/**
 * Programs that a task starts, each in a process group that cannot outlive the process that
 * started it. Every executor that spawns a program (`shell` today, coding agents next) goes
 * through {@link spawnProcessGroup}, so the rule lives here.
 *
 * ## The rule
 * A task's program runs in its own process group (`setsid`, Node's `detached`), so stopping the
 * task stops everything it started: `sh -c 'a | b & c'`, `make -j`, a test runner's workers.
 * Stopping means SIGTERM to the group, then SIGKILL to whatever is left after a grace period. It
 * happens on timeout or cancel (the AbortSignal), and when the program exits on its own while
 * something it started still runs (a background job, a daemon that kept its group).
 *
 * ## When the worker dies
 * Linux's `PR_SET_PDEATHSIG` is not reachable from Node, and the kernel does nothing for a
 * process group whose starter died: a worker killed with SIGKILL would leave its tasks' programs
 * running while another worker runs the same tasks again. So each Node process that starts
 * programs also runs one **supervisor**: a small `/bin/sh` script that holds the read end of a
 * pipe whose write end only this process has (close-on-exec, so no other child inherits it).
 * Before a program may start, its group is registered with the supervisor (`+pgid:polls`); once
 * the group is gone it is withdrawn (`-pgid`). When the pipe reaches end-of-file — the process
 * exited, crashed or was SIGKILLed; the kernel closes the pipe in every case — the supervisor
 * sends SIGTERM to every group still registered, SIGKILL to those left after each one's grace,
 * and exits. It starts in its own session, so signals aimed at the worker's process group (a
 * Ctrl-C, a pool killing a worker's group) do not reach it, and it ignores HUP, INT, QUIT and TERM.
 *
 * There is no moment when a program runs unguarded: the program is started as `/bin/sh -c
 * LAUNCH`, which waits for a line on its stdin before it `exec`s the program (stdin then becomes
 * /dev/null, as before). That line is written only after the group's registration is in the
 * supervisor's pipe. If the worker dies before writing it, the launcher reads end-of-file and
 * exits without running anything; after it, the supervisor holds the group.
 *
 * `exec` keeps everything the program sees as it was with a direct spawn: the spawned pid is the
 * program's (and the group's) pid, its parent is the worker, its exit code and the signal that
 * ended it reach Node untouched, argv is passed as positional parameters (never parsed by a
 * shell), and the environment is the given one (the launcher restores `PWD`, which `sh` resets).
 * Because `exec` cannot report "not found" to Node, the program is looked up on `PATH` here
 * first, as `execvp` would, so that a missing program still fails with `ENOENT`/`EACCES`.
 *
 * ## Why one `sh` per process and not a supervisor per child
 * - A Node supervisor per task costs a Node start-up per task: in `bench/process-group.ts`, 15×
 *   the CPU of the children of a direct spawn, eight to nine times its latency, and 42 MB resident for
 *   as long as the task runs (an idle supervisor: 1.7 MB).
 * - A `sh` supervisor per task, forked by the launcher before `exec`, would sit inside the task's
 *   group (only Node's `detached` makes a group; POSIX `sh` without a terminal has no job control
 *   to make another; dash refuses `set -m`), so "is the group empty?" could no longer be answered
 *   with `kill(-pgid, 0)`, and the task's own `wait`ing programs would see an unexpected child.
 *   Spawning one from Node per task keeps it outside, but each spawn forks the worker's whole
 *   address space on its event loop: about twice the worker's CPU per task (the bench's
 *   `shPerTask`).
 * - One supervisor per process costs one spawn per process lifetime; per task, the launcher's
 *   `sh` start and second `exec` (in the child, not on the worker's loop) and three short pipe
 *   writes. Measured against a direct spawn of `true` on a loaded machine: 1.2–1.4× the latency
 *   (about 11 ms more at load 15–35), 0.85–0.89× the throughput at 8 at once, 1.2× the worker's
 *   CPU (docs/benchmarks.md#process-groups). For a program that runs seconds, it is noise.
 *
 * Limits: a process that leaves the group (`setsid`, a daemon double-fork) escapes it, as
 * before. The supervisor itself can be ended with SIGKILL; if it dies while this process lives,
 * a new one is started and given every registered group. `/bin/sh` must exist.
 */
import {
  spawn,
  type ChildProcessByStdio,
  type ChildProcessWithoutNullStreams,
} from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** Options of {@link spawnProcessGroup}. */
export interface ProcessGroupOptions {
  /** Working directory of the program (absolute, or relative to the worker's). */
  cwd: string;
  /** The program's whole environment; its `PATH` is where a bare program name is looked up. */
  env: NodeJS.ProcessEnv;
  /**
   * After SIGTERM to the group, wait this long for it to exit before sending SIGKILL: on
   * {@link ProcessGroup.stop}, on abort, after the program exits, and when this process dies.
   * @default 2000
   */
  killGraceMs?: number;
  /** Aborting stops the group ({@link ProcessGroup.stop}); if already aborted, the program never runs. */
  signal?: AbortSignal;
  /**
   * A file the program reads as its standard input (a coding agent's prompt), opened by the
   * launcher just before it becomes the program.
   * @default '/dev/null'
   */
  stdinFile?: string;
}

/** How the program ended: an exit code, or the signal that ended it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running program and its process group. */
export interface ProcessGroup {
  /** The program's pid, which is also its process group's id. */
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /**
   * Settles once the program has exited and its output pipes have closed. A process that left
   * the group could keep them open: they are cut off `killGraceMs` + 500 ms after the program
   * exited, and the rest of its output is lost. Never rejects.
   */
  readonly exited: Promise<ProcessExit>;
  /** SIGTERM the whole group now, SIGKILL whatever is left after `killGraceMs`. Idempotent. */
  stop(): void;
}

/** The supervisor could not be started or lost the group's registration: the program did not run. */
export class SupervisorError extends Error {
  readonly code = 'SUPERVISOR';
  /** A fresh attempt starts a fresh supervisor. */
  readonly retryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SupervisorError';
  }
}

const DEFAULT_KILL_GRACE_MS = 2000;
/** After the program exited, how long pipes may stay open past the grace before we stop reading. */
const DRAIN_AFTER_KILL_MS = 500;
/** The supervisor checks a dying group this often (`sleep 0.1`), so a grace is counted in these. */
const POLL_MS = 100;
const SH = '/bin/sh';

/**
 * The launcher, `sh -c LAUNCH baton PWD STDIN PROGRAM ARGS…`: waits for the go line, restores
 * the caller's `PWD` (`-` means unset; sh sets it to the real directory), and becomes the program
 * with its stdin read from the file `STDIN` (written `=path`; `/dev/null` unless told).
 * End-of-file instead of the line means the worker is gone: exit without running anything.
 */
const LAUNCH = `IFS= read -r go || exit 125
case $1 in -) unset PWD ;; *) PWD=\${1#=}; export PWD ;; esac
in=\${2#=}
shift 2
exec "$@" <"$in"`;

/**
 * The supervisor, `sh -c SUPERVISE baton-supervisor NODE_PID` (the pid only names, in `ps`,
 * whom it serves). Lines on stdin: `+PGID:POLLS` registers a group, `-PGID` withdraws it. At
 * end-of-file: SIGTERM each registered group, SIGKILL each one still there after its POLLS
 * checks 0.1 s apart, exit once none is left. `ready` on stdout says the script runs.
 */
const SUPERVISE = `trap '' HUP INT QUIT TERM
echo ready
exec >/dev/null
groups=' '
while IFS= read -r line; do
  case $line in
    +*) groups="$groups\${line#+} " ;;
    -*)
      g=\${line#-}
      case $groups in
        *" $g:"*)
          rest=\${groups#*" $g:"}
          groups="\${groups%%" $g:"*} \${rest#* }"
          ;;
      esac
      ;;
  esac
done
for t in $groups; do kill -s TERM -- "-\${t%%:*}" 2>/dev/null; done
n=0
while :; do
  left=
  for t in $groups; do
    g=\${t%%:*}
    kill -s 0 -- "-$g" 2>/dev/null || continue
    if [ "$n" -ge "\${t#*:}" ]; then kill -s KILL -- "-$g" 2>/dev/null; else left="$left $t"; fi
  done
  [ -z "$left" ] && exit 0
  groups=$left
  sleep 0.1
  n=$((n + 1))
done`;

interface SupervisorProcess {
  child: ChildProcessByStdio<Writable, Readable, null>;
  /** Resolves once the script printed `ready`; rejects if it could not start or exited first. */
  ready: Promise<void>;
  /** It printed `ready`: the script runs under this `/bin/sh`. */
  wasReady: boolean;
}

/** This process's supervisor: started on first use, restarted if it dies while groups are held. */
class Supervisor {
  #current: SupervisorProcess | undefined;
  /** Registered groups: pgid → grace in polls. */
  readonly #groups = new Map<number, number>();

  /**
   * Register a group; resolves once its line is in the supervisor's pipe and the supervisor is
   * known to run. From then on the group is ended if this process dies.
   */
  async guard(pgid: number, killGraceMs: number): Promise<void> {
    const polls = Math.ceil(killGraceMs / POLL_MS);
    this.#groups.set(pgid, polls);
    try {
      const current = this.#current;
      if (current === undefined) {
        const started = this.#start();
        await Promise.all([started.ready, this.#flush(started)]); // every held group, this one too
      } else {
        await Promise.all([current.ready, this.#write(current, `+${pgid}:${polls}\n`)]);
      }
    } catch (error) {
      this.release(pgid); // a supervisor started meanwhile may hold it
      throw new SupervisorError(
        `could not register process group ${pgid} with the process supervisor (${SH} -c …): ${describe(error)}; the program was not started`,
        { cause: error },
      );
    }
  }

  /** Withdraw a group that is gone (or about to be SIGKILLed by us). */
  release(pgid: number): void {
    if (!this.#groups.delete(pgid)) return;
    const proc = this.#current;
    if (proc !== undefined) this.#write(proc, `-${pgid}\n`).catch(() => undefined);
  }

  #start(): SupervisorProcess {
    const child = spawn(SH, ['-c', SUPERVISE, 'baton-supervisor', String(process.pid)], {
      detached: true, // its own session: signals to the worker's group do not reach it
      cwd: '/', // pin no directory of the worker's
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, // the tasks' secrets stay out
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    child.stdin.on('error', () => undefined); // EPIPE once it died: 'exit' handles that
    const ready = new Promise<void>((resolveReady, rejectReady) => {
      let seen = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        seen += chunk;
        if (seen.includes('ready\n')) {
          proc.wasReady = true;
          resolveReady();
        }
      });
      child.once('error', rejectReady);
      child.once('exit', (code, sig) =>
        rejectReady(new Error(`the supervisor exited before it was ready (${sig ?? code})`)),
      );
    });
    ready.catch(() => undefined); // a restart nobody awaits must not be an unhandled rejection
    const proc: SupervisorProcess = { child, ready, wasReady: false };
    this.#current = proc;
    child.once('error', () => {
      if (this.#current === proc) this.#current = undefined;
    });
    child.once('exit', () => {
      if (this.#current !== proc) return;
      this.#current = undefined;
      // Someone ended it while this process lives: its groups would be unguarded. Start another
      // at once, unless this one never got to run its script (a broken /bin/sh would loop): then
      // the next guard() tries again, and fails its task if it cannot.
      if (this.#groups.size > 0 && proc.wasReady) {
        this.#flush(this.#start()).catch(() => undefined);
      }
    });
    // Neither the process nor its pipes keep this process alive: when it ends, the supervisor
    // reads end-of-file and ends whatever is still registered.
    child.unref();
    unrefStream(child.stdin);
    unrefStream(child.stdout);
    return proc;
  }

  /** Register every held group with a new supervisor. */
  #flush(proc: SupervisorProcess): Promise<void> {
    const lines = [...this.#groups].map(([pgid, polls]) => `+${pgid}:${polls}\n`).join('');
    return lines === '' ? Promise.resolve() : this.#write(proc, lines);
  }

  /** Resolves once the kernel has the bytes (so a line written after it cannot overtake it). */
  #write(proc: SupervisorProcess, text: string): Promise<void> {
    return new Promise((resolveWrite, rejectWrite) => {
      proc.child.stdin.write(text, (error) => (error ? rejectWrite(error) : resolveWrite()));
    });
  }
}

const supervisor = new Supervisor();

/**
 * Start `file` with `args` (argv form, never through a shell) in a new process group that is
 * ended if this process dies, however it dies. Resolves once the program has been released to
 * run (or, if the signal was aborted meanwhile, has been stopped instead).
 *
 * @throws a Node `ErrnoException` (`code` `ENOENT`, `EACCES`…, as `child_process.spawn` reports
 *   it) when the program or the working directory cannot be found or run.
 * @throws SupervisorError when the supervisor cannot be started (the program did not run).
 */
export async function spawnProcessGroup(
  file: string,
  args: readonly string[],
  options: ProcessGroupOptions,
): Promise<ProcessGroup> {
  const cwd = resolve(options.cwd);
  const found = findProgram(file, cwd, options.env['PATH']);
  if ('error' in found) throw spawnFailure(found.error, file, args);
  // The launcher execs the name as given, so argv[0] stays what the caller wrote, except where
  // `sh` would not find the same file: without PATH (sh's default differs from execvp's), or a
  // name some shells' `exec` would take for an option.
  const program = options.env['PATH'] === undefined || file.startsWith('-') ? found.path : file;
  const pwd = options.env['PWD'];

  const child = spawn(
    SH,
    [
      '-c',
      LAUNCH,
      'baton',
      pwd === undefined ? '-' : `=${pwd}`,
      `=${options.stdinFile === undefined ? '/dev/null' : resolve(cwd, options.stdinFile)}`,
      program,
      ...args,
    ],
    {
      shell: false,
      detached: true,
      cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  if (child.pid === undefined) {
    // Not started (a missing cwd, no process slots): Node reports why on the next tick.
    const error = await new Promise<Error>((resolveError) => child.once('error', resolveError));
    throw Object.assign(error, { path: file, spawnargs: [...args] });
  }
  const group = new RunningGroup(child, child.pid, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  try {
    await supervisor.guard(child.pid, group.killGraceMs);
  } catch (error) {
    group.stop(); // no go line: the launcher dies waiting for it
    child.stdout.destroy(); // nobody will read them
    child.stderr.destroy();
    throw error;
  }
  const { signal } = options;
  if (signal?.aborted || group.stopping) {
    group.stop(); // no go line: the launcher dies waiting for it
  } else {
    child.stdin.end('go\n');
    if (signal !== undefined) {
      const onAbort = (): void => group.stop();
      signal.addEventListener('abort', onAbort, { once: true });
      void group.exited.then(() => signal.removeEventListener('abort', onAbort));
    }
  }
  return group;
}

class RunningGroup implements ProcessGroup {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exited: Promise<ProcessExit>;
  readonly killGraceMs: number;
  #killTimer: NodeJS.Timeout | undefined;
  #stopping = false;

  constructor(child: ChildProcessWithoutNullStreams, pid: number, killGraceMs: number) {
    this.pid = pid;
    this.stdout = child.stdout;
    this.stderr = child.stderr;
    this.killGraceMs = killGraceMs;
    child.stdin.on('error', () => undefined); // EPIPE when the launcher died before the go line
    // 'error' with a pid is a failed kill; the exit/close path below settles everything.
    child.on('error', () => undefined);

    child.on('exit', () => {
      // The leader is gone, but the group may live on: background jobs, daemons, orphans that
      // still hold our pipes (and would keep 'close' from ever firing). End them too.
      this.stop();
      // A process that left the group (setsid) can hold our pipes open forever. Once the group
      // has had its chance to exit, stop reading so 'close' fires; its remaining output is lost.
      const drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, killGraceMs + DRAIN_AFTER_KILL_MS);
      drain.unref();
      child.once('close', () => clearTimeout(drain));
    });

    // 'close' comes after 'exit' and after both pipes have drained, so no output is lost.
    this.exited = new Promise((resolveExit) => {
      child.once('close', (code: number | null, sig: NodeJS.Signals | null) => {
        // Keep the SIGKILL timer only while something of the group survives SIGTERM (it ignores
        // it, or left our pipes): settling must not let such a process outlive the task.
        if (this.#killTimer !== undefined && !this.#signal(0)) {
          clearTimeout(this.#killTimer);
          supervisor.release(pid);
        }
        resolveExit({ code, signal: sig });
      });
    });
  }

  /** Whether {@link stop} was called (or the program exited). */
  get stopping(): boolean {
    return this.#stopping;
  }

  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    if (!this.#signal('SIGTERM')) {
      supervisor.release(this.pid); // nothing left to guard
      return;
    }
    this.#killTimer = setTimeout(() => {
      this.#signal('SIGKILL');
      supervisor.release(this.pid);
    }, this.killGraceMs);
    this.#killTimer.unref();
  }

  #signal(sig: NodeJS.Signals | 0): boolean {
    try {
      process.kill(-this.pid, sig); // a negative pid addresses the group the program leads
      return true;
    } catch {
      return false; // ESRCH: the group is gone
    }
  }
}

/**
 * Find `file` as `execvp` does: a name with a slash is a path (relative to `cwd`); otherwise the
 * first executable regular file of that name on `PATH` (an empty entry is `cwd`). Returns its
 * path, or the error code `execvp` would give.
 */
function findProgram(
  file: string,
  cwd: string,
  path: string | undefined,
): { path: string } | { error: 'ENOENT' | 'EACCES' } {
  if (file.includes('/')) {
    const candidate = resolve(cwd, file);
    const verdict = executable(candidate);
    return verdict === 'ok' ? { path: candidate } : { error: verdict };
  }
  let denied = false;
  for (const dir of (path ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = resolve(cwd, dir, file);
    const verdict = executable(candidate);
    if (verdict === 'ok') return { path: candidate };
    if (verdict === 'EACCES') denied = true;
  }
  return { error: denied ? 'EACCES' : 'ENOENT' };
}

function executable(path: string): 'ok' | 'ENOENT' | 'EACCES' {
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) return 'ENOENT';
    if (!stat.isFile()) return 'EACCES'; // execve refuses a directory with EACCES
    accessSync(path, constants.X_OK);
    return 'ok';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EACCES' ? 'EACCES' : 'ENOENT';
  }
}

/** The error `child_process.spawn` would have emitted for a program it could not start. */
function spawnFailure(
  code: 'ENOENT' | 'EACCES',
  file: string,
  args: readonly string[],
): NodeJS.ErrnoException {
  return Object.assign(new Error(`spawn ${file} ${code}`), {
    code,
    errno: code === 'ENOENT' ? -2 : -13,
    syscall: `spawn ${file}`,
    path: file,
    spawnargs: [...args],
  });
}

function unrefStream(stream: Readable | Writable): void {
  (stream as Partial<{ unref(): void }>).unref?.();
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
