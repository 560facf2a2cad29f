/**
 * Prometheus metrics for `GET /metrics` (prom-client), on a registry of their own so several
 * servers in one process do not share counters.
 *
 * Counters and histograms are fed from the event stream, from the moment the server starts (a
 * counter is per process, as Prometheus expects: `rate()` handles restarts). Gauges are read
 * from the store's `stats()` at scrape time, so they are the store's truth, not this process's.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { BatonEvent } from '../core/types.ts';
import type { Baton } from '../runtime/baton.ts';

/** Buckets of queue wait and run time, in seconds: 5 ms to 1 h. */
const BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** The `kind` label of each token count of a `usage.recorded` event. */
const USAGE_KINDS = [
  ['input', 'inputTokens'],
  ['output', 'outputTokens'],
  ['cache_read', 'cacheReadTokens'],
  ['cache_write', 'cacheWriteTokens'],
  ['reasoning', 'reasoningTokens'],
] as const;
/** Tasks whose ready/claim times are remembered at once; the oldest are forgotten beyond it. */
const MAX_TRACKED = 100_000;

export class Metrics {
  readonly registry = new Registry();
  readonly #submitted: Counter;
  readonly #succeeded: Counter;
  readonly #failed: Counter;
  readonly #retried: Counter;
  readonly #queueWait: Histogram;
  readonly #runTime: Histogram;
  readonly #tokens: Counter;
  readonly #costUsd: Counter;
  /** When each task last became ready, and when its current attempt was claimed (event times). */
  readonly #readyAt = new Map<string, number>();
  readonly #claimedAt = new Map<string, number>();

  constructor(baton: Baton) {
    const registers = [this.registry];
    this.#submitted = new Counter({
      name: 'baton_tasks_submitted_total',
      help: 'Tasks submitted',
      registers,
    });
    this.#succeeded = new Counter({
      name: 'baton_tasks_succeeded_total',
      help: 'Tasks that succeeded',
      registers,
    });
    this.#failed = new Counter({
      name: 'baton_tasks_failed_total',
      help: 'Tasks that failed for good (no attempts left, or not retryable)',
      registers,
    });
    this.#retried = new Counter({
      name: 'baton_tasks_retried_total',
      help: 'Failed attempts that will be retried',
      registers,
    });
    this.#queueWait = new Histogram({
      name: 'baton_task_queue_wait_seconds',
      help: 'Time from a task becoming ready to its claim',
      buckets: BUCKETS,
      registers,
    });
    this.#runTime = new Histogram({
      name: 'baton_task_run_seconds',
      help: 'Time from claim to the end of the attempt, by outcome',
      labelNames: ['outcome'],
      buckets: BUCKETS,
      registers,
    });
    this.#tokens = new Counter({
      name: 'baton_llm_tokens_total',
      help: 'Tokens of recorded model calls, by model (provider:model) and kind (input, output, cache_read, cache_write, reasoning)',
      labelNames: ['model', 'kind'],
      registers,
    });
    this.#costUsd = new Counter({
      name: 'baton_llm_cost_usd_total',
      help: 'USD cost of recorded model calls, by model (provider:model)',
      labelNames: ['model'],
      registers,
    });
    new Gauge({
      name: 'baton_tasks',
      help: 'Tasks in the store by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const stats = await baton.stats();
        this.reset();
        for (const [state, count] of Object.entries(stats.byState)) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'baton_ready_depth',
      help: 'Ready tasks by the capabilities they require (sorted, comma-separated)',
      labelNames: ['requires'],
      registers,
      async collect() {
        const stats = await baton.stats();
        this.reset();
        for (const group of stats.readyByRequires) {
          this.set({ requires: group.requires.join(',') }, group.count);
        }
      },
    });
    new Gauge({
      name: 'baton_agents',
      help: 'Agents by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const stats = await baton.stats();
        this.reset();
        for (const [state, count] of Object.entries(stats.agents)) this.set({ state }, count);
      },
    });
  }

  /** Count one event of the stream. */
  observe(event: BatonEvent): void {
    const id = event.taskId;
    if (id === null) return;
    switch (event.type) {
      case 'task.submitted':
        this.#submitted.inc();
        if (event.data.state === undefined || event.data.state === 'ready')
          this.#ready(id, event.at);
        break;
      case 'task.ready':
        this.#ready(id, event.at);
        break;
      case 'task.claimed': {
        const readyAt = this.#readyAt.get(id);
        this.#readyAt.delete(id);
        // The store stamps a claim no earlier than the task became ready (core/clock.ts).
        if (readyAt !== undefined) this.#queueWait.observe((event.at - readyAt) / 1000);
        this.#remember(this.#claimedAt, id, event.at);
        break;
      }
      case 'task.succeeded':
        this.#succeeded.inc();
        this.#ended(id, event.at, 'succeeded');
        break;
      case 'task.failed':
        this.#failed.inc();
        this.#ended(id, event.at, 'failed');
        break;
      case 'task.retrying':
        this.#retried.inc();
        this.#ended(id, event.at, 'retried');
        if (event.data.delayMs === 0) this.#ready(id, event.at);
        break;
      case 'task.released':
        this.#claimedAt.delete(id);
        // A deferred release waits `delayMs` first: it is ready only then (task.ready).
        if (typeof event.data.delayMs === 'number' && event.data.delayMs > 0) {
          this.#readyAt.delete(id);
        } else this.#ready(id, event.at);
        break;
      case 'task.retried':
        this.#ready(id, event.at);
        break;
      case 'usage.recorded':
        this.#usage(event.data);
        break;
      case 'task.cancelled':
      case 'task.skipped':
        this.#readyAt.delete(id);
        this.#claimedAt.delete(id);
        break;
      default:
        break;
    }
  }

  /** A recorded model call (`usage.recorded`): its tokens and cost, by model. */
  #usage(data: BatonEvent['data']): void {
    if (typeof data.provider !== 'string' || typeof data.model !== 'string') return;
    const model = `${data.provider}:${data.model}`;
    for (const [kind, field] of USAGE_KINDS) {
      const n = data[field];
      if (typeof n === 'number' && n > 0) this.#tokens.inc({ model, kind }, n);
    }
    if (typeof data.costUsd === 'number') this.#costUsd.inc({ model }, data.costUsd);
  }

  #ready(id: string, at: number): void {
    this.#remember(this.#readyAt, id, at);
  }

  #ended(id: string, at: number, outcome: string): void {
    const claimedAt = this.#claimedAt.get(id);
    this.#claimedAt.delete(id);
    // The store stamps an attempt's end no earlier than its claim (core/clock.ts).
    if (claimedAt !== undefined) this.#runTime.observe({ outcome }, (at - claimedAt) / 1000);
  }

  #remember(map: Map<string, number>, id: string, at: number): void {
    map.delete(id);
    map.set(id, at);
    if (map.size > MAX_TRACKED) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
  }
}

/**
 * Follow the event stream into `metrics` until `signal` aborts, from the end of the stream as
 * it is now. A failing store is retried after a pause rather than ending the metrics.
 */
export async function followEvents(
  baton: Baton,
  metrics: Metrics,
  signal: AbortSignal,
  onError: (error: unknown) => void,
): Promise<void> {
  let since: string | undefined;
  try {
    since = (await baton.lastEventId()) ?? undefined;
  } catch (error) {
    onError(error);
  }
  while (!signal.aborted) {
    try {
      for await (const event of baton.events({
        ...(since === undefined ? {} : { since }),
        signal,
      })) {
        since = event.id;
        metrics.observe(event);
      }
    } catch (error) {
      if (signal.aborted) return;
      onError(error);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 1000);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}
