/**
 * What a task carries to run in a worktree: `payload.workspace`, stamped on each task of a plan
 * with worktrees by {@link prepareWorkspaceRun} (src/workspace/prepare.ts) before it is submitted,
 * and read back by the handler wrapper (src/workspace/handler.ts), which removes it before the
 * executor sees the payload.
 */
import { NonRetryableError, ValidationError } from '../core/errors.ts';
import type { Json } from '../core/types.ts';

/** The payload field that carries a task's {@link WorkspaceSpec}. */
export const WORKSPACE_FIELD = 'workspace';

/** A task's worktree settings, as stored in its payload. */
export interface WorkspaceSpec {
  /** Format version. */
  v: 1;
  /** The repository's top directory (absolute). */
  repo: string;
  /** The base branch, and the commit it named when the run was prepared. */
  base: string;
  baseSha: string;
  /** The run's name, made safe for branch names. */
  run: string;
  strategy: 'by_task' | 'by_epic';
  merge: 'merge' | 'squash';
  conflict: 'resolve' | 'fail';
  /** The worktree's name in the run: the task's key, or its epic with `by_epic` (made safe). */
  slot: string;
  /** The task's key, made safe: names its merge record. */
  key: string;
  /** Payload fields a `resolve-conflict` task runs with instead of the task's own (shell: the command). */
  resolver: { [name: string]: Json } | null;
  /** Where `baton merge` (and a successful `baton run`) puts the integration branch; null: nowhere. */
  into: string | null;
  /** A `resolve-conflict` task's own budget in USD. */
  resolverBudgetUsd: number | null;
  /** Set on a `resolve-conflict` task: whose conflict it resolves. */
  target?: ConflictTarget;
}

/** The conflicting task a `resolve-conflict` task works for. */
export interface ConflictTarget {
  taskId: string;
  /** The conflicting task's key as written, and made safe. */
  key: string;
  keySlug: string;
  /** Its branch's head when the merge conflicted. */
  head: string;
  /** Where its branch was cut from the integration branch. */
  base: string;
  files: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The task's workspace spec and its payload without it; `spec` is null for a task without one.
 * @throws NonRetryableError on a malformed spec (no attempt could fix it).
 */
export function splitPayload(payload: Json): { spec: WorkspaceSpec | null; payload: Json } {
  if (!isRecord(payload) || payload[WORKSPACE_FIELD] === undefined) return { spec: null, payload };
  const { [WORKSPACE_FIELD]: raw, ...rest } = payload;
  if (
    !isRecord(raw) ||
    raw['v'] !== 1 ||
    typeof raw['repo'] !== 'string' ||
    typeof raw['baseSha'] !== 'string' ||
    typeof raw['run'] !== 'string' ||
    typeof raw['slot'] !== 'string' ||
    typeof raw['key'] !== 'string'
  ) {
    throw new NonRetryableError(
      `malformed payload.${WORKSPACE_FIELD}: it is written by Baton when a plan with worktrees is submitted (docs/worktrees.md); remove it, or submit the plan with repo:/worktrees:`,
    );
  }
  return { spec: raw as unknown as WorkspaceSpec, payload: rest };
}

/**
 * `payload.workspace` is what Baton stamps on the tasks of a plan with `repo:` where the
 * repository is: it names a path on that machine, and workers open worktrees there and
 * `POST /v1/runs/:id/merge` merges there. Tasks that come from a client (the HTTP API, MCP's
 * `submit_tasks`) may not carry it: a plan with worktrees is submitted with `baton run` or
 * `baton submit` on the machine that has the repository.
 * @throws ValidationError naming each task's `payload.workspace`.
 */
export function refuseWorkspacePayloads(
  tasks: readonly { payload?: unknown }[],
  pathOf: (index: number) => string,
): void {
  const issues = tasks.flatMap((task, i) => {
    const payload = task.payload;
    return payload !== null &&
      typeof payload === 'object' &&
      !Array.isArray(payload) &&
      WORKSPACE_FIELD in payload
      ? [
          {
            path: `${pathOf(i)}.${WORKSPACE_FIELD}`,
            message:
              'payload.workspace is written by Baton for a plan with repo:/worktrees:, submitted with `baton run` or `baton submit` on the machine that has the repository (docs/worktrees.md); remove it',
          },
        ]
      : [];
  });
  if (issues.length > 0) throw new ValidationError(issues);
}
