/**
 * Real git repositories in temp directories for the worktree tests, and a fingerprint of a
 * user's checkout (every file's bytes, the index file, HEAD, status, the user's branches) to
 * prove that Baton never touched it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** `git <args>` in `cwd`, its stdout trimmed; throws on failure. */
export function g(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'User',
      GIT_AUTHOR_EMAIL: 'user@example.com',
      GIT_COMMITTER_NAME: 'User',
      GIT_COMMITTER_EMAIL: 'user@example.com',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** A repository at `dir` on branch main with `files` committed. */
export function makeRepo(
  dir: string,
  files: Record<string, string> = { 'README.md': '# project\n' },
): string {
  mkdirSync(dir, { recursive: true });
  g(dir, 'init', '-q', '-b', 'main');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  g(dir, 'add', '-A');
  g(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

function walk(root: string, dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const rel = relative(root, full);
    if (rel === '.git' || rel === '.baton') continue;
    const stat = statSync(full);
    if (stat.isDirectory()) walk(root, full, out);
    else
      out.push(
        `${rel}\0${stat.mode}\0${createHash('sha256').update(readFileSync(full)).digest('hex')}`,
      );
  }
}

/**
 * Everything about the user's checkout that Baton must leave as it was. Status is read without
 * taking optional locks, so reading it does not rewrite the index either.
 */
export function fingerprint(repo: string): string {
  const files: string[] = [];
  walk(repo, repo, files);
  const parts = [
    ...files,
    `HEAD ${readFileSync(join(repo, '.git', 'HEAD'), 'utf8')}`,
    `index ${createHash('sha256')
      .update(readFileSync(join(repo, '.git', 'index')))
      .digest('hex')}`,
    `status ${g(repo, '--no-optional-locks', 'status', '--porcelain=v1', '--untracked-files=all')}`,
    `branches ${g(
      repo,
      'for-each-ref',
      '--format=%(refname) %(objectname)',
      'refs/heads/',
      'refs/tags/',
    )
      .split('\n')
      .filter((l) => !l.startsWith('refs/heads/baton/'))
      .join('\n')}`,
  ];
  return parts.join('\n');
}

/** The branch names under `baton/`. */
export function batonBranches(repo: string): string[] {
  const text = g(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/baton/');
  return text === '' ? [] : text.split('\n');
}

/** Paths of the worktrees under `.baton/worktrees/`. */
export function batonWorktrees(repo: string): string[] {
  return g(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree ') && l.includes('/.baton/worktrees/'))
    .map((l) => l.slice('worktree '.length));
}
