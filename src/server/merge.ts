/**
 * `POST /v1/runs/:id/merge`: put a finished coding run's integration branch into a branch of its
 * repository (docs/worktrees.md), as `baton merge` does, through the same {@link mergeRun}.
 *
 * Scope `admin`, not `submit`: this is the one route that writes to a git repository on the
 * server's disk (a branch the user owns, `into` naming any branch of it), which Baton cannot undo;
 * `submit` only adds work to the store and cancels it, and an HTTP client cannot even submit a
 * plan with `repo:`. The repository is the one the run recorded (its tasks' `payload.workspace`),
 * never a path from the request.
 */
import type { FastifyInstance } from 'fastify';

import { isRunId } from '../backends/ids.ts';
import { ConflictError, NotFoundError, WorkspaceError } from '../core/errors.ts';
import type { Baton } from '../runtime/baton.ts';
import { mergeRun, type RunMergeOutcome } from '../workspace/runs.ts';
import type { Scope } from './auth.ts';
import { IdParamsSchema, MergeBodySchema } from './schemas.ts';

/** The answer of the route, as in RunMergedSchema. */
export function mergeAnswer(outcome: RunMergeOutcome): {
  outcome: 'fast-forward' | 'merged' | 'would-merge' | 'up-to-date';
  from: string;
  into: string;
  sha?: string;
  message: string;
} {
  const kind =
    outcome.action === 'merge'
      ? outcome.done
        ? 'merged'
        : 'would-merge'
      : outcome.action === 'fast-forward'
        ? 'fast-forward'
        : 'up-to-date';
  return {
    outcome: kind,
    from: outcome.from,
    into: outcome.into,
    ...(outcome.done ? { sha: outcome.tip } : {}),
    message: outcome.message,
  };
}

export function registerMergeRoute(app: FastifyInstance, baton: Baton): void {
  const admin = { config: { scope: 'admin' as Scope } };
  app.post('/v1/runs/:id/merge', admin, async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    const body = MergeBodySchema.parse(request.body ?? {});
    if (!isRunId(id)) throw new NotFoundError('run', id);
    try {
      const outcome = await mergeRun(baton, id, {
        ...(body.into === undefined ? {} : { into: body.into }),
        yes: body.confirm === true,
        confirm: 'Sending confirm: true',
      });
      return mergeAnswer(outcome);
    } catch (error) {
      if (!(error instanceof WorkspaceError)) throw error;
      const message =
        error.details['reason'] === 'unfinished'
          ? `run ${id} is ${String(error.details['state'])}: only a run that succeeded is merged from here; wait for it to succeed, or merge what is there with npx baton merge ${id} --yes on the server's machine`
          : error.message;
      throw new ConflictError(message, { ...error.details, runId: id });
    }
  });
}
