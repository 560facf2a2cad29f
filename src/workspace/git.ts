/**
 * git as a child process: `execFile` with an argument array, never a shell, so no branch name,
 * key or commit message is ever parsed by one. Every call names the directory it runs in and
 * pins the environment git reads, so a user's `GIT_DIR` or hooks cannot redirect it.
 */
import { execFile } from 'node:child_process';

import { WorkspaceError } from '../core/errors.ts';

/** Who Baton's own commits are by (never the user's configured identity). */
export const BATON_IDENTITY = { name: 'Baton', email: 'baton@localhost' } as const;

/** A git command that exited non-zero: its argv, exit code and stderr. */
export class GitError extends WorkspaceError {
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(args: readonly string[], exitCode: number | null, stdout: string, stderr: string) {
    const said = stderr.trim() || stdout.trim() || 'no output';
    super(`git ${args.join(' ')} failed (exit ${exitCode}): ${said}`, {
      retryable: true,
      details: { args: [...args], exitCode },
    });
    this.args = args;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

export interface GitOptions {
  /** Text written to git's stdin. */
  input?: string;
  /** Exit codes that are answers, not failures (e.g. 1 from `merge-tree` on a conflict). */
  okCodes?: readonly number[];
  /** Commit as Baton: author and committer set to {@link BATON_IDENTITY}. */
  asBaton?: boolean;
}

export interface GitResult {
  stdout: string;
  exitCode: number;
}

/** Variables that would make git act on another repository, index or work tree than `cwd`'s. */
const REDIRECTING = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_CEILING_DIRECTORIES',
];

function gitEnv(asBaton: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REDIRECTING) delete env[name];
  env.GIT_TERMINAL_PROMPT = '0';
  env.LC_ALL = 'C';
  if (asBaton) {
    env.GIT_AUTHOR_NAME = BATON_IDENTITY.name;
    env.GIT_AUTHOR_EMAIL = BATON_IDENTITY.email;
    env.GIT_COMMITTER_NAME = BATON_IDENTITY.name;
    env.GIT_COMMITTER_EMAIL = BATON_IDENTITY.email;
  }
  return env;
}

/**
 * Run `git <args>` in `cwd`. Hooks are off (`core.hooksPath=/dev/null`): Baton's commits and
 * merges are bookkeeping, and a user's hook must not run (or fail) inside them.
 * @throws GitError on an exit code not in `okCodes` (0 is always fine).
 */
export function git(
  cwd: string,
  args: readonly string[],
  options: GitOptions = {},
): Promise<GitResult> {
  const argv = [
    '-c',
    'core.hooksPath=/dev/null',
    '-c',
    'commit.gpgSign=false',
    // No background gc or maintenance in the middle of a run's merges.
    '-c',
    'gc.auto=0',
    '-c',
    'maintenance.auto=false',
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      argv,
      { cwd, env: gitEnv(options.asBaton === true), maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        if (code === 0 || (code !== null && (options.okCodes ?? []).includes(code))) {
          resolve({ stdout, exitCode: code });
          return;
        }
        if (error !== null && code === null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new WorkspaceError('git is not installed (no git on PATH); install git 2.38 or later', {
              cause: error,
            }),
          );
          return;
        }
        reject(new GitError(args, code, stdout, stderr));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** `git <args>` and its stdout without the final newline. */
export async function gitText(
  cwd: string,
  args: readonly string[],
  options: GitOptions = {},
): Promise<string> {
  return (await git(cwd, args, options)).stdout.replace(/\n$/, '');
}

/** The commit a ref names, or null when it does not exist. */
export async function resolveRef(cwd: string, ref: string): Promise<string | null> {
  const { stdout, exitCode } = await git(
    cwd,
    ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`],
    {
      okCodes: [1],
    },
  );
  return exitCode === 0 ? stdout.trim() : null;
}

/** The object a ref points at (any type), or null. */
export async function readRef(cwd: string, ref: string): Promise<string | null> {
  const { stdout, exitCode } = await git(cwd, ['rev-parse', '--verify', '--quiet', ref], {
    okCodes: [1],
  });
  return exitCode === 0 ? stdout.trim() : null;
}

/** The all-zero object id: `update-ref`'s "must not exist yet". */
export const ZERO_OID = '0000000000000000000000000000000000000000';
