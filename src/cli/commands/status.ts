/**
 * `baton status [runId] [--follow]`: one run's progress, or the recent runs; with `--follow`,
 * a run (started elsewhere: `baton submit`, another `baton run`, the HTTP API) followed live
 * from the store's event stream until it ends.
 */
import { BatonError, NotFoundError } from '../../core/errors.ts';
import type { RunRecord } from '../../core/types.ts';
import type { Baton } from '../../runtime/baton.ts';
import { withBaton, type CliContext } from '../context.ts';
import type { LiveDisplay } from '../live.ts';
import { runResult } from '../../core/run-result.ts';
import { costLine } from '../costs.ts';
import { renderRunResult } from '../run-result.ts';
import { renderRunList, renderRunStatus } from '../render.ts';
import { agentLabels, collectTasks, recentRuns } from './pages.ts';

export interface StatusCommandOptions {
  /** Runs listed without a run id. */
  limit: number;
  /** Follow the run live until it ends. @default false */
  follow?: boolean;
}

/** Exit code of `--follow` interrupted by Ctrl-C (128 + SIGINT), as `baton run`'s. */
const INTERRUPTED_EXIT = 130;

export async function statusCommand(
  ctx: CliContext,
  runId: string | undefined,
  options: StatusCommandOptions,
): Promise<number> {
  return await withBaton(ctx, async (baton) => {
    if (options.follow === true) return await followStatus(ctx, baton, runId);
    if (runId === undefined) {
      const runs = await recentRuns(baton, options.limit);
      if (ctx.json) ctx.printJson({ runs });
      else ctx.print(renderRunList(runs, Date.now(), ctx.paint));
      return 0;
    }
    const run = await baton.getRun(runId);
    if (run === null) throw new NotFoundError('run', runId);
    const tasks = await collectTasks(baton, { runId });
    const costs = await baton.costs({ runId });
    const result = runResult(tasks);
    if (ctx.json) ctx.printJson({ run: { ...run, result }, tasks, costs });
    else {
      const cost = costLine(costs.total, costs.budget, '');
      ctx.print(renderRunStatus(run, tasks, Date.now(), await agentLabels(baton), ctx.paint));
      if (cost !== null) ctx.print(`\ncost: ${cost}`);
      const shown = renderRunResult(result);
      if (shown !== null) ctx.print(`\n${shown}`);
    }
    return 0;
  });
}

/**
 * Follow a run (the newest one when no id is given) until it ends, then print its status as
 * `baton status <runId>` does. Exit code: 0 when the run succeeded, 1 when it failed or was
 * cancelled, 130 on Ctrl-C (the run itself is left as it is). With `--json`, each of the run's
 * events as one JSON line instead.
 */
async function followStatus(
  ctx: CliContext,
  baton: Baton,
  runId: string | undefined,
): Promise<number> {
  // The stream's position first, then the snapshot: an event between the two is read twice
  // (harmless: it moves a task to the state the snapshot already has), none is missed.
  const since = await baton.lastEventId();
  const run = await findRun(baton, runId);
  const names = new Map((await baton.agents()).map((a) => [a.id, a.name]));
  const tasks = await collectTasks(baton, { runId: run.id });
  if (run.state === 'running') {
    // Loaded here: a plain `baton status` does without the live display (log-update).
    const [{ followRun, REDRAW_MS }, { LiveDisplay }, { RunProgress }] = await Promise.all([
      import('../follow.ts'),
      import('../live.ts'),
      import('../progress.ts'),
    ]);
    const progress = new RunProgress(
      run.name,
      tasks.map((t) => ({ id: t.id, key: t.key, epic: t.epic, state: t.state })),
      run.createdAt,
      (id) => names.get(id) ?? id,
      ctx.paint,
    );
    const interrupted = new AbortController();
    const onInt = (): void => interrupted.abort();
    process.once('SIGINT', onInt);
    ctx.note(
      `following run ${run.id} (${run.name}, ${tasks.length} task${tasks.length === 1 ? '' : 's'}) until it ends; Ctrl-C stops following, not the run`,
    );
    const live = !ctx.json && ctx.io.stdout.isTTY === true && (ctx.io.stdout.rows ?? 24) > 0;
    const display: LiveDisplay | undefined = live
      ? new LiveDisplay(ctx.io.stdout, ctx.io.stderr, (size) => progress.frame(Date.now(), size), {
          intervalMs: REDRAW_MS,
        })
      : undefined;
    if (display) ctx.routeStderr((text) => display.print('stderr', text));
    try {
      const ended = await followRun(ctx, baton, run.id, since, progress, {
        ...(display === undefined ? {} : { display }),
        signal: interrupted.signal,
        onEvent: async (event) => {
          if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(event)}\n`);
          // An agent that joined after the names were read: read them again, once.
          if (event.agentId !== null && !names.has(event.agentId)) {
            for (const a of await baton.agents()) names.set(a.id, a.name);
          }
        },
      });
      if (!ended) return INTERRUPTED_EXIT;
    } finally {
      process.off('SIGINT', onInt);
      display?.stop();
      ctx.routeStderr(null);
    }
  }
  const final = (await baton.getRun(run.id)) ?? run;
  if (!ctx.json) {
    const all = await collectTasks(baton, { runId: run.id });
    const label = (id: string): string => names.get(id) ?? id;
    ctx.print(`\n${renderRunStatus(final, all, Date.now(), label, ctx.paint)}`);
    const shown = renderRunResult(runResult(all));
    if (shown !== null) ctx.print(`\n${shown}`);
  }
  return final.state === 'succeeded' ? 0 : 1;
}

/** The run `runId` names, or the newest run. */
async function findRun(baton: Baton, runId: string | undefined): Promise<RunRecord> {
  if (runId !== undefined) {
    const run = await baton.getRun(runId);
    if (run === null) throw new NotFoundError('run', runId);
    return run;
  }
  const [newest] = await recentRuns(baton, 1);
  if (newest === undefined) {
    throw new BatonError(
      'BATON_NOT_FOUND',
      'there is no run to follow in this store; start one with baton submit or baton run, or check --store and --namespace',
    );
  }
  return newest;
}
