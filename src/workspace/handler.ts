/**
 * The hook that puts any executor in a worktree: {@link withWorkspace} wraps a task handler.
 * For a task whose payload carries a workspace spec (a plan with `repo:`/`worktrees:`) it
 *
 * 1. makes sure the run's integration branch exists (cut from the base commit recorded when the
 *    run was prepared);
 * 2. opens the task's worktree — reused by a retry, else cut from the integration branch as it
 *    stands now, which holds every dependency's merged work;
 * 3. runs the handler with the payload's `cwd` set to the worktree (and `ctx.workspace` saying
 *    where it is), without the workspace spec in the payload;
 * 4. on success commits what the handler left uncommitted (as Baton, the task id in the message)
 *    and merges the branch into the integration branch (src/workspace/merge.ts), recording base,
 *    head and merge commits in the task's result;
 * 5. on a conflict, fails the task listing the files (`conflict: fail`), or spawns a
 *    `resolve-conflict` task and waits for it (the task is deferred, not failed);
 * 6. removes the worktree and its branch once merged (`by_task`).
 *
 * Tasks without a workspace spec go straight to the handler. Git state that must survive a
 * crash lives in git itself, in refs under `refs/baton/<run>/<key>/`: `merged` (created in the
 * same transaction that moves the integration branch, so no task is merged twice), `conflict`
 * (a task waiting for its resolver) and `resolve-failed`.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  BatonError,
  DeferError,
  MergeConflictError,
  NonRetryableError,
  ValidationError,
} from '../core/errors.ts';
import type { Json, TaskRecord, TaskSpec } from '../core/types.ts';
import type { TaskContext, TaskHandler } from '../runtime/worker.ts';
import { git, gitText, readRef, resolveRef } from './git.ts';
import {
  createRef,
  mergeIntoIntegration,
  readBlob,
  type Tip,
  writeBlob,
  type MergeOutcome,
} from './merge.ts';
import { runLayout, safeComponent, type RunLayout } from './names.ts';
import { splitPayload, WORKSPACE_FIELD, type ConflictTarget, type WorkspaceSpec } from './spec.ts';
import {
  commitAll,
  filesWithMarkers,
  openWorktree,
  removeWorktree,
  worktreePath,
} from './worktree.ts';

/** Where a task runs, as its handler sees it (`ctx.workspace`). */
export interface WorkspaceInfo {
  /** The worktree: the task's working directory. */
  path: string;
  /** The worktree's branch. */
  branch: string;
  /** The run's integration branch. */
  integrationBranch: string;
  /** The repository's top directory. */
  repo: string;
  /** The commit the worktree stood on when this attempt started. */
  base: string;
  /** Whether an earlier attempt's worktree was reused. */
  reused: boolean;
  /** Set for a `resolve-conflict` task: the conflict it resolves. */
  conflict?: ConflictInfo;
}

/** What a `resolve-conflict` task is told about its conflict. */
export interface ConflictInfo {
  /** The key of the task whose merge conflicted. */
  task: string;
  /** Files with conflict markers in the worktree. */
  files: string[];
  /** The integration branch's changes to those files since the task's branch was cut. */
  integrationDiff: string;
  /** The task's own changes to those files. */
  taskDiff: string;
}

/** The context a wrapped handler gets: `workspace` is set for tasks that run in a worktree. */
export type WorkspaceTaskContext = TaskContext & { workspace?: WorkspaceInfo };

/** What a task in a worktree adds to its result, under `workspace`. */
export interface WorkspaceResult {
  branch: string;
  integrationBranch: string;
  /** Commit the worktree started from. */
  base: string;
  /** The branch's head that was merged. */
  head: string;
  /** The integration branch's tip it was merged onto, and the commit that merged it. */
  onto: string;
  merge: string;
  mode: 'merge' | 'squash';
  /** Time spent merging, in ms. */
  mergeMs: number;
  /** Whether this attempt reused an earlier attempt's (or its epic's) worktree. */
  reused: boolean;
  /** Set when a resolve-conflict task made the merge (its key). */
  resolvedBy?: string;
  /** Set when an earlier attempt had merged already and this one only read its record. */
  recovered?: true;
  /** Where this attempt's time went, in ms (a task that ran and merged). */
  timings?: PhaseTimings;
}

