/**
 * Input is checked once, above the backend seam: every method refuses a malformed argument
 * with the same `ValidationError` (code `BATON_VALIDATION`, the same path and message) on every
 * backend, before anything reaches the store, so nothing changes. The paths and messages are
 * written out here, and every backend runs this file, so a backend that checked on its own (or
 * not at all: a Redis claim once read `capabilities: 'gpu'` as g, p and u) fails it.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backends/backend.ts';
import type { ValidationError } from '../../../src/core/errors.ts';
import { TASK_STATES, type AgentRecord, type Lease } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import { LEASE_TTL_MS, expectBatonError, mustClaim, registerAgent, submitOne } from '../helpers.ts';

/** What a call may have touched: the tasks, the agents, the event stream. */
async function snapshot(b: Backend) {
  return {
    tasks: (await b.listTasks()).tasks.map((t) => [
      t.id,
      t.state,
      t.attempts,
      t.agentId,
      t.leaseExpiresAt,
      t.result,
      t.error,
    ]),
    agents: (await b.listAgents()).map((a) => [
      a.id,
      a.state,
      a.name,
      a.capabilities,
      a.lastHeartbeatAt,
      a.health,
      a.process,
    ]),
    runs: (await b.listRuns()).runs.map((r) => [r.id, r.state]),
    lastEventId: await b.lastEventId(),
  };
}

interface Fixture {
  b: Backend;
  agent: AgentRecord;
  lease: Lease;
  runId: string;
}

/** Bypasses the type checker: these are the wrong types a caller from plain JavaScript sends. */
const as = <T>(value: unknown): T => value as T;

const ID_LIMIT = 'a non-empty string of at most 200 characters';
const long = (n: number): string => 'x'.repeat(n);

