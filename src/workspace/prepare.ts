/**
 * Before a plan with worktrees is submitted: check its repository and base branch, and stamp each
 * task's payload with its {@link WorkspaceSpec}. Everything is checked before anything changes,
 * so bad input (not a repository, a missing or mid-merge base branch, a name that cannot be a
 * branch) gets one clear error and leaves the repository as it was.
 */
import { existsSync, statSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import { PlanError, WorkspaceError, type PlanIssue } from '../core/errors.ts';
import type { Json, RunSpec, TaskSpec } from '../core/types.ts';
import { normalizeRun } from '../core/validate.ts';
import type { Plan, PlanWorkspace } from '../runtime/plan.ts';
import { git, gitText, resolveRef } from './git.ts';
import { safeComponent } from './names.ts';
import { WORKSPACE_FIELD, type WorkspaceSpec } from './spec.ts';

/** Task types whose handlers run on this machine and can be given a working directory. */
const NOT_LOCAL = new Set(['http', 'llm']);

/** A checked repository and base branch. */
export interface RepositoryCheck {
  /** The repository's top directory. */
  root: string;
  base: string;
  baseSha: string;
  /** Things worth saying that are not errors (uncommitted changes left out of the run). */
  notes: string[];
}

/**
 * Check that `dir` is in a git repository with a usable base branch.
 * @param base the base branch; null: the branch checked out in `dir`
 * @throws WorkspaceError saying what is wrong and how to fix it
 */
export async function checkRepository(dir: string, base: string | null): Promise<RepositoryCheck> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new WorkspaceError(
      `repo: ${dir} is not a directory; set repo: to the path of a git repository (relative to the plan)`,
    );
  }
  const top = await git(dir, ['rev-parse', '--show-toplevel'], { okCodes: [128] });
  if (top.exitCode !== 0 || top.stdout.trim() === '') {
    throw new WorkspaceError(
      `repo: ${dir} is not inside a git repository (or is a bare one); run \`git init\` there and commit, or set repo: to a repository with a work tree`,
    );
  }
  const root = top.stdout.trim();
  await checkGitVersion(root);
  const notes: string[] = [];
  let branch = base;
  if (branch === null) {
    const head = await git(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { okCodes: [1] });
    if (head.exitCode !== 0) {
      throw new WorkspaceError(
        `the checkout at ${root} has a detached HEAD, so there is no current branch to cut the run from; name one: worktrees: { base: <branch> }`,
      );
    }
    branch = head.stdout.trim();
  }
  const format = await git(root, ['check-ref-format', '--branch', branch], { okCodes: [1, 128] });
  if (format.exitCode !== 0) {
    throw new WorkspaceError(
      `base branch '${branch}' is not a valid branch name; fix worktrees.base`,
    );
  }
  const baseSha = await resolveRef(root, `refs/heads/${branch}`);
  if (baseSha === null) {
    const list = (await gitText(root, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/']))
      .split('\n')
      .filter((b) => b !== '' && !b.startsWith('baton/'));
    throw new WorkspaceError(
      list.length === 0
        ? `base branch '${branch}' has no commits yet in ${root}; commit something first (git commit), then run again`
        : `base branch '${branch}' does not exist in ${root}; branches there: ${list.slice(0, 10).join(', ')}. Set worktrees.base to one of them`,
    );
  }
  // The checkout is never touched; but a base branch in the middle of a merge or rebase there is
  // not the code the user thinks they are running on.
  const current = await git(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { okCodes: [1] });
  if (current.exitCode === 0 && current.stdout.trim() === branch) {
    const gitDir = resolve(root, await gitText(root, ['rev-parse', '--git-dir']));
    const busy = [
      'MERGE_HEAD',
      'CHERRY_PICK_HEAD',
      'REVERT_HEAD',
      'rebase-merge',
      'rebase-apply',
    ].find((name) => existsSync(join(gitDir, name)));
    const status = await gitText(root, ['--no-optional-locks', 'status', '--porcelain=v1']);
    const unmerged = status
      .split('\n')
      .filter((line) => /^(DD|AU|UD|UA|DU|AA|UU) /.test(line))
      .map((line) => line.slice(3));
    if (busy !== undefined || unmerged.length > 0) {
      const what =
        unmerged.length > 0
          ? `has unresolved conflicts in ${unmerged.join(', ')}`
          : `is in the middle of a ${busy === 'MERGE_HEAD' ? 'merge' : busy === 'CHERRY_PICK_HEAD' ? 'cherry-pick' : busy === 'REVERT_HEAD' ? 'revert' : 'rebase'}`;
      throw new WorkspaceError(
        `base branch '${branch}' ${what} in ${root}; finish or abort it (git merge --abort, git rebase --abort) before starting a run from it`,
      );
    }
    if (status.trim() !== '') {
      notes.push(
        `${root} has uncommitted changes; the run starts from the last commit of '${branch}' (${baseSha.slice(0, 10)}) and never touches them`,
      );
    }
  }
  return { root, base: branch, baseSha, notes };
}

async function checkGitVersion(root: string): Promise<void> {
  const text = await gitText(root, ['--version']);
  const match = /(\d+)\.(\d+)/.exec(text);
  const [major, minor] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (major < 2 || (major === 2 && minor < 38)) {
    throw new WorkspaceError(
      `${text} is too old for worktree merges (git merge-tree --write-tree needs 2.38 or later); upgrade git`,
    );
  }
}

/** A plan made ready to submit with worktrees. */
export interface PreparedRun {
  run: RunSpec;
  repo: RepositoryCheck;
  settings: PlanWorkspace;
}

/**
 * Check the plan's repository and stamp each of its local tasks (not `http` or `llm`) with its
 * workspace spec; with `by_epic`, chain each epic's tasks with soft dependencies in a
 * topological order so they run one at a time in their shared worktree. Returns the run to
 * submit (the plan's own is not changed) and null for a plan without worktrees.
 *
 * @param cwd where the repository is looked for when the plan has no `repo:`
 * @throws WorkspaceError (the repository) or PlanError (a task's key or epic) — nothing changed
 */
export async function prepareWorkspaceRun(
  plan: Plan,
  cwd: string,
  defaults: WorkspaceDefaults = {},
): Promise<PreparedRun | null> {
  if (plan.workspace === null) return null;
  const settings: PlanWorkspace = {
    ...plan.workspace,
    repo: plan.workspace.repo ?? defaults.repo ?? null,
    strategy: plan.workspace.strategyGiven
      ? plan.workspace.strategy
      : (defaults.strategy ?? plan.workspace.strategy),
  };
  const dir = settings.repo ?? cwd;
  const repo = await checkRepository(isAbsolute(dir) ? dir : resolve(cwd, dir), settings.base);
  if (settings.into !== null) {
    const ok = await git(repo.root, ['check-ref-format', '--branch', settings.into], {
      okCodes: [1, 128],
    });
    if (ok.exitCode !== 0) {
      throw new WorkspaceError(
        `merge.into '${settings.into}' is not a valid branch name; fix worktrees.merge.into`,
      );
    }
  }
  const run = stampRun(plan, repo, settings);
  await excludeBatonDirectory(repo.root);
  return { run, repo, settings };
}

/** What the config file sets for plans with worktrees that do not (docs/config.md). */
export interface WorkspaceDefaults {
  /** The repository (absolute) of a plan without `repo:`. */
  repo?: string;
  /** The strategy of a plan without `worktrees.strategy`. */
  strategy?: PlanWorkspace['strategy'];
}

/** The run with each task's spec stamped (pure, given the checked repository). */
export function stampRun(plan: Plan, repo: RepositoryCheck, settings: PlanWorkspace): RunSpec {
  const issues: PlanIssue[] = [];
  const runSlug = safeComponent(plan.name, 'run name');
  const slugs = new Map<string, string>();
  const tasks: TaskSpec[] = plan.run.tasks.map((spec, index) => {
    const at = plan.tasks[index]!;
    if (NOT_LOCAL.has(spec.type)) return spec;
    const key = spec.key ?? `task-${index}`;
    let keySlug: string;
    let slot: string;
    try {
      keySlug = safeComponent(key, 'task key');
      slot =
        settings.strategy === 'by_epic' && spec.epic !== undefined
          ? `epic-${safeComponent(spec.epic, `epic of task '${key}'`)}`
          : keySlug;
    } catch (error) {
      issues.push({
        line: at.line,
        column: at.column,
        field: `tasks[${index}]`,
        message: (error as Error).message,
      });
      return spec;
    }
    const other = slugs.get(keySlug);
    if (other !== undefined) {
      issues.push({
        line: at.line,
        column: at.column,
        field: `tasks[${index}].key`,
        message: `task keys '${other}' and '${key}' make the same branch name '${keySlug}'; rename one (branch names keep only A-Z, a-z, 0-9, '.', '_' and '-')`,
      });
    }
    slugs.set(keySlug, key);
    const resolver =
      settings.resolver === null ? null : ({ ...settings.resolver } as { [name: string]: Json });
    const workspace: WorkspaceSpec = {
      v: 1,
      repo: repo.root,
      base: repo.base,
      baseSha: repo.baseSha,
      run: runSlug,
      strategy: settings.strategy,
      merge: settings.merge,
      conflict: settings.conflict,
      slot,
      key: keySlug,
      resolver,
      into: settings.into,
      resolverBudgetUsd: settings.resolverBudgetUsd,
    };
    const payload = spec.payload ?? {};
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      issues.push({
        line: at.line,
        column: at.column,
        field: `tasks[${index}].payload`,
        message: `a task in a worktree needs a mapping payload (Baton adds ${WORKSPACE_FIELD}: to it); got ${Array.isArray(payload) ? 'a list' : typeof payload}`,
      });
      return spec;
    }
    return { ...spec, payload: { ...payload, [WORKSPACE_FIELD]: workspace as unknown as Json } };
  });
  if (issues.length > 0) throw new PlanError(plan.file, issues);
  const run: RunSpec = { ...plan.run, tasks };
  if (settings.strategy === 'by_epic') chainEpics(run);
  return run;
}

