/**
 * `baton logs <taskId|runId>`: what a task's attempts printed (docs/logs.md), or every task of a
 * run, interleaved in the order the lines were stored and prefixed with each task's key, as
 * `docker compose logs` does. With `--follow`, new lines are shown as they come until the task or
 * run has finished; Ctrl-C stops following (exit 130).
 *
 * Standard output carries the log lines (and the `cut` markers, where the bounds dropped lines);
 * for one task, a line on standard error tells where each attempt starts. `--json` prints one
 * LogLine object per line (with the task's `key` for a run).
 */
import { isRunId } from '../../backends/ids.ts';
import type { LogLine, LogStream } from '../../core/logs.ts';
import type { Baton } from '../../runtime/baton.ts';
import { withBaton, type CliContext } from '../context.ts';
import { collectTasks } from './pages.ts';

export interface LogsCommandOptions {
  attempt?: number;
  follow: boolean;
  stream?: LogStream;
}

export async function logsCommand(
  ctx: CliContext,
  id: string,
  options: LogsCommandOptions,
): Promise<number> {
  return await withBaton(ctx, async (baton) => {
    const controller = new AbortController();
    let interrupted = false;
    const onInt = (): void => {
      interrupted = true;
      controller.abort();
    };
    if (options.follow) process.once('SIGINT', onInt);
    try {
      const lines = baton.logs(id, {
        follow: options.follow,
        signal: controller.signal,
        ...(options.attempt === undefined ? {} : { attempt: options.attempt }),
        ...(options.stream === undefined ? {} : { stream: options.stream }),
      });
      if (isRunId(id)) await printRun(ctx, baton, id, lines);
      else await printTask(ctx, lines);
    } finally {
      process.off('SIGINT', onInt);
    }
    return interrupted ? 130 : 0;
  });
}

/** One task: the lines as they are, and where each attempt (claim) starts, on stderr. */
async function printTask(ctx: CliContext, lines: AsyncIterable<LogLine>): Promise<void> {
  let claim: string | null = null;
  for await (const line of lines) {
    if (ctx.json) {
      ctx.print(JSON.stringify(line));
      continue;
    }
    const current = `${line.attempt} ${line.agentId}`;
    if (current !== claim) {
      claim = current;
      ctx.note(`── attempt ${line.attempt} on ${line.agentId} ──`);
    }
    ctx.print(line.text);
  }
}

/** A run: every task's lines, each prefixed with its key, padded to the widest key seen. */
async function printRun(
  ctx: CliContext,
  baton: Baton,
  runId: string,
  lines: AsyncIterable<LogLine>,
): Promise<void> {
  const keys = new Map<string, string>();
  for (const task of await collectTasks(baton, { runId })) keys.set(task.id, task.key ?? task.id);
  let width = Math.max(0, ...[...keys.values()].map((k) => k.length));
  for await (const line of lines) {
    let key = keys.get(line.taskId);
    if (key === undefined) {
      // A task added to the run since (fan-out): look it up once.
      const task = await baton.get(line.taskId);
      key = task?.key ?? line.taskId;
      keys.set(line.taskId, key);
      width = Math.max(width, key.length);
    }
    if (ctx.json) ctx.print(JSON.stringify({ ...line, key }));
    else ctx.print(`${key.padEnd(width)} | ${line.text}`);
  }
}