/** Each malformed call, and the one issue every backend must answer it with. */
const CASES: {
  name: string;
  call: (f: Fixture) => Promise<unknown>;
  path: string | ((f: Fixture) => string);
  message: string;
}[] = [
  {
    name: 'claim with capabilities as a string',
    call: ({ b, agent }) =>
      b.claim({ agentId: agent.id, capabilities: as('gpu'), max: 5, leaseTtlMs: LEASE_TTL_MS }),
    path: 'claim.capabilities',
    message: "must be an array of capability names (use [] for none); got the string 'gpu'",
  },
  {
    name: 'claim with an empty capability',
    call: ({ b, agent }) =>
      b.claim({ agentId: agent.id, capabilities: ['gpu', ''], max: 5, leaseTtlMs: LEASE_TTL_MS }),
    path: 'claim.capabilities[1]',
    message: `must be a capability name: ${ID_LIMIT}; got the string ''`,
  },
  {
    name: 'claim of a negative number of tasks',
    call: ({ b, agent }) =>
      b.claim({ agentId: agent.id, capabilities: [], max: -1, leaseTtlMs: LEASE_TTL_MS }),
    path: 'claim.max',
    message: 'must be an integer from 0 to 10000; got the number -1',
  },
  {
    name: 'claim with a lease length as a string',
    call: ({ b, agent }) =>
      b.claim({ agentId: agent.id, capabilities: [], max: 1, leaseTtlMs: as('30000') }),
    path: 'claim.leaseTtlMs',
    message: "must be an integer from 1 to 2147483647; got the string '30000'",
  },
  {
    name: 'claim for an oversized agent id',
    call: ({ b }) =>
      b.claim({ agentId: long(201), capabilities: [], max: 1, leaseTtlMs: LEASE_TTL_MS }),
    path: 'claim.agentId',
    message: `must be the id of the claiming agent: ${ID_LIMIT}; got 201 characters`,
  },
  {
    name: 'claim with types as a string',
    call: ({ b, agent }) =>
      b.claim({
        agentId: agent.id,
        capabilities: [],
        types: as('x'),
        max: 1,
        leaseTtlMs: LEASE_TTL_MS,
      }),
    path: 'claim.types',
    message: "must be an array of task type names (or absent for any type); got the string 'x'",
  },
  {
    name: 'waitForWork with capabilities as a string',
    call: ({ b }) => b.waitForWork({ capabilities: as('gpu'), timeoutMs: 10 }),
    path: 'waitForWork.capabilities',
    message: "must be an array of capability names (use [] for none); got the string 'gpu'",
  },
  {
    name: 'waitForWork for a negative time',
    call: ({ b }) => b.waitForWork({ capabilities: [], timeoutMs: -1 }),
    path: 'waitForWork.timeoutMs',
    message: 'must be a number of ms from 0 to 2147483647; got the number -1',
  },
  {
    name: 'renew with leases as a string',
    call: ({ b, agent }) => b.renew(agent.id, as('x'), LEASE_TTL_MS),
    path: 'renew.leases',
    message: "must be an array of { taskId, token }; got the string 'x'",
  },
  {
    name: 'renew with a negative token',
    call: ({ b, agent, lease }) =>
      b.renew(agent.id, [{ taskId: lease.taskId, token: -1 }], LEASE_TTL_MS),
    path: 'renew.leases[0].token',
    message: 'must be an integer from 0 to 9007199254740991; got the number -1',
  },
  {
    name: 'renew for no time at all',
    call: ({ b, agent, lease }) => b.renew(agent.id, [lease], 0),
    path: 'renew.leaseTtlMs',
    message: 'must be an integer from 1 to 2147483647; got the number 0',
  },
  {
    name: 'renew with a negative CPU report',
    call: ({ b, agent, lease }) =>
      b.renew(agent.id, [lease], LEASE_TTL_MS, { cpuPercent: -1, rssBytes: null }),
    path: 'renew.report.cpuPercent',
    message: 'must be a number >= 0 or null; got -1',
  },
  {
    name: 'complete with items as a string',
    call: ({ b }) => b.complete(as('x')),
    path: 'complete',
    message:
      "must be an array of { taskId, token, agentId, result, runMs?, logs? }; got the string 'x'",
  },
  {
    name: 'complete without the holder',
    call: ({ b, lease }) =>
      b.complete([as({ taskId: lease.taskId, token: lease.token, result: 1 })]),
    path: 'complete[0].agentId',
    message: `must be the id of the agent that holds the lease: ${ID_LIMIT}; got undefined`,
  },
  {
    name: 'complete with a token as a string',
    call: ({ b, lease }) =>
      b.complete([{ taskId: lease.taskId, token: as('1'), agentId: lease.agentId, result: 1 }]),
    path: 'complete[0].token',
    message: "must be an integer from 0 to 9007199254740991; got the string '1'",
  },
  {
    name: 'complete with a result JSON cannot hold',
    call: ({ b, lease }) =>
      b.complete([
        { taskId: lease.taskId, token: lease.token, agentId: lease.agentId, result: { n: NaN } },
      ]),
    path: ({ lease }) => `result of task ${lease.taskId}.n`,
    message: 'is NaN, which JSON cannot represent',
  },
  {
    name: 'fail with an error as a string',
    call: ({ b, lease }) =>
      b.fail([
        { taskId: lease.taskId, token: lease.token, agentId: lease.agentId, error: as('boom') },
      ]),
    path: 'fail[0].error',
    message:
      "must be an object { message, code?, name?, retryable?, stack? }; got the string 'boom'",
  },
  {
    name: 'fail with a negative retry delay',
    call: ({ b, lease }) =>
      b.fail([
        {
          taskId: lease.taskId,
          token: lease.token,
          agentId: lease.agentId,
          error: { message: 'x' },
          retryDelayMs: -5,
        },
      ]),
    path: 'fail[0].retryDelayMs',
    message: 'must be an integer from 0 to 31536000000; got the number -5',
  },
  {
    name: 'fail with retryable as a string',
    call: ({ b, lease }) =>
      b.fail([
        {
          taskId: lease.taskId,
          token: lease.token,
          agentId: lease.agentId,
          error: { message: 'x' },
          retryable: as('no'),
        },
      ]),
    path: 'fail[0].retryable',
    message: "must be true, false or absent; got the string 'no'",
  },
  {
    name: 'fail with an unknown outcome',
    call: ({ b, lease }) =>
      b.fail([
        {
          taskId: lease.taskId,
          token: lease.token,
          agentId: lease.agentId,
          error: { message: 'x' },
          outcome: as('lost'),
        },
      ]),
    path: 'fail[0].outcome',
    message: "must be 'failed', 'timed_out' or absent; got the string 'lost'",
  },
  {
    name: 'release with a holder that is a number',
    call: ({ b, lease }) =>
      b.release([{ taskId: lease.taskId, token: lease.token, agentId: as(42) }]),
    path: 'release[0].agentId',
    message: `must be the id of the agent that holds the lease: ${ID_LIMIT}; got the number 42`,
  },
  {
    name: 'registerAgent with capabilities as a string',
    call: ({ b }) => b.registerAgent({ capabilities: as('gpu'), concurrency: 1 }),
    path: 'agent.capabilities',
    message: "must be an array of capability names (use [] for none); got the string 'gpu'",
  },
  {
    name: 'registerAgent with an oversized name',
    call: ({ b }) => b.registerAgent({ name: long(1001), capabilities: [], concurrency: 1 }),
    path: 'agent.name',
    message: 'must be a name: a non-empty string of at most 1000 characters; got 1001 characters',
  },
  {
    name: 'registerAgent with a label that is a number',
    call: ({ b }) => b.registerAgent({ capabilities: [], concurrency: 1, labels: as({ zone: 5 }) }),
    path: 'agent.labels.zone',
    message: 'must be a string of at most 200 characters; got the number 5',
  },
  {
    name: 'registerAgent with no slots',
    call: ({ b }) => b.registerAgent({ capabilities: [], concurrency: 0 }),
    path: 'agent.concurrency',
    message: 'must be an integer from 1 to 10000; got the number 0',
  },
  {
    name: 'heartbeat of an agent id that is a number',
    call: ({ b }) => b.heartbeat(as(7)),
    path: 'heartbeat.agentId',
    message: `must be the id of an agent: ${ID_LIMIT}; got the number 7`,
  },
  {
    name: 'heartbeat with a negative RSS',
    call: ({ b, agent }) => b.heartbeat(agent.id, { cpuPercent: 1, rssBytes: -1 }),
    path: 'heartbeat.report.rssBytes',
    message: 'must be an integer >= 0 or null; got -1',
  },
  {
    name: 'deregisterAgent of an empty id',
    call: ({ b }) => b.deregisterAgent(''),
    path: 'deregisterAgent.agentId',
    message: `must be the id of an agent: ${ID_LIMIT}; got the string ''`,
  },
  {
    name: 'sweep with a negative agent TTL',
    call: ({ b }) => b.sweep({ agentTtlMs: -1 }),
    path: 'sweep.agentTtlMs',
    message: 'must be an integer >= 0; got -1',
  },
  {
    name: 'listTasks of an unknown state',
    call: ({ b }) => b.listTasks({ state: as('bogus') }),
    path: 'listTasks.state',
    message: `the string 'bogus' is not a task state; use one of ${TASK_STATES.join(', ')}`,
  },
  {
    name: 'listTasks of a run id that is a number',
    call: ({ b }) => b.listTasks({ runId: as(5) }),
    path: 'listTasks.runId',
    message: `must be the id of a run: ${ID_LIMIT}; got the number 5`,
  },
  {
    name: 'listTasks from a cursor no backend gave out',
    call: ({ b }) => b.listTasks({ cursor: 'abc' }),
    path: 'listTasks.cursor',
    message:
      "the string 'abc' is not a cursor this backend gave out; pass the value from the previous page (or the id of the last event seen)",
  },
  {
    name: 'listTasks of an empty page',
    call: ({ b }) => b.listTasks({ limit: 0 }),
    path: 'listTasks.limit',
    message: 'must be an integer from 1 to 10000; got the number 0',
  },
  {
    name: 'listRuns in an unknown order',
    call: ({ b }) => b.listRuns({ order: as('up') }),
    path: 'listRuns.order',
    message: "must be 'asc' (oldest first) or 'desc' (newest first); got the string 'up'",
  },
  {
    name: 'readEvents since an id no backend gave out',
    call: ({ b }) => b.readEvents({ since: 'nope' }),
    path: 'readEvents.since',
    message:
      "the string 'nope' is not a cursor this backend gave out; pass the value from the previous page (or the id of the last event seen)",
  },
  {
    name: 'readEvents waiting a negative time',
    call: ({ b }) => b.readEvents({ blockMs: -1 }),
    path: 'readEvents.blockMs',
    message: 'must be a number of ms from 0 to 2147483647; got the number -1',
  },
  {
    name: 'recordEvent with data as an array',
    call: ({ b }) => b.recordEvent({ type: 'pool.scaled_up', data: as([1]) }),
    path: 'event.data',
    message: 'must be a JSON object',
  },
  {
    name: 'getTask of an id that is a number',
    call: ({ b }) => b.getTask(as(42)),
    path: 'getTask.taskId',
    message: `must be the id of a task: ${ID_LIMIT}; got the number 42`,
  },
  {
    name: 'getAttempts of an empty id',
    call: ({ b }) => b.getAttempts(''),
    path: 'getAttempts.taskId',
    message: `must be the id of a task: ${ID_LIMIT}; got the string ''`,
  },
  {
    name: 'getRun of null',
    call: ({ b }) => b.getRun(as(null)),
    path: 'getRun.runId',
    message: `must be the id of a run: ${ID_LIMIT}; got null`,
  },
  {
    name: 'cancelTask with a reason that is a number',
    call: ({ b, lease }) => b.cancelTask(lease.taskId, as(5)),
    path: 'cancelTask.reason',
    message: 'must be a string or absent; got the number 5',
  },
  {
    name: 'cancelRun with a reason that is an object',
    call: ({ b, runId }) => b.cancelRun(runId, as({})),
    path: 'cancelRun.reason',
    message: 'must be a string or absent; got an object',
  },
  {
    name: 'retryTask with a reason that is a number',
    call: ({ b, lease }) => b.retryTask(lease.taskId, { reason: as(5) }),
    path: 'retryTask.reason',
    message: 'must be a string or absent; got the number 5',
  },
  {
    name: 'submitTasks to a run id that is a number',
    call: ({ b }) => b.submitTasks([{ type: 'x' }], { runId: as(5) }),
    path: 'submitTasks.runId',
    message: `must be the id of a run: ${ID_LIMIT}; got the number 5`,
  },
];