/**
 * Soft dependencies between the tasks of each epic, in a topological order (by DAG level, then
 * plan order), so an epic's shared worktree has one task at a time. Soft: a failed task does not
 * skip the next one; ordering along the DAG's levels never makes a cycle.
 */
function chainEpics(run: RunSpec): void {
  const { tasks: normalized } = normalizeRun(run, { now: Date.now() });
  const order = run.tasks
    .map((task, index) => ({ task, index, level: normalized[index]?.level ?? 0 }))
    .filter(
      ({ task }) => task.epic !== undefined && task.key !== undefined && !NOT_LOCAL.has(task.type),
    )
    .sort((a, b) => a.level - b.level || a.index - b.index);
  const last = new Map<string, string>();
  for (const { task } of order) {
    const epic = task.epic!;
    const previous = last.get(epic);
    if (previous !== undefined) {
      const deps = task.dependsOn ?? [];
      const named = deps.some((d) => (typeof d === 'string' ? d : d.key) === previous);
      if (!named) task.dependsOn = [...deps, { key: previous, soft: true }];
    }
    last.set(epic, task.key!);
  }
}

/**
 * `.baton/` (worktrees, store) is ignored through the repository's `info/exclude`, which is not
 * part of any checkout, so `git status` in the user's checkout stays as it was.
 */
async function excludeBatonDirectory(root: string): Promise<void> {
  const common = resolve(root, await gitText(root, ['rev-parse', '--git-common-dir']));
  const file = join(common, 'info', 'exclude');
  const text = existsSync(file) ? await readFile(file, 'utf8') : '';
  if (text.split('\n').some((line) => line.trim() === '/.baton/')) return;
  await mkdir(join(common, 'info'), { recursive: true });
  await appendFile(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}/.baton/\n`);
}