/** An attempt's time by phase, in ms. */
export interface PhaseTimings {
  /** Reading the refs and creating (or resetting) the worktree. */
  prepareMs: number;
  /** The handler. */
  runMs: number;
  /** Committing what it left. */
  commitMs: number;
  /** Merging into the integration branch (compare-and-swap rounds included). */
  mergeMs: number;
  /** Removing the worktree and its branch. */
  cleanupMs: number;
}

function roundTimings(t: PhaseTimings): PhaseTimings {
  const r = (n: number): number => Math.round(n * 10) / 10;
  return {
    prepareMs: r(t.prepareMs),
    runMs: r(t.runMs),
    commitMs: r(t.commitMs),
    mergeMs: r(t.mergeMs),
    cleanupMs: r(t.cleanupMs),
  };
}

export interface WithWorkspaceOptions {
  /**
   * How long a task waits for its resolve-conflict task before failing, in ms.
   * @default 86_400_000 (a day)
   */
  conflictWaitMs?: number;
}

/** The key prefix of the tasks that resolve conflicts. */
export const RESOLVE_PREFIX = 'resolve-conflict.';

/**
 * Wrap `handler` so tasks with a workspace spec run in their worktree (see the module comment).
 * @example baton.worker({ handlers: { shell: withWorkspace(shellHandler()) } })
 */
export function withWorkspace(
  handler: TaskHandler,
  options: WithWorkspaceOptions = {},
): TaskHandler {
  const waitMs = options.conflictWaitMs ?? 86_400_000;
  return async (ctx) => {
    const { spec, payload } = splitPayload(ctx.payload);
    if (spec === null) return handler(ctx);
    if (ctx.task.runId === null) {
      throw new NonRetryableError(
        `payload.${WORKSPACE_FIELD} needs a task of a run (the integration branch is the run's)`,
      );
    }
    if (!existsSync(spec.repo)) {
      throw new NonRetryableError(
        `the task's repository ${spec.repo} does not exist on this machine; run its worker where the repository is`,
      );
    }
    const layout = runLayout(spec.run, ctx.task.runId);
    const run = new TaskInWorktree(handler, ctx, spec, payload, layout, waitMs);
    return spec.target === undefined ? run.runTask() : run.runResolver(spec.target);
  };
}

/** Create the run's integration branch at the base commit if it does not exist yet. */
export async function ensureIntegrationBranch(
  repo: string,
  layout: RunLayout,
  baseSha: string,
): Promise<void> {
  if ((await resolveRef(repo, layout.integrationRef)) !== null) return;
  await createRef(repo, layout.integrationRef, baseSha);
}

class TaskInWorktree {
  readonly #handler: TaskHandler;
  readonly #ctx: TaskContext;
  readonly #spec: WorkspaceSpec;
  readonly #payload: Json;
  readonly #layout: RunLayout;
  readonly #waitMs: number;
  readonly #repo: string;
  readonly #started = performance.now();

  constructor(
    handler: TaskHandler,
    ctx: TaskContext,
    spec: WorkspaceSpec,
    payload: Json,
    layout: RunLayout,
    waitMs: number,
  ) {
    this.#handler = handler;
    this.#ctx = ctx;
    this.#spec = spec;
    this.#payload = payload;
    this.#layout = layout;
    this.#waitMs = waitMs;
    this.#repo = spec.repo;
  }

  get #path(): string {
    return worktreePath(this.#repo, this.#layout.dir, this.#spec.slot);
  }

