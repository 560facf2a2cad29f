/**
 * The `plan` executor end to end: a real worker on a SQLite file runs a `plan` task whose model
 * calls go through the CLI's `llm` handler (budget held, usage in the ledger, the answer streamed
 * into the task's log) to the fake model service speaking Anthropic's real wire format; the plan
 * is validated, repaired once, or replaced by the single fallback task, and spawned into the run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { cliLlmHandler } from '../../src/cli/llm.ts';
import { runResult } from '../../src/core/run-result.ts';
import type { RunRecord, TaskRecord } from '../../src/core/types.ts';
import { planHandler, type PlanResult } from '../../src/executors/planner/index.ts';
import type { Baton } from '../../src/runtime/baton.ts';
import {
  asksForJson,
  promptOf,
  startFakeLlm,
  type FakeAnswer,
  type FakeLlmServer,
} from '../helpers/fake-llm.ts';
import { useHarness } from '../runtime/harness.ts';

const h = useHarness();
const KEY = 'sk-ant-planner-test-61c0';
const MODEL = 'anthropic:claude-sonnet-4-5';

let server: FakeLlmServer;

beforeEach(async () => {
  server = await startFakeLlm({ keys: [KEY] });
});

const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await server.close();
});

/** A task of a planner answer, every field given (as the output schema requires). */
function draft(key: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key,
    title: `Task ${key}`,
    description: `Does ${key}`,
    requires: [],
    dependsOn: [],
    priority: 'medium',
    epic: '',
    complexity: 'low',
    prompt: `Do ${key}.`,
    ...extra,
  };
}

function planAnswer(tasks: Record<string, unknown>[]): FakeAnswer {
  return { text: JSON.stringify({ tasks }), usage: { input: 300, output: 120 } };
}

/**
 * Planner requests (they ask for JSON) take `plans` in order; task requests answer `taskAnswer`.
 */
function script(plans: FakeAnswer[], taskAnswer = 'done'): void {
  server.respond = ({ body }) =>
    asksForJson(body)
      ? (plans.shift() ?? { text: 'no more plans' })
      : { text: taskAnswer, usage: { input: 20, output: 5 } };
}

async function startAgents(capabilities: string[] = []): Promise<Baton> {
  const baton = await h.baton();
  const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.url };
  const llm = cliLlmHandler(env);
  const worker = await h.startWorker(baton, {
    name: 'planner-agent',
    capabilities,
    concurrency: 2,
    handlers: { llm, plan: planHandler({ llm, store: baton, model: MODEL }) },
  });
  stops.push(() => worker.stop());
  return baton;
}

async function plan(
  baton: Baton,
  goal: string,
  extra: { budget?: { usd: number }; dryRun?: boolean } = {},
): Promise<{ run: RunRecord; tasks: TaskRecord[]; planTask: TaskRecord }> {
  const submitted = await baton.submitRun({
    name: 'goal',
    ...(extra.budget ? { budget: extra.budget } : {}),
    tasks: [
      {
        key: 'plan',
        type: 'plan',
        payload: { goal, ...(extra.dryRun ? { dryRun: true } : {}) },
        maxAttempts: 1,
      },
    ],
  });
  const run = (await baton.wait(submitted.runId, { timeoutMs: 20_000 })) as RunRecord;
  const tasks = (await baton.tasks({ runId: submitted.runId, limit: 1000 })).tasks;
  const planTask = tasks.find((t) => t.type === 'plan')!;
  return { run, tasks, planTask };
}

async function logText(baton: Baton, taskId: string): Promise<string> {
  const page = await baton.readLogs({ taskId, limit: 1000 });
  return page.lines.map((l) => l.text).join('\n');
}

const plannerRequests = (): string[] =>
  server.requests.filter((r) => asksForJson(r.body)).map((r) => promptOf(r.body));