export function validationCases(env: SuiteEnv): void {
  describe('input is checked above the seam, the same for every backend', () => {
    /**
     * An agent with the capabilities g, p and u holding a lease, a task only it could take
     * (requires g, p, u: what `capabilities: 'gpu'` once became), and a running run.
     */
    async function setup(): Promise<Fixture> {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b, ['g', 'p', 'u']);
      await submitOne(b, { type: 'held' });
      const lease = await mustClaim(b, agent, 'the task to hold');
      await submitOne(b, { type: 'letters', requires: ['g', 'p', 'u'] });
      const { runId } = await b.submitRun({
        tasks: [{ key: 'r', type: 'in-run', requires: ['z'] }],
      });
      // Any write a refused call made would carry a later time than the snapshot's.
      clock.advance(1_000);
      return { b, agent, lease, runId };
    }

    for (const c of CASES) {
      it(`${c.name}: refused with one issue, nothing changes`, async () => {
        const fixture = await setup();
        const before = await snapshot(fixture.b);
        const error = await expectBatonError<ValidationError>(
          c.call(fixture),
          'ValidationError',
          'BATON_VALIDATION',
          c.name,
        );
        const path = typeof c.path === 'function' ? c.path(fixture) : c.path;
        expect(error.issues, `${c.name}: the issue, worded as on every backend`).toEqual([
          { path, message: c.message },
        ]);
        expect(error.message).toBe(`${path}: ${c.message}`);
        expect(await snapshot(fixture.b), `${c.name}: nothing changed`).toEqual(before);
      });
    }

    it('an oversized result is refused as too large, and nothing changes', async () => {
      const fixture = await setup();
      const { b, lease } = fixture;
      const before = await snapshot(b);
      await expectBatonError(
        b.complete([
          {
            taskId: lease.taskId,
            token: lease.token,
            agentId: lease.agentId,
            result: long(2 * 1024 * 1024),
          },
        ]),
        'PayloadTooLargeError',
        'BATON_PAYLOAD_TOO_LARGE',
        'complete with a 2 MiB result',
      );
      expect(await snapshot(b)).toEqual(before);
    });
  });
}