  get #branch(): string {
    return this.#layout.slotBranch(this.#spec.slot);
  }

  async runTask(): Promise<Json> {
    const { spec } = this;
    const timings: PhaseTimings = { prepareMs: 0, runMs: 0, commitMs: 0, mergeMs: 0, cleanupMs: 0 };
    const refs = await this.#probe(spec.key);
    if (refs.merged !== null) {
      const recorded = await this.#recordedMerge(spec.key);
      this.#ctx.log.info(
        `already merged into ${this.#layout.integrationBranch} at ${refs.merged.slice(0, 10)}; not run again`,
      );
      await this.#cleanUp();
      return { workspace: recorded as unknown as Json };
    }
    if (refs.conflict !== null) return this.#waitForResolver(refs.conflict);

    const opened = await openWorktree(this.#repo, this.#path, this.#branch, refs.tip.commit, {
      branchExists: refs.branchExists,
    });
    let base = opened.head;
    if (spec.strategy === 'by_epic' && opened.reused) base = await this.#catchUp(refs.tip.commit);
    this.#ctx.log.info(
      `${opened.reused ? 'reusing' : 'created'} worktree ${this.#path} on ${this.#branch} at ${base.slice(0, 10)}`,
    );
    const running = performance.now();
    timings.prepareMs = running - this.#started;
    const value = await this.#handler(this.#innerContext({ base, reused: opened.reused }));
    this.#ctx.signal.throwIfAborted();

    const committing = performance.now();
    timings.runMs = committing - running;
    const head = await commitAll(
      this.#path,
      this.#commitMessage(`work of task ${this.#ctx.task.key ?? spec.key}`),
    );
    const merging = performance.now();
    timings.commitMs = merging - committing;
    // Everything is committed, and the merge works on commits: a by_task worktree is removed
    // while the merge runs, and its branch is deleted in the merge's own transaction. A
    // conflict brings the worktree back (the branch is still there) for inspection.
    const own = spec.strategy === 'by_task';
    const removing = own ? settle(removeWorktree(this.#repo, this.#path, null)) : null;
    const outcome = await this.#merge(
      head,
      [this.#layout.mergedRef(spec.key)],
      base,
      true,
      own ? [{ ref: `refs/heads/${this.#branch}`, old: head }] : [],
    );
    const cleaning = performance.now();
    timings.mergeMs = cleaning - merging;
    const removed = removing === null ? null : await removing;
    if (removed instanceof Error)
      this.#ctx.log.warn(`could not remove ${this.#path}: ${removed.message}`);
    timings.cleanupMs = performance.now() - cleaning;
    if (outcome.status === 'conflict') {
      if (own)
        await openWorktree(this.#repo, this.#path, this.#branch, head, { branchExists: true });
      return this.#onConflict(outcome, base, head);
    }
    const result = this.#result(base, head, outcome, opened.reused);
    this.#ctx.log.info(
      `merged ${this.#branch} into ${this.#layout.integrationBranch} at ${outcome.merge.slice(0, 10)} in ${outcome.ms.toFixed(1)} ms`,
    );
    result.timings = roundTimings(timings);
    return withWorkspaceResult(value, result);
  }

  /**
   * One read of everything the task's start depends on: the integration branch (created at the
   * base commit if the run has none yet), the task's records and whether its branch exists.
   */
  async #probe(keySlug: string): Promise<{
    tip: Tip;
    merged: string | null;
    conflict: string | null;
    branchExists: boolean;
  }> {
    const records = `refs/baton/${this.#layout.dir}/${keySlug}`;
    const branchRef = `refs/heads/${this.#branch}`;
    const read = async (): Promise<Map<string, { id: string; tree: string }>> => {
      const text = await gitText(this.#repo, [
        'for-each-ref',
        '--format=%(objectname) %(tree) %(refname)',
        this.#layout.integrationRef,
        records,
        branchRef,
      ]);
      const refs = new Map<string, { id: string; tree: string }>();
      for (const line of text.split('\n')) {
        const [id = '', tree = '', ...name] = line.split(' ');
        if (id !== '') refs.set(name.join(' '), { id, tree });
      }
      return refs;
    };
    let refs = await read();
    if (!refs.has(this.#layout.integrationRef)) {
      await createRef(this.#repo, this.#layout.integrationRef, this.#spec.baseSha);
      refs = await read();
    }
    const tip = refs.get(this.#layout.integrationRef);
    if (tip === undefined) {
      throw new Error(`could not create the integration branch ${this.#layout.integrationBranch}`);
    }
    return {
      tip: { commit: tip.id, tree: tip.tree },
      merged: refs.get(this.#layout.mergedRef(keySlug))?.id ?? null,
      conflict: refs.get(this.#layout.conflictRef(keySlug))?.id ?? null,
      branchExists: refs.has(branchRef),
    };
  }

  async runResolver(target: ConflictTarget): Promise<Json> {
    const { spec } = this;
    const recorded = await this.#recordedMerge(target.keySlug);
    if (recorded !== null) {
      await this.#cleanUp();
      return { workspace: recorded as unknown as Json };
    }
    const integration = await this.#integrationTip();
    const opened = await openWorktree(this.#repo, this.#path, this.#branch, target.head);
    // Both sides in the worktree: the task's branch with the integration branch merged in,
    // conflicts left as markers for the resolver.
    await git(this.#path, ['merge', '--no-commit', '--no-ff', '--quiet', integration], {
      okCodes: [1],
      asBaton: true,
    });
    const files = (await gitText(this.#path, ['diff', '--name-only', '--diff-filter=U']))
      .split('\n')
      .filter((f) => f !== '');
    const diff = (from: string, to: string): Promise<string> =>
      files.length === 0
        ? Promise.resolve('')
        : gitText(this.#path, ['diff', from, to, '--', ...files]);
    const conflict: ConflictInfo = {
      task: target.key,
      files,
      integrationDiff: await diff(target.base, integration),
      taskDiff: await diff(target.base, target.head),
    };
    const base = await gitText(this.#path, ['rev-parse', 'HEAD']);
    this.#ctx.log.info(
      `resolving the conflict of ${target.key} in ${files.join(', ')} in ${this.#path}`,
    );
    let value: Json | void;
    try {
      value = await this.#handler(
        await this.#resolverContext({ base, reused: opened.reused, conflict }),
      );
      this.#ctx.signal.throwIfAborted();
      const marked = await filesWithMarkers(this.#path, files);
      if (marked.length > 0) {
        throw new Error(
          `conflict markers remain in ${marked.join(', ')}; the resolver must edit them out`,
        );
      }
    } catch (error) {
      const last =
        this.#ctx.attempt >= this.#ctx.task.maxAttempts ||
        (error instanceof BatonError && !error.retryable) ||
        (error as { retryable?: unknown }).retryable === false;
      if (last && !this.#ctx.signal.aborted) {
        const note = await writeBlob(
          this.#repo,
          JSON.stringify({ task: this.#ctx.task.id, error: (error as Error).message }),
        );
        await createRef(this.#repo, this.#layout.resolveFailedRef(target.keySlug), note);
      }
      throw error;
    }
    const head = await commitAll(
      this.#path,
      this.#commitMessage(`resolve the merge conflict of ${target.key}`),
    );
    const outcome = await this.#merge(
      head,
      [this.#layout.mergedRef(target.keySlug), this.#layout.mergedRef(spec.key)],
      base,
    );
    if (outcome.status === 'conflict') {
      // The integration branch moved on meanwhile: another attempt merges it in again.
      throw new BatonError(
        'BATON_MERGE_CONFLICT',
        `the integration branch moved while ${target.key}'s conflict was resolved and now conflicts in ${outcome.files.join(', ')}; retrying`,
        { retryable: true, details: { files: outcome.files } },
      );
    }
    await this.#cleanUp();
    return withWorkspaceResult(value, this.#result(target.base, head, outcome, opened.reused));
  }

  get spec(): WorkspaceSpec {
    return this.#spec;
  }

  async #integrationTip(): Promise<string> {
    const tip = await resolveRef(this.#repo, this.#layout.integrationRef);
    if (tip === null)
      throw new Error(`integration branch ${this.#layout.integrationBranch} vanished`);
    return tip;
  }

  /** An epic's shared worktree takes in what other epics merged since its last task. */
  async #catchUp(integration: string): Promise<string> {
    const merged = await git(this.#path, ['merge', '--no-edit', '--quiet', integration], {
      okCodes: [1],
      asBaton: true,
    });
    if (merged.exitCode !== 0) {
      await git(this.#path, ['merge', '--abort']);
      this.#ctx.log.warn(
        `could not bring ${this.#layout.integrationBranch} into the epic's worktree (conflict); the merge after this task will say`,
      );
    }
    return gitText(this.#path, ['rev-parse', 'HEAD']);
  }

  #merge(
    head: string,
    records: string[],
    base: string,
    recordsChecked = false,
    alsoDelete: { ref: string; old: string }[] = [],
  ): Promise<MergeOutcome> {
    const key = this.#ctx.task.key ?? this.#spec.key;
    const subject =
      this.#spec.merge === 'squash'
        ? `${key}${this.#ctx.task.title === null ? '' : `: ${this.#ctx.task.title}`} (squashed)`
        : `Merge ${this.#branch} (task ${key})`;
    return mergeIntoIntegration({
      repo: this.#repo,
      integrationRef: this.#layout.integrationRef,
      head,
      mode: this.#spec.merge,
      records,
      recordsChecked,
      alsoDelete,
      message: `${subject}\n\nBaton-Task: ${this.#ctx.task.id}\nBaton-Key: ${key}\nBaton-Base: ${base}\nBaton-Head: ${head}\n`,
    });
  }

  #commitMessage(what: string): string {
    const title = this.#ctx.task.title === null ? '' : `\n\n${this.#ctx.task.title}`;
    return `Baton: ${what} (attempt ${this.#ctx.attempt})${title}\n\nBaton-Task: ${this.#ctx.task.id}\n`;
  }

  #result(
    base: string,
    head: string,
    outcome: Extract<MergeOutcome, { status: 'merged' }>,
    reused: boolean,
  ): WorkspaceResult {
    const result: WorkspaceResult = {
      branch: this.#branch,
      integrationBranch: this.#layout.integrationBranch,
      base,
      head,
      onto: outcome.onto,
      merge: outcome.merge,
      mode: this.#spec.merge,
      mergeMs: Math.round(outcome.ms * 10) / 10,
      reused,
    };
    if (this.#spec.target !== undefined) result.resolvedBy = this.#ctx.task.key ?? this.#spec.key;
    if (outcome.already) result.recovered = true;
    return result;
  }

  /** The result recorded by the merge of the task keyed `keySlug`, if it was merged. */
  async #recordedMerge(keySlug: string): Promise<WorkspaceResult | null> {
    const merge = await readRef(this.#repo, this.#layout.mergedRef(keySlug));
    if (merge === null) return null;
    const message = await gitText(this.#repo, ['log', '-1', '--format=%B', merge]);
    const trailer = (name: string): string =>
      new RegExp(`^${name}: (\\S+)$`, 'm').exec(message)?.[1] ?? '';
    const parents = (await gitText(this.#repo, ['rev-list', '--parents', '-n', '1', merge])).split(
      ' ',
    );
    const result: WorkspaceResult = {
      branch: this.#branch,
      integrationBranch: this.#layout.integrationBranch,
      base: trailer('Baton-Base'),
      head: trailer('Baton-Head'),
      onto: parents[1] ?? merge,
      merge,
      mode: this.#spec.merge,
      mergeMs: 0,
      reused: false,
      recovered: true,
    };
    const by = trailer('Baton-Key');
    if (by.startsWith(RESOLVE_PREFIX)) result.resolvedBy = by;
    return result;
  }

  #innerContext(at: {
    base: string;
    reused: boolean;
    conflict?: ConflictInfo;
  }): WorkspaceTaskContext {
    const info: WorkspaceInfo = {
      path: this.#path,
      branch: this.#branch,
      integrationBranch: this.#layout.integrationBranch,
      repo: this.#repo,
      base: at.base,
      reused: at.reused,
    };
    if (at.conflict !== undefined) info.conflict = at.conflict;
    return { ...this.#ctx, payload: this.#withCwd(this.#payload), workspace: info };
  }

  /** A shell resolver learns of the conflict through the environment and two diff files. */
  async #resolverContext(at: {
    base: string;
    reused: boolean;
    conflict: ConflictInfo;
  }): Promise<WorkspaceTaskContext> {
    const inner = this.#innerContext(at);
    const payload = inner.payload;
    if (
      payload !== null &&
      typeof payload === 'object' &&
      !Array.isArray(payload) &&
      'command' in payload
    ) {
      const gitDir = resolve(this.#path, await gitText(this.#path, ['rev-parse', '--git-dir']));
      const ours = join(gitDir, 'BATON_INTEGRATION.diff');
      const theirs = join(gitDir, 'BATON_TASK.diff');
      await writeFile(ours, at.conflict.integrationDiff);
      await writeFile(theirs, at.conflict.taskDiff);
      const env = (payload['env'] ?? {}) as { [name: string]: Json };
      inner.payload = {
        ...payload,
        env: {
          ...env,
          BATON_CONFLICT_TASK: at.conflict.task,
          BATON_CONFLICT_FILES: at.conflict.files.join('\n'),
          BATON_CONFLICT_INTEGRATION_DIFF: ours,
          BATON_CONFLICT_TASK_DIFF: theirs,
        },
      };
    }
    return inner;
  }

  /** The payload with `cwd` in the worktree: a `cwd` inside the repository maps into it. */
  #withCwd(payload: Json): Json {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return payload;
    const given = payload['cwd'];
    let cwd = this.#path;
    if (typeof given === 'string') {
      const inside = relative(this.#repo, isAbsolute(given) ? given : resolve(this.#repo, given));
      if (!inside.startsWith('..') && !isAbsolute(inside)) cwd = join(this.#path, inside);
    }
    return { ...payload, cwd };
  }

  async #onConflict(
    outcome: Extract<MergeOutcome, { status: 'conflict' }>,
    base: string,
    head: string,
  ): Promise<Json> {
    const key = this.#ctx.task.key ?? this.#spec.key;
    const files = outcome.files;
    if (this.#spec.conflict === 'fail') {
      throw new MergeConflictError(
        `task '${key}' does not merge into ${this.#layout.integrationBranch}: conflict in ${files.join(', ')}. ` +
          `Its work is kept on branch ${this.#branch} in ${this.#path}; resolve it there and merge by hand, or use conflict: resolve`,
        files,
      );
    }
    const target: ConflictTarget = {
      taskId: this.#ctx.task.id,
      key,
      keySlug: this.#spec.key,
      head,
      base,
      files,
    };
    const record = await writeBlob(this.#repo, JSON.stringify({ ...target, since: Date.now() }));
    await createRef(this.#repo, this.#layout.conflictRef(this.#spec.key), record);
    this.#ctx.log.warn(`merge conflict in ${files.join(', ')}: spawning ${RESOLVE_PREFIX}${key}`);
    return this.#waitForResolver(record);
  }

  /** Spawn (idempotently) the resolver and give the lease back until it has merged. */
  async #waitForResolver(recordId: string): Promise<never> {
    const record = JSON.parse(await readBlob(this.#repo, recordId)) as ConflictTarget & {
      since: number;
    };
    const failed = await readRef(this.#repo, this.#layout.resolveFailedRef(this.#spec.key));
    if (failed !== null) {
      const why =
        (JSON.parse(await readBlob(this.#repo, failed)) as { error?: string }).error ?? 'failed';
      throw new MergeConflictError(
        `task '${record.key}' conflicts with ${this.#layout.integrationBranch} in ${record.files.join(', ')}, and its resolve-conflict task failed: ${why}`,
        record.files,
      );
    }
    const waited = Date.now() - record.since;
    if (waited > this.#waitMs) {
      throw new MergeConflictError(
        `task '${record.key}' waited ${Math.round(waited / 1000)} s for its resolve-conflict task (conflict in ${record.files.join(', ')}); giving up`,
        record.files,
      );
    }
    const resolver = this.#resolverTask(record);
    const spawnedRef = `${this.#layout.conflictRef(this.#spec.key)}-spawned`;
    if ((await readRef(this.#repo, spawnedRef)) === null) {
      try {
        await this.#ctx.spawn([resolver]);
      } catch (error) {
        // Spawned by an earlier attempt that died before it could note it.
        if (!(error instanceof ValidationError && /duplicate key/.test(error.message))) throw error;
      }
      await createRef(this.#repo, spawnedRef, recordId);
    }
    throw new DeferError(
      `merge conflict in ${record.files.join(', ')}: waiting for ${resolver.key ?? 'its resolve-conflict task'} to resolve it`,
      { delayMs: Math.min(5_000, Math.max(200, Math.round(waited / 10))) },
    );
  }

  #resolverTask(target: ConflictTarget): TaskSpec {
    const task: TaskRecord = this.#ctx.task;
    const key = `${RESOLVE_PREFIX}${target.key}`.slice(0, 200);
    const keySlug = safeComponent(key, 'resolver key');
    const workspace: WorkspaceSpec = { ...this.#spec, slot: keySlug, key: keySlug, target };
    // `worktrees.resolver` is a command: a shell task's resolver runs it, others their own payload.
    const base =
      this.#spec.resolver !== null && task.type === 'shell'
        ? this.#spec.resolver
        : (this.#payload as { [name: string]: Json });
    const spec: TaskSpec = {
      type: task.type,
      key,
      title: `Resolve the merge conflict of ${target.key} in ${target.files.join(', ')}`.slice(
        0,
        200,
      ),
      requires: task.requires,
      maxAttempts: task.maxAttempts,
      idempotencyKey: `baton:resolve-conflict:${task.id}`,
      payload: { ...base, [WORKSPACE_FIELD]: workspace as unknown as Json },
    };
    if (task.epic !== null) spec.epic = task.epic;
    if (task.timeoutMs !== null) spec.timeoutMs = task.timeoutMs;
    if (this.#spec.resolverBudgetUsd !== null) spec.budget = { usd: this.#spec.resolverBudgetUsd };
    return spec;
  }

  /** A by_task worktree goes once its task merged; an epic's stays for the epic's next task. */
  async #cleanUp(): Promise<void> {
    if (this.#spec.strategy === 'by_epic' && this.#spec.target === undefined) return;
    await removeWorktree(this.#repo, this.#path, this.#branch);
  }
}

/** The promise's error as a value, so it can run beside another and be looked at after. */
async function settle(promise: Promise<unknown>): Promise<Error | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The handler's result with the workspace record added under `workspace`. */
function withWorkspaceResult(value: Json | void, workspace: WorkspaceResult): Json {
  const record = workspace as unknown as Json;
  if (value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value)) {
    return { ...value, workspace: record };
  }
  return value === undefined || value === null
    ? { workspace: record }
    : { result: value, workspace: record };
}
