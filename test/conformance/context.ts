/**
 * What every conformance case gets: a fresh backend per test over a fresh store, the manual
 * clock it runs on, and ways to open the same store again. Kept apart from `suite.ts` so the
 * case files can import it without an import cycle.
 */
import { randomUUID } from 'node:crypto';
import type { Backend } from '../../src/backends/backend.ts';
import type { LogBounds } from '../../src/core/logs.ts';
import type { RoutingPolicy } from '../../src/core/routing.ts';
import { ManualClock } from '../helpers/clock.ts';

export interface FactoryOptions {
  /** The only time source the backend may use for its decisions. */
  clock: () => number;
  /** Unique per test unless a test deliberately opens a second namespace. */
  namespace: string;
  /**
   * Names the store. The same `storeId` must open the same store again (the same SQLite file,
   * the same Redis server), so tests can close everything and reopen it, or run two backend
   * instances side by side. A new `storeId` is a fresh, empty store.
   */
  storeId: string;
  /** Routing knobs a test asks for (`BackendOptions.routing`); absent: the defaults. */
  routing?: Partial<RoutingPolicy>;
  /** Log bounds a test asks for (`BackendOptions.logs`); absent: the defaults. */
  logs?: Partial<LogBounds>;
}

/** Opens a backend; the suite calls it once per test (and again for reopen/second instances). */
export type BackendFactory = (opts: FactoryOptions) => Promise<Backend>;

/** How an adapter differs from the others, declared as data. */
export interface ConformanceOptions {
  /**
   * The factory can open an existing store again by `storeId`, after every backend on it was
   * closed (durability), and can open several instances of one store at once (shared work,
   * namespace isolation). Turn off only for a store that lives and dies with one instance.
   * @default true
   */
  reopen?: boolean;
  /** Deletes a store after its test, once every backend on it is closed. @default no-op */
  cleanup?: (storeId: string) => void | Promise<void>;
}

export interface TestContext {
  readonly clock: ManualClock;
  readonly namespace: string;
  readonly storeId: string;
  /** The backend under test; `reopen()` replaces it. */
  readonly b: Backend;
  /**
   * Open another backend instance on this test's store (same namespace unless given), on the
   * same clock, with the routing knobs given (default: the defaults). It is closed after the test.
   */
  open(opts?: {
    namespace?: string;
    routing?: Partial<RoutingPolicy>;
    logs?: Partial<LogBounds>;
  }): Promise<Backend>;
  /** Close `b` (and every other instance), open the same store and namespace again as the new `b`. */
  reopen(): Promise<Backend>;
}

export interface SuiteEnv {
  readonly name: string;
  readonly options: Required<ConformanceOptions>;
  /** The context of the running test. Call it inside `it`, not at `describe` time. */
  ctx(): TestContext;
}

class Context implements TestContext {
  readonly clock = new ManualClock();
  readonly namespace: string;
  readonly storeId: string;
  readonly #factory: BackendFactory;
  #open: Backend[] = [];
  #b: Backend | null = null;

  constructor(factory: BackendFactory) {
    this.#factory = factory;
    const id = randomUUID().replaceAll('-', '').slice(0, 16);
    this.namespace = `conf-${id}`;
    this.storeId = `store-${id}`;
  }

  get b(): Backend {
    if (!this.#b) throw new Error('the conformance context has no backend: was setup() awaited?');
    return this.#b;
  }

  async setup(): Promise<void> {
    this.#b = await this.open();
  }

  async open(
    opts: { namespace?: string; routing?: Partial<RoutingPolicy>; logs?: Partial<LogBounds> } = {},
  ): Promise<Backend> {
    const backend = await this.#factory({
      clock: this.clock.now,
      namespace: opts.namespace ?? this.namespace,
      storeId: this.storeId,
      ...(opts.routing === undefined ? {} : { routing: opts.routing }),
      ...(opts.logs === undefined ? {} : { logs: opts.logs }),
    });
    this.#open.push(backend);
    return backend;
  }

  async reopen(): Promise<Backend> {
    await this.closeAll();
    this.#b = await this.open();
    return this.#b;
  }

  async closeAll(): Promise<void> {
    const open = this.#open;
    this.#open = [];
    // Close every instance even if one fails, then report the first failure.
    const results = await Promise.allSettled(open.map((backend) => backend.close()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** Registers the per-test lifecycle in the enclosing `describe` and returns the env for cases. */
export function createEnv(
  name: string,
  factory: BackendFactory,
  options: ConformanceOptions,
  hooks: {
    beforeEach: (fn: () => Promise<void>) => void;
    afterEach: (fn: () => Promise<void>) => void;
  },
): SuiteEnv {
  const resolved: Required<ConformanceOptions> = {
    reopen: options.reopen ?? true,
    cleanup: options.cleanup ?? (() => undefined),
  };
  let current: Context | null = null;
  hooks.beforeEach(async () => {
    current = new Context(factory);
    await current.setup();
  });
  hooks.afterEach(async () => {
    const ctx = current;
    current = null;
    if (!ctx) return;
    try {
      await ctx.closeAll();
    } finally {
      await resolved.cleanup(ctx.storeId);
    }
  });
  return {
    name,
    options: resolved,
    ctx() {
      if (!current) throw new Error('env.ctx() called outside a running conformance test');
      return current;
    },
  };
}
