import { describe, expect, it } from 'vitest';
import type { SuiteEnv } from '../context.ts';
import {
  claim,
  claimExpecting,
  expectNothingClaimable,
  idOf,
  readAllEvents,
  registerAgent,
  typesOf,
} from '../helpers.ts';

export function concurrencyCases(env: SuiteEnv): void {
  describe('concurrency', () => {
    it('parallel claims never lease a task twice', async () => {
      const { b } = env.ctx();
      const submitted = await b.submitTasks(
        Array.from({ length: 20 }, (_, i) => ({ type: 'x', payload: i })),
      );
      const agents = await Promise.all(Array.from({ length: 8 }, () => registerAgent(b)));
      const rounds = await Promise.all(agents.map((agent) => claim(b, agent, 3)));
      const leased = rounds.flat().map((l) => l.taskId);
      expect(leased.length, 'no task leased twice').toBe(new Set(leased).size);
      expect(leased.length, '8 agents × 3 slots cover all 20 tasks').toBe(20);
      expect([...leased].sort()).toEqual(submitted.map((t) => t.id).sort());
    });

    it('completing the dependencies of a join in parallel releases the join exactly once', async () => {
      const { b } = env.ctx();
      const agent = await registerAgent(b);
      const deps = Array.from({ length: 10 }, (_, i) => `d${i}`);
      const run = await b.submitRun({
        tasks: [
          ...deps.map((key) => ({ type: 'x', key })),
          { type: 'join', key: 'join', dependsOn: deps },
        ],
      });
      const leases = await claim(b, agent, 10);
      expect(leases, 'the ten dependencies are ready').toHaveLength(10);
      const outcomes = await Promise.all(
        leases.map((l) =>
          b.complete([
            { taskId: l.taskId, token: l.token, agentId: l.agentId, result: l.task.key },
          ]),
        ),
      );
      expect(
        outcomes.flat().map((o) => o.status),
        'every complete is accepted',
      ).toEqual(Array(10).fill('ok'));
      const join = await claimExpecting(b, agent, idOf(run.tasks, 'join'), 'the join');
      expect(Object.keys(join.dependencies).sort(), 'the join sees all ten results').toEqual(
        [...deps].sort(),
      );
      await expectNothingClaimable(b, agent, 'the join was handed out once');
      const claims = typesOf(await readAllEvents(b), join.taskId).filter(
        (t) => t === 'task.claimed',
      );
      expect(claims, 'one claim of the join').toHaveLength(1);
    });

    it('concurrent submits with one idempotency key store one task', async () => {
      const { b } = env.ctx();
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => b.submitTasks([{ type: 'x', idempotencyKey: 'racy' }])),
      );
      const ids = new Set(answers.flat().map((t) => t.id));
      expect(ids.size, 'every submit answers the same task').toBe(1);
      expect(
        answers.flat().filter((t) => !t.existing),
        'exactly one submit created it',
      ).toHaveLength(1);
      expect((await b.listTasks()).tasks).toHaveLength(1);
    });
  });
}
