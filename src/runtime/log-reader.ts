/**
 * Reading task logs as a stream of lines (docs/logs.md): one task's, or every task's of a run
 * interleaved in the order they were stored, once or following them while they run. What the
 * client (`Baton.logs`), the HTTP server's live follow and `baton logs` share.
 *
 * Following polls the store every `pollMs` (lines write no events). It ends once the task (or
 * the run) has finished and its lines are read: an attempt's last lines are stored with its
 * outcome, so a read made after the task was seen finished has all of them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend } from '../backends/backend.ts';
import { NotFoundError } from '../core/errors.ts';
import type { LogLine, LogStream } from '../core/logs.ts';
import { isTerminal, type TaskRecord } from '../core/types.ts';

export interface LogsOptions {
  /** Only this attempt's lines (of a task; of each task of a run). @default every attempt */
  attempt?: number;
  /** Only lines of this stream (`cut` markers are always shown). @default every stream */
  stream?: LogStream;
  /** Start after this cursor (a line's `seq`; of a task only). @default 0, from the start */
  after?: number;
  /** Keep reading new lines until the task or run has finished. @default false */
  follow?: boolean;
  /** Ends the iteration (without an error). */
  signal?: AbortSignal;
  /** How often a follow looks for new lines, in ms. @default 250 */
  pollMs?: number;
  /** Lines read per round trip. @default 1000 */
  pageSize?: number;
}

const DEFAULT_POLL_MS = 250;
const DEFAULT_PAGE = 1000;
const TASK_PAGE = 1000;

/** One task's lines in seq order, and new ones as they come while following. */
export async function* taskLogLines(
  backend: Backend,
  taskId: string,
  options: LogsOptions = {},
): AsyncGenerator<LogLine, void, undefined> {
  const { signal } = options;
  let cursor = options.after ?? 0;
  for (;;) {
    let finished = true;
    if (options.follow === true) {
      const task = await backend.getTask(taskId);
      if (task === null) throw new NotFoundError('task', taskId);
      finished = isTerminal(task.state);
    }
    for (let more = true; more;) {
      if (signal?.aborted) return;
      const page = await backend.readLogs({
        taskId,
        after: cursor,
        limit: options.pageSize ?? DEFAULT_PAGE,
        ...(options.attempt === undefined ? {} : { attempt: options.attempt }),
        ...(options.stream === undefined ? {} : { stream: options.stream }),
      });
      for (const line of page.lines) yield line;
      cursor = page.cursor;
      more = page.more;
    }
    if (finished || !(await pause(options))) return;
  }
}

/**
 * Every line of a run's tasks, interleaved in the order they were stored, and new ones while
 * following (a task added to the run meanwhile is picked up).
 */
export async function* runLogLines(
  backend: Backend,
  runId: string,
  options: Omit<LogsOptions, 'after'> = {},
): AsyncGenerator<LogLine, void, undefined> {
  const { signal } = options;
  /** Where each task was read up to, and whether all of it was read (it had finished). */
  const read = new Map<string, { cursor: number; done: boolean }>();
  for (;;) {
    const run = await backend.getRun(runId);
    if (run === null) throw new NotFoundError('run', runId);
    const finished = options.follow !== true || run.state !== 'running';
    const found: LogLine[] = [];
    for (const task of await tasksOfRun(backend, runId)) {
      if (signal?.aborted) return;
      const seen = read.get(task.id) ?? { cursor: 0, done: false };
      read.set(task.id, seen);
      const terminal = isTerminal(task.state);
      // A task that never started has written nothing; one read to its end after it finished
      // writes nothing more, unless it was retried since.
      if (task.attempts === 0 || (seen.done && terminal)) continue;
      for (let more = true; more;) {
        const page = await backend.readLogs({
          taskId: task.id,
          after: seen.cursor,
          limit: options.pageSize ?? DEFAULT_PAGE,
          ...(options.attempt === undefined ? {} : { attempt: options.attempt }),
          ...(options.stream === undefined ? {} : { stream: options.stream }),
        });
        found.push(...page.lines);
        seen.cursor = page.cursor;
        more = page.more;
      }
      seen.done = terminal;
    }
    found.sort((a, b) => a.seq - b.seq);
    for (const line of found) {
      if (signal?.aborted) return;
      yield line;
    }
    if (finished || !(await pause(options))) return;
  }
}

/** Every task of a run, page by page, in submission order. */
async function tasksOfRun(backend: Backend, runId: string): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await backend.listTasks({
      runId,
      limit: TASK_PAGE,
      ...(cursor === null ? {} : { cursor }),
    });
    tasks.push(...page.tasks);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return tasks;
}

/** Wait `pollMs`; false when the signal aborted meanwhile. */
async function pause(options: LogsOptions): Promise<boolean> {
  if (options.signal?.aborted) return false;
  try {
    await sleep(options.pollMs ?? DEFAULT_POLL_MS, undefined, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return true;
  } catch {
    return false;
  }
}
