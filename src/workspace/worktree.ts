/**
 * A task's (or epic's) worktree: created from the integration branch when its task starts, reused
 * by a retry or a resumed run (reset to what its last attempt committed), committed as Baton when
 * the task succeeds, removed once merged. Only Baton's own worktrees are ever written to.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { setTimeout as sleep } from 'node:timers/promises';

import { git, GitError, gitText, resolveRef } from './git.ts';

/** The transient failures of concurrent worktree commands (another one mid-write, a held lock). */
const TRANSIENT = /commondir|gitdir|\.lock'?: File exists|cannot lock|Unable to create .*\.lock/i;

/**
 * `git worktree add|remove|prune`, retried on the transient failures of concurrent ones: `add`
 * reads every other worktree's administrative files, and one being written by a concurrent `add`
 * fails it ("failed to read .git/worktrees/<name>/commondir"). Retrying (rather than queueing
 * them) keeps agents of one process from waiting on each other, and works across processes.
 */
async function worktreeCommand(repo: string, args: readonly string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await git(repo, args);
      return;
    } catch (error) {
      if (!(error instanceof GitError) || !TRANSIENT.test(error.stderr) || attempt >= 10) {
        throw error;
      }
      await sleep(10 * attempt + Math.random() * 20);
    }
  }
}

/** Where a run's worktrees live, under the repository. */
export function worktreesRoot(repo: string): string {
  return join(repo, '.baton', 'worktrees');
}

export function worktreePath(repo: string, runDir: string, slot: string): string {
  return join(worktreesRoot(repo), runDir, slot);
}

/** Whether `path` is the top of a worktree of `repo`. */
async function isWorktree(path: string): Promise<boolean> {
  if (!existsSync(join(path, '.git'))) return false;
  const top = await git(path, ['rev-parse', '--show-toplevel'], { okCodes: [128] });
  return top.exitCode === 0 && resolve(top.stdout.trim()) === resolve(path);
}

/**
 * Open the worktree at `path` on `branch`: reuse it (reset to its last commit, untracked files
 * removed, an unfinished merge dropped) or create it, with the branch cut from `startPoint` when
 * the branch does not exist yet.
 * @returns whether it was reused, and the commit it stands on
 */
export async function openWorktree(
  repo: string,
  path: string,
  branch: string,
  startPoint: string,
  options: { branchExists?: boolean } = {},
): Promise<{ reused: boolean; head: string }> {
  if (await isWorktree(path)) {
    await git(path, ['reset', '--hard', '--quiet', 'HEAD']);
    await git(path, ['clean', '-fdq']);
    return { reused: true, head: await gitText(path, ['rev-parse', 'HEAD']) };
  }
  const exists = options.branchExists ?? (await resolveRef(repo, `refs/heads/${branch}`)) !== null;
  if (!exists) {
    try {
      await worktreeCommand(repo, ['worktree', 'add', '--quiet', '-b', branch, path, startPoint]);
      return { reused: false, head: startPoint };
    } catch (error) {
      // A failed try (a concurrent add) may have left the branch, or a half-made directory:
      // start again from them.
      if (!(error instanceof GitError) || !/already exists/.test(error.stderr)) throw error;
      if (existsSync(path) && !(await isWorktree(path)))
        await rm(path, { recursive: true, force: true });
      await worktreeCommand(repo, ['worktree', 'prune']);
    }
  }
  // A directory removed by hand leaves its registration behind: --force re-adds over it.
  await worktreeCommand(repo, ['worktree', 'add', '--force', '--quiet', path, branch]);
  return { reused: false, head: await gitText(path, ['rev-parse', 'HEAD']) };
}

/**
 * Commit everything in the worktree as Baton (an unfinished merge included) and return the head.
 * Nothing to commit leaves the head as it is.
 */
export async function commitAll(path: string, message: string): Promise<string> {
  await git(path, ['add', '-A']);
  // Exit 1: nothing to commit (a merge in progress always commits).
  await git(path, ['commit', '--quiet', '--no-verify', '-F', '-'], {
    input: message,
    asBaton: true,
    okCodes: [1],
  });
  return gitText(path, ['rev-parse', 'HEAD']);
}

/** Files of `files` still holding conflict markers. */
export async function filesWithMarkers(path: string, files: readonly string[]): Promise<string[]> {
  const marked: string[] = [];
  for (const file of files) {
    const full = join(path, file);
    if (!existsSync(full)) continue;
    const text = await readFile(full, 'utf8');
    if (/^<{7}( |$)/m.test(text) && /^>{7}( |$)/m.test(text)) marked.push(file);
  }
  return marked;
}

/** Remove a worktree (and, when asked, its branch). Missing ones are fine. */
export async function removeWorktree(
  repo: string,
  path: string,
  branch: string | null,
): Promise<void> {
  if (existsSync(path)) {
    try {
      await worktreeCommand(repo, ['worktree', 'remove', '--force', path]);
    } catch (error) {
      // Removed meanwhile by someone else (another attempt, a prune): that is what was wanted.
      if (existsSync(path)) throw error;
    }
  } else {
    await worktreeCommand(repo, ['worktree', 'prune']);
  }
  if (branch !== null) {
    await git(repo, ['update-ref', '-d', `refs/heads/${branch}`], { okCodes: [1, 128] });
  }
}

/** The worktrees of a repository that Baton made (under `.baton/worktrees/`). */
export interface ListedWorktree {
  path: string;
  branch: string | null;
  head: string | null;
  /** `<run dir>/<slot>` under `.baton/worktrees/`. */
  runDir: string;
  slot: string;
}

export async function listWorktrees(repo: string): Promise<ListedWorktree[]> {
  const root = worktreesRoot(repo);
  const text = await gitText(repo, ['worktree', 'list', '--porcelain']);
  const out: ListedWorktree[] = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n');
    const path = lines.find((l) => l.startsWith('worktree '))?.slice('worktree '.length);
    if (path === undefined || !resolve(path).startsWith(`${root}/`)) continue;
    const [runDir = '', slot = ''] = resolve(path)
      .slice(root.length + 1)
      .split('/');
    const branch =
      lines.find((l) => l.startsWith('branch '))?.slice('branch refs/heads/'.length) ?? null;
    const head = lines.find((l) => l.startsWith('HEAD '))?.slice('HEAD '.length) ?? null;
    out.push({ path, branch, head, runDir, slot });
  }
  return out;
}