describe('the plan executor', () => {
  it('plans a goal into tasks, spawns them into its run, and the run result is the sinks', async () => {
    script(
      [
        planAnswer([
          draft('multiply', { prompt: 'Multiply 1 through 10.' }),
          draft('check', { dependsOn: ['multiply'], prompt: 'Check the product.' }),
        ]),
      ],
      '3628800',
    );
    const baton = await startAgents(['math']);
    const { run, tasks, planTask } = await plan(baton, 'Calculate factorial of 10');

    expect(run.state).toBe('succeeded');
    const result = planTask.result as PlanResult;
    expect(result).toMatchObject({ fallback: false, repaired: false, calls: 1, reason: null });
    expect(result.spawned.map((s) => s.key)).toEqual(['multiply', 'check']);
    expect(tasks.map((t) => t.key).sort()).toEqual(['check', 'multiply', 'plan']);
    const check = tasks.find((t) => t.key === 'check')!;
    expect(check.type).toBe('llm');
    expect(check.dependsOn).toEqual([{ key: 'multiply', soft: false }]);

    // The planner saw the goal and the live agent's capabilities.
    const [first] = plannerRequests();
    expect(first).toContain('Calculate factorial of 10');
    expect(first).toContain('planner-agent: math');
    // The dependent task's prompt carried its dependency's result.
    const checkPrompt = server.requests
      .map((r) => promptOf(r.body))
      .find((p) => p.includes('Check the product.'));
    expect(checkPrompt).toContain("Result of 'multiply':\n3628800");

    // The run's result: its sink ('check'), not the plan task.
    expect(runResult(tasks)).toEqual({ from: 'sinks', results: { check: '3628800' } });

    // The planner's call is in the ledger against the plan task, and streamed into its log.
    const usage = await baton.usage(planTask.id);
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ inputTokens: 300, outputTokens: 120 });
    const log = await logText(baton, planTask.id);
    expect(log).toContain('"key":"multiply"');
    expect(log).toContain('planned 2 tasks: multiply, check');
  });

  it('repairs a plan with a cycle: the repair call sees the errors, and its plan runs', async () => {
    script([
      planAnswer([draft('a', { dependsOn: ['b'] }), draft('b', { dependsOn: ['a'] })]),
      planAnswer([draft('a'), draft('b', { dependsOn: ['a'] })]),
    ]);
    const baton = await startAgents();
    const { run, tasks, planTask } = await plan(baton, 'Do a then b, in that order please');

    expect(run.state).toBe('succeeded');
    expect(planTask.result).toMatchObject({ fallback: false, repaired: true, calls: 2 });
    const [, repair] = plannerRequests();
    expect(repair).toMatch(/cycle/i);
    expect(repair).toContain('Your previous answer was');
    expect(tasks.filter((t) => t.type === 'llm').map((t) => t.key)).toEqual(['a', 'b']);
    expect((await baton.usage(planTask.id)).length).toBe(2);
    expect(await logText(baton, planTask.id)).toMatch(/cannot be run: .*cycle/i);
  });

  it('repairs a plan with an unknown dependency', async () => {
    script([
      planAnswer([draft('a'), draft('b', { dependsOn: ['nope'] })]),
      planAnswer([draft('a'), draft('b', { dependsOn: ['a'] })]),
    ]);
    const baton = await startAgents();
    const { planTask } = await plan(baton, 'Do a then b, in that order please');
    expect(planTask.result).toMatchObject({ repaired: true, fallback: false });
    const [, repair] = plannerRequests();
    expect(repair).toContain("task 'b'");
    expect(repair).toContain('nope');
  });

  it('falls back to one task carrying the whole goal after prose twice, and records it', async () => {
    script(
      [
        { text: 'Sure! First, multiply the numbers.' },
        { text: 'I think you should just compute it.' },
      ],
      '3628800',
    );
    const baton = await startAgents();
    const goal = 'Calculate factorial of 10';
    const { run, tasks, planTask } = await plan(baton, goal);

    expect(run.state).toBe('succeeded');
    const result = planTask.result as PlanResult;
    expect(result.fallback).toBe(true);
    expect(result.calls).toBe(2);
    expect(result.reason).toMatch(/not JSON/);
    const spawned = tasks.filter((t) => t.type === 'llm');
    expect(spawned).toHaveLength(1);
    expect(spawned[0]).toMatchObject({ key: 'goal', requires: [] });
    expect((spawned[0]!.payload as { goal: string }).goal).toBe(goal);
    expect(runResult(tasks)?.results).toEqual({ goal: '3628800' });
    expect(await logText(baton, planTask.id)).toContain(
      'falling back to a single task carrying the whole goal',
    );
  });

  it("limits requires to the live agents' capabilities: a task requiring one no agent has is repaired", async () => {
    script([
      planAnswer([draft('train', { requires: ['gpu'] })]),
      planAnswer([draft('train', { requires: ['python'] })]),
    ]);
    const baton = await startAgents(['python', 'shell']);
    const { run, tasks, planTask } = await plan(baton, 'Train a tiny model on the data');
    expect(run.state).toBe('succeeded');
    expect(planTask.result).toMatchObject({ repaired: true });
    const [first, repair] = plannerRequests();
    expect(first).toContain('planner-agent: python, shell');
    expect(repair).toContain("task 'train': requires [gpu], which no live agent has all of");
    expect(repair).toContain('python, shell');
    expect(tasks.find((t) => t.key === 'train')?.requires).toEqual(['python']);
  });

  it('an attempt after one that spawned the plan answers with that plan, without planning again', async () => {
    script([planAnswer([draft('a'), draft('b', { dependsOn: ['a'] })])]);
    const baton = await h.baton();
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: server.url };
    const llm = cliLlmHandler(env);
    const inner = planHandler({ llm, store: baton, model: MODEL });
    const worker = await h.startWorker(baton, {
      handlers: {
        llm,
        // The first attempt spawns its plan, then fails as one whose lease was lost would.
        plan: async (ctx) => {
          const result = await inner(ctx);
          if (ctx.attempt === 1) throw new Error('lost after spawning');
          return result;
        },
      },
    });
    stops.push(() => worker.stop());
    const submitted = await baton.submitRun({
      tasks: [
        {
          key: 'plan',
          type: 'plan',
          payload: { goal: 'Do a then b, in that order please' },
          backoff: { baseMs: 10, maxMs: 10, jitter: 'none' },
        },
      ],
    });
    const run = (await baton.wait(submitted.runId, { timeoutMs: 20_000 })) as RunRecord;
    expect(run.state).toBe('succeeded');
    const tasks = (await baton.tasks({ runId: submitted.runId })).tasks;
    expect(tasks.map((t) => t.key).sort()).toEqual(['a', 'b', 'plan']);
    const planTask = tasks.find((t) => t.key === 'plan')!;
    expect(planTask.attempts).toBe(2);
    expect(planTask.result).toMatchObject({ calls: 0, spawned: [{ key: 'a' }, { key: 'b' }] });
    expect(plannerRequests()).toHaveLength(1);
  });

  it('plans for the agents the goal names only, and fails at once naming one that is not live', async () => {
    script([planAnswer([draft('only')])]);
    const baton = await startAgents(['python']);
    await baton.backend.registerAgent({
      id: 'agt_gpu',
      name: 'gpu-box',
      capabilities: ['gpu'],
      concurrency: 1,
    });
    const named = await baton.submitRun({
      tasks: [
        {
          key: 'plan',
          type: 'plan',
          payload: { goal: 'Calculate factorial of 10', agents: ['planner-agent'] },
        },
      ],
    });
    await baton.wait(named.runId, { timeoutMs: 20_000 });
    const [first] = plannerRequests();
    expect(first).toContain('planner-agent: python');
    expect(first).not.toContain('gpu-box');

    const ghost = await baton.submitRun({
      tasks: [
        {
          key: 'plan',
          type: 'plan',
          payload: { goal: 'Calculate factorial of 10', agents: ['ghost'] },
          maxAttempts: 3,
        },
      ],
    });
    const run = (await baton.wait(ghost.runId, { timeoutMs: 20_000 })) as RunRecord;
    expect(run.state).toBe('failed');
    const planTask = (await baton.tasks({ runId: ghost.runId })).tasks[0]!;
    expect(planTask.attempts).toBe(1);
    expect(planTask.error?.message).toContain(
      "the goal names agent 'ghost', which is not live; live agents:",
    );
    expect(plannerRequests()).toHaveLength(1);
  });

  it('a dry run plans without spawning', async () => {
    script([planAnswer([draft('only')])]);
    const baton = await startAgents();
    const { tasks, planTask } = await plan(baton, 'Plan it but do not run it', { dryRun: true });
    expect(tasks).toHaveLength(1);
    const result = planTask.result as PlanResult;
    expect(result.spawned).toEqual([]);
    expect(result.tasks).toHaveLength(1);
  });

  it("holds the planner's call under the run's budget", async () => {
    script([planAnswer([draft('only')])]);
    const baton = await startAgents();
    const { run, tasks, planTask } = await plan(baton, 'Calculate factorial of 10', {
      budget: { usd: 0.000001 },
    });
    expect(run.state).toBe('failed');
    expect(planTask.error?.code).toBe('BATON_BUDGET_EXCEEDED');
    expect(tasks).toHaveLength(1);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a plan task with a bad goal before anything is stored', async () => {
    const baton = await h.baton();
    await expect(
      baton.submitRun({ tasks: [{ type: 'plan', payload: { goal: 'short' } }] }),
    ).rejects.toThrow(/tasks\[0\]\.payload\.goal: is 5 characters long; a goal needs at least 10/);
    expect((await baton.runs()).runs).toHaveLength(0);
  });
});
