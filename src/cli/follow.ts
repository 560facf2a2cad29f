/**
 * Following a run's events as they happen: `baton run` (the run it started) and
 * `baton status --follow` (a run started elsewhere). Events come from the store's event stream
 * (SQLite and Redis alike), filtered to the run, and move a {@link RunProgress}: a frame redrawn
 * on a terminal, one line per event elsewhere.
 */
import type { BatonEvent } from '../core/types.ts';
import type { Baton } from '../runtime/baton.ts';
import type { CliContext } from './context.ts';
import type { LiveDisplay } from './live.ts';
import type { RunProgress } from './progress.ts';

/** How often the live display redraws when no event arrives (for the elapsed time). */
export const REDRAW_MS = 100;
/** Events whose line stays above the live frame. */
const FAILURE_EVENTS: ReadonlySet<BatonEvent['type']> = new Set([
  'task.retrying',
  'task.failed',
  'task.skipped',
  'agent.lost',
  'agent.stalled',
]);
/** Events read per round trip while catching up with the stream. */
const EVENT_PAGE = 5000;

export function isRunEnd(event: BatonEvent): boolean {
  return event.type === 'run.completed' || event.type === 'run.cancelled';
}

export interface FollowOptions {
  /** A frame redrawn on a terminal; without one, each event's line is printed. */
  display?: LiveDisplay;
  /** Stops following (Ctrl-C, or the agents of `baton run` have stopped). */
  signal: AbortSignal;
  /**
   * Once `signal` aborts, read the events already stored too (`baton run`: what its agents did
   * before they stopped). @default false
   */
  catchUp?: boolean;
  /** Called with each of the run's events before it is shown (a JSON printer, a name lookup). */
  onEvent?: (event: BatonEvent) => Promise<void> | void;
}

/**
 * Show the run's events from `since` until it completes or `signal` aborts: a redrawn frame on a
 * terminal, plain lines otherwise, nothing with `--json`.
 * @param since the newest event id before the run's first event of interest (null: from the
 *   start of the stream)
 * @returns whether the run's end (run.completed, run.cancelled) was seen
 */
export async function followRun(
  ctx: CliContext,
  baton: Baton,
  runId: string,
  since: string | null,
  progress: RunProgress,
  options: FollowOptions,
): Promise<boolean> {
  const { display } = options;
  let last = since;
  /** Apply one event; true when it ends the run. */
  const show = async (event: BatonEvent): Promise<boolean> => {
    last = event.id;
    if (event.runId !== runId) return false;
    await options.onEvent?.(event);
    if (event.type === 'task.submitted' && event.taskId !== null && !progress.has(event.taskId)) {
      progress.add({ id: event.taskId, key: null, epic: null, state: 'blocked' });
    }
    const line = progress.apply(event);
    if (display) {
      // Failures stay in the scrollback above the frame, so their reason is not redrawn away.
      if (line !== null && FAILURE_EVENTS.has(event.type)) display.print('stdout', line);
      else display.redraw();
    } else if (line !== null && !ctx.json) ctx.print(line);
    return isRunEnd(event);
  };
  // Filtered to this run: other producers share the stream.
  const events = baton.events({
    signal: options.signal,
    pageSize: EVENT_PAGE,
    ...(since === null ? {} : { since }),
  });
  for await (const event of events) if (await show(event)) return true;
  if (options.catchUp !== true) return false;
  const rest = baton.events({
    follow: false,
    pageSize: EVENT_PAGE,
    ...(last === null ? {} : { since: last }),
  });
  for await (const event of rest) if (await show(event)) return true;
  return false;
}
