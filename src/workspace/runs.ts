/**
 * The worktrees of runs as the store sees them: which run and tasks each belongs to, whether it
 * can go (`baton worktrees list|prune`, and `baton run` at the end of a run). A worktree goes
 * when every task that uses it is terminal (so no live lease holds it) and none failed; a failed
 * task's worktree is kept for inspection. Its branch goes too when every task on it has a merge
 * record: "merged" is the recorded merge, never `git merge-base --is-ancestor` (which a squash
 * defeats).
 */
import { existsSync } from 'node:fs';

import { NotFoundError, ValidationError, WorkspaceError } from '../core/errors.ts';
import type { TaskRecord } from '../core/types.ts';
import type { Baton } from '../runtime/baton.ts';
import { git, gitText, readRef } from './git.ts';
import { runLayout, safeComponent, type RunLayout } from './names.ts';
import { splitPayload, type WorkspaceSpec } from './spec.ts';
import { mergeIntoTarget, type TargetOutcome } from './target.ts';
import { listWorktrees, removeWorktree, type ListedWorktree } from './worktree.ts';

const TERMINAL = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

/** A run's worktree settings and tasks. */
export interface RunWorkspace {
  runId: string;
  runState: string;
  layout: RunLayout;
  /** The first task's spec: repository, base, `into`… are the run's. */
  spec: WorkspaceSpec;
  tasks: { task: TaskRecord; spec: WorkspaceSpec }[];
}

async function allTasks(baton: Baton, runId: string): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await baton.tasks({ runId, limit: 1000, ...(cursor === null ? {} : { cursor }) });
    tasks.push(...page.tasks);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return tasks;
}

/** The run's worktree settings, or null for a run without worktrees (or not found). */
export async function runWorkspace(baton: Baton, runId: string): Promise<RunWorkspace | null> {
  const run = await baton.getRun(runId);
  if (run === null) return null;
  const tasks: { task: TaskRecord; spec: WorkspaceSpec }[] = [];
  for (const task of await allTasks(baton, runId)) {
    try {
      const { spec } = splitPayload(task.payload);
      if (spec !== null) tasks.push({ task, spec });
    } catch {
      // A malformed spec is the task's own failure; it has no worktree.
    }
  }
  const first = tasks[0];
  if (first === undefined) return null;
  return {
    runId,
    runState: run.state,
    layout: runLayout(first.spec.run, runId),
    spec: first.spec,
    tasks,
  };
}

/** Why {@link mergeRun} refused a run (`details.reason` of its WorkspaceError). */
export type RunMergeRefusal = 'no-worktrees' | 'unfinished' | 'elsewhere';

export interface RunMergeRequest {
  /** The branch to update. @default the plan's `merge.into`, else its base branch */
  into?: string;
  /** Allow a merge commit when a fast-forward is not possible. @default false */
  yes?: boolean;
  /** Merge a run that has not succeeded (what its integration branch holds so far). @default false */
  unfinished?: boolean;
  /** How the message tells the user to allow a merge commit. @default `npx baton merge <runId> --yes` */
  confirm?: string;
}

export interface RunMergeOutcome extends TargetOutcome {
  runId: string;
  /** The run's integration branch. */
  from: string;
  /** The branch updated (or that would be). */
  into: string;
}

/**
 * Put a run's integration branch into a branch of its repository: `baton merge <runId>` and
 * `POST /v1/runs/:id/merge`. The repository, integration branch and default target come from the
 * run's tasks (their `payload.workspace`, {@link runWorkspace}); the merge is
 * {@link mergeIntoTarget} (a fast-forward at once; a merge commit only with `yes`; a dirty
 * checkout never touched).
 * @throws NotFoundError for an unknown run; WorkspaceError with `details.reason` (a
 *   {@link RunMergeRefusal}) for a run without worktrees, one not succeeded (without
 *   `unfinished`), or one whose repository is not on this machine; WorkspaceError from
 *   {@link mergeIntoTarget} (no such branch, dirty checkout, conflicts).
 */
