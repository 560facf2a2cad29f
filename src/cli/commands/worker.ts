/**
 * `baton worker`: a worker process on the store. It claims the tasks its capabilities allow
 * (runs submitted by `baton submit`, or left behind by an interrupted `baton run`) until
 * SIGINT/SIGTERM, then stops gracefully: running tasks may finish, the rest are given back.
 */
import { once } from 'node:events';

import { PLAN_TASK_TYPE } from '../../core/goal.ts';
import { httpHandler } from '../../executors/http.ts';
import { shellHandler } from '../../executors/shell.ts';
import type { WorkerOptions } from '../../runtime/worker.ts';
import type { CliContext } from '../context.ts';
import { cliAgentHandler } from '../agent.ts';
import { withWorkspace } from '../../workspace/handler.ts';
import { cliLlmHandler } from '../llm.ts';
import { cliPlanHandler, plannerModels } from '../planner.ts';

export interface WorkerCommandOptions {
  /** Capabilities besides `shell`, which this process can always run. @default [] */
  capabilities?: string[];
  /** Tasks run at once. */
  concurrency: number;
  /** A stable agent id. @default generated */
  agentId?: string;
  /** @default the agent id */
  name?: string;
  /** Heartbeat and lease-renewal interval, in ms. @default the worker's (1 s) */
  heartbeat?: number;
  /** Silence after which an agent is declared lost, in ms. @default the worker's (3 s) */
  agentTtl?: number;
  /** Lease duration, in ms. @default the worker's (30 s) */
  leaseTtl?: number;
  /** How long a stop lets running tasks finish, in ms. @default the worker's (10 s) */
  grace?: number;
}

export async function workerCommand(
  ctx: CliContext,
  options: WorkerCommandOptions,
): Promise<number> {
  const capabilities = [...new Set(['shell', ...(options.capabilities ?? [])])].sort();
  const config: WorkerOptions = {
    capabilities,
    concurrency: options.concurrency,
    handlers: {
      shell: withWorkspace(shellHandler()),
      http: httpHandler(),
      llm: cliLlmHandler(ctx.agentEnv, { config: ctx.config.config }),
    },
    // The worker's own handling: the first signal stops gracefully, a second one at once.
    handleSignals: true,
  };
  if (options.agentId !== undefined) config.agentId = options.agentId;
  if (options.name !== undefined) {
    config.name = options.name;
    // Its log lines say which agent they are about by name, as those of `baton run` do.
    config.logger = ctx.logger.child({ agent: options.name });
  }
  if (options.heartbeat !== undefined) config.heartbeatIntervalMs = options.heartbeat;
  if (options.agentTtl !== undefined) config.agentTtlMs = options.agentTtl;
  if (options.leaseTtl !== undefined) config.leaseTtlMs = options.leaseTtl;
  if (options.grace !== undefined) config.shutdownGraceMs = options.grace;

  const baton = await ctx.open();
  // The learn step keeps each version of an expertise file in the store.
  config.handlers.agent = withWorkspace(
    cliAgentHandler(ctx.agentEnv, ctx.config.config, undefined, baton.backend),
  );
  try {
    // Goals (POST /v1/goals, baton submit of a plan task) are planned by any worker: the planner
    // reads the live agents from the store (docs/planner.md).
    config.handlers[PLAN_TASK_TYPE] = cliPlanHandler(
      ctx.agentEnv,
      baton,
      plannerModels(ctx.agentEnv),
    );
    const worker = baton.worker(config);
    const stopped = once(worker, 'stopped');
    await worker.start();
    ctx.logger.info(
      { agentId: worker.agentId, store: ctx.storeUrl, namespace: ctx.namespace ?? 'default' },
      'waiting for tasks; stop with Ctrl-C (SIGINT) or SIGTERM',
    );
    await stopped;
    return 0;
  } finally {
    await baton.close();
  }
}
