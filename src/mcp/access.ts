/**
 * What a caller may reach, decided once for every tool: an attempt only its own run (its tasks,
 * its state, its files), its writes under its lease; a client what its scopes allow.
 */
import { join } from 'node:path';

import { stateOf, type Backend, type HeldLeaseRef } from '../backends/backend.ts';
import { NotFoundError } from '../core/errors.ts';
import type { TaskRecord } from '../core/types.ts';
import { ToolError } from './errors.ts';
import type { AttemptGrant, McpCaller, McpScope } from './identity.ts';

/** The folder of a run's task folders under the files root (tasks outside a run: `_`). */
export function runFolder(runId: string | null): string {
  return runId ?? '_';
}

/** The default sandbox of a task: `<filesRoot>/<run>/<task>/`. */
export function taskFolder(filesRoot: string, runId: string | null, taskId: string): string {
  return join(filesRoot, runFolder(runId), taskId);
}

export class Access {
  readonly caller: McpCaller;
  readonly #backend: Backend;

  constructor(caller: McpCaller, backend: Backend) {
    this.caller = caller;
    this.#backend = backend;
  }

  /** The attempt's grant, or null for a client. */
  get grant(): AttemptGrant | null {
    return this.caller.kind === 'attempt' ? this.caller.grant : null;
  }

  /** The attempt's grant, or a refusal naming what the tool needs. */
  attempt(tool: string): AttemptGrant {
    const grant = this.grant;
    if (grant === null)
      throw new ToolError(
        'BATON_UNAUTHORIZED',
        `${tool} works inside a task: it needs an attempt-scoped token (BATON_MCP_TOKEN, or the Bearer token of the MCP configuration Baton wrote for the agent)`,
      );
    return grant;
  }

  /**
   * Refuse a client without `scope` (`admin` has every scope). An attempt has read, submit and
   * work on its own run, which the tools check by run.
   */
  need(scope: McpScope, tool: string): void {
    if (this.caller.kind === 'attempt') return;
    const scopes = this.caller.scopes;
    if (!scopes.has(scope) && !scopes.has('admin'))
      throw new ToolError(
        'BATON_FORBIDDEN',
        `this token lacks the '${scope}' scope that ${tool} needs`,
        { scope },
      );
  }

  /** The run a call is about: an attempt's own (another is refused); a client's `run`. */
  run(run: string | undefined, tool: string): string | null {
    const grant = this.grant;
    if (grant === null) return run ?? null;
    if (run !== undefined && run !== grant.runId) throw this.#otherRun(tool);
    return grant.runId;
  }

  #otherRun(tool: string): ToolError {
    return new ToolError(
      'BATON_FORBIDDEN',
      `${tool}: an attempt's token reaches only its own run (${this.grant?.runId ?? 'none'}); this is another run's`,
    );
  }

  /** A task the caller may read: for an attempt, one of its run (or itself). */
  async task(taskId: string, tool: string): Promise<TaskRecord> {
    const task = await this.#backend.getTask(taskId);
    if (task === null) throw new NotFoundError('task', taskId);
    const grant = this.grant;
    if (
      grant !== null &&
      task.id !== grant.taskId &&
      (grant.runId === null || task.runId !== grant.runId)
    )
      throw this.#otherRun(tool);
    return task;
  }

  /**
   * The task of the caller's run with this id or key (an attempt's run; a client's `run`).
   * @throws NotFoundError when there is none.
   */
  async taskByRef(ref: string, runId: string | null, tool: string): Promise<TaskRecord> {
    if (ref.startsWith('tsk_')) return this.task(ref, tool);
    if (runId === null) throw new NotFoundError('task with key', ref);
    const found = (await this.runTasks(runId)).find((t) => t.key === ref);
    if (found === undefined) throw new NotFoundError(`task with key ${ref} in run`, runId);
    return found;
  }

  /** Every task of a run, in submission order. */
  async runTasks(runId: string): Promise<TaskRecord[]> {
    const tasks: TaskRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#backend.listTasks({
        runId,
        limit: 1000,
        ...(cursor === undefined ? {} : { cursor }),
      });
      tasks.push(...page.tasks);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return tasks;
  }

  /**
   * The state scope of a call: a named namespace of state (`ns:<name>`), which an attempt may use
   * only when its token lists it and a client with its scopes; else the caller's run
   * (`run:<id>`; a client names it with `run`).
   */
  stateScope(namespace: string | undefined, run: string | undefined, tool: string): string {
    const grant = this.grant;
    if (namespace !== undefined) {
      if (
        grant !== null &&
        !grant.stateNamespaces.includes(namespace) &&
        !grant.stateNamespaces.includes('*')
      )
        throw new ToolError(
          'BATON_FORBIDDEN',
          `${tool}: this attempt may not use the state namespace '${namespace}' (its token grants ${grant.stateNamespaces.length === 0 ? 'none' : grant.stateNamespaces.join(', ')}); leave namespace out to use the run's state`,
        );
      if (run !== undefined)
        throw new ToolError('BATON_FORBIDDEN', `${tool}: give either namespace or run, not both`);
      return `ns:${namespace}`;
    }
    const runId = this.run(run, tool);
    if (runId === null)
      throw new ToolError(
        'BATON_FORBIDDEN',
        grant === null
          ? `${tool}: name the run whose state this is (run: 'run_…') or a state namespace`
          : `${tool}: this task is outside any run, so it has no run state; use a state namespace its token grants`,
      );
    return `run:${runId}`;
  }

  /** The lease a write of an attempt is made under; none for a client. */
  fence(): HeldLeaseRef | undefined {
    const grant = this.grant;
    return grant === null
      ? undefined
      : { taskId: grant.taskId, token: grant.token, agentId: grant.agentId };
  }

  /**
   * Check that an attempt still holds its lease, in the store (a fenced delete of nothing, which
   * the store answers with the lease's refusal when it is not held). For writes that are not
   * state (files, tasks, progress): checked just before, not in the same step.
   */
  async checkLease(): Promise<void> {
    const fence = this.fence();
    if (fence === undefined) return;
    const outcome = await this.#backend.deleteState({
      scope: `lease:${fence.taskId}`,
      key: 'check',
      fence,
    });
    stateOf(outcome, { scope: `lease:${fence.taskId}`, key: 'check', fence });
  }
}