export async function mergeRun(
  baton: Baton,
  runId: string,
  request: RunMergeRequest = {},
): Promise<RunMergeOutcome> {
  const workspace = await runWorkspace(baton, runId);
  if (workspace === null) {
    if ((await baton.getRun(runId)) === null) throw new NotFoundError('run', runId);
    throw new WorkspaceError(
      `run ${runId} has no worktrees; only runs of plans with repo:/worktrees: have an integration branch to merge`,
      { details: { reason: 'no-worktrees' satisfies RunMergeRefusal, runId } },
    );
  }
  const from = workspace.layout.integrationBranch;
  if (workspace.runState !== 'succeeded' && request.unfinished !== true) {
    throw new WorkspaceError(
      `run ${runId} is ${workspace.runState}: ${from} holds only its merged tasks. Wait for it to succeed, or add --yes to merge what is there`,
      {
        details: {
          reason: 'unfinished' satisfies RunMergeRefusal,
          runId,
          state: workspace.runState,
        },
      },
    );
  }
  const { repo } = workspace.spec;
  let top: string | null = null;
  if (existsSync(repo)) {
    try {
      top = await gitText(repo, ['rev-parse', '--show-toplevel']);
    } catch {
      top = null;
    }
  }
  if (top === null) {
    throw new WorkspaceError(
      `run ${runId}'s repository ${repo} is not on this machine (or is no longer a git repository); merge it on the machine that ran it: npx baton merge ${runId}`,
      { details: { reason: 'elsewhere' satisfies RunMergeRefusal, runId, repo } },
    );
  }
  const into = request.into ?? workspace.spec.into ?? workspace.spec.base;
  const named = await git(repo, ['check-ref-format', `refs/heads/${into}`], { okCodes: [1] });
  if (named.exitCode !== 0 || into.startsWith('-')) {
    throw new ValidationError([
      {
        path: 'into',
        message: `'${into}' is not a branch name (git check-ref-format); name a branch of ${repo}, e.g. ${workspace.spec.base}`,
      },
    ]);
  }
  const outcome = await mergeIntoTarget({
    repo,
    integrationBranch: from,
    target: into,
    yes: request.yes === true,
    ...(request.confirm === undefined ? {} : { confirm: request.confirm }),
  });
  return { ...outcome, message: outcome.message.replace('<runId>', runId), runId, from, into };
}

/** What `baton worktrees list` says of one worktree. */
export interface WorktreeVerdict extends ListedWorktree {
  runId: string | null;
  /** The keys of the tasks that use it, with their states. */
  tasks: { key: string; state: string }[];
  /** `active`: a task may still use it; `failed`: kept for inspection; `done`: can go; `stray`: no task of a known run uses it. */
  verdict: 'active' | 'failed' | 'done' | 'stray';
  /** Every task on its branch has a merge record. */
  merged: boolean;
}

/** Baton's worktrees in `repo`, each with its run, tasks and verdict. */
export async function describeWorktrees(baton: Baton, repo: string): Promise<WorktreeVerdict[]> {
  const listed = await listWorktrees(repo);
  if (listed.length === 0) return [];
  const runs = new Map<string, RunWorkspace>();
  const wanted = new Set(listed.map((w) => w.runDir));
  let cursor: string | null = null;
  do {
    const page = await baton.runs({ limit: 1000, ...(cursor === null ? {} : { cursor }) });
    for (const run of page.runs) {
      let dir: string;
      try {
        dir = runLayout(safeComponent(run.name, 'run name'), run.id).dir;
      } catch {
        continue;
      }
      if (!wanted.has(dir) || runs.has(dir)) continue;
      const workspace = await runWorkspace(baton, run.id);
      if (workspace !== null && workspace.layout.dir === dir) runs.set(dir, workspace);
    }
    cursor = page.nextCursor;
  } while (cursor !== null && runs.size < wanted.size);

  const out: WorktreeVerdict[] = [];
  for (const worktree of listed) {
    const run = runs.get(worktree.runDir);
    const users = run?.tasks.filter((t) => t.spec.slot === worktree.slot) ?? [];
    const tasks = users.map(({ task }) => ({ key: task.key ?? task.id, state: task.state }));
    let verdict: WorktreeVerdict['verdict'];
    if (run === undefined || users.length === 0) verdict = 'stray';
    else if (users.some(({ task }) => !TERMINAL.has(task.state))) verdict = 'active';
    else if (users.some(({ task }) => task.state === 'failed' || task.state === 'cancelled'))
      verdict = 'failed';
    else verdict = 'done';
    let merged = run !== undefined && users.length > 0;
    for (const { spec } of users) {
      if (!merged || run === undefined) break;
      merged = (await readRef(repo, run.layout.mergedRef(spec.key))) !== null;
    }
    out.push({ ...worktree, runId: run?.runId ?? null, tasks, verdict, merged });
  }
  return out;
}

/**
 * Remove the worktrees that can go: `done` ones and `stray` ones (`failed` ones too with
 * `failed: true`), deleting each one's branch when it is merged. Only one run's with `runId`.
 */
export async function pruneWorktrees(
  baton: Baton,
  repo: string,
  options: { runId?: string; failed?: boolean } = {},
): Promise<WorktreeVerdict[]> {
  const removed: WorktreeVerdict[] = [];
  for (const worktree of await describeWorktrees(baton, repo)) {
    if (options.runId !== undefined && worktree.runId !== options.runId) continue;
    const goes =
      worktree.verdict === 'done' ||
      worktree.verdict === 'stray' ||
      (worktree.verdict === 'failed' && options.failed === true);
    if (!goes) continue;
    await removeWorktree(repo, worktree.path, worktree.merged ? worktree.branch : null);
    removed.push(worktree);
  }
  return removed;
}
