import { describe, expect, it } from 'vitest';
import type { CycleError, ValidationError } from '../../../src/core/errors.ts';
import type { TaskSpec } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  expectBatonError,
  expectStoreEmpty,
  getTask,
  idOf,
  readAllEvents,
  submitOne,
  typesOf,
} from '../helpers.ts';

/** A field a type does not allow, to reach the backend's validation past the compiler. */
const malformed = (spec: Record<string, unknown>): TaskSpec => spec as unknown as TaskSpec;

export function submitCases(env: SuiteEnv): void {
  describe('submit', () => {
    it('stores a standalone task as ready, with every default applied and times from the clock', async () => {
      const { b, clock } = env.ctx();
      const [submitted] = await b.submitTasks([{ type: 'echo' }]);
      expect(submitted, 'submitTasks answers one entry per task').toMatchObject({
        key: null,
        existing: false,
        state: 'ready',
      });
      const task = await getTask(b, submitted!.id);
      expect(task, 'a stored task carries the documented defaults').toMatchObject({
        id: submitted!.id,
        runId: null,
        type: 'echo',
        payload: null,
        key: null,
        title: null,
        epic: null,
        requires: [],
        priority: 3,
        maxAttempts: 3,
        timeoutMs: null,
        idempotencyKey: null,
        runAfter: null,
        dependsOn: [],
        criticalPath: 1,
        state: 'ready',
        attempts: 0,
        agentId: null,
        leaseExpiresAt: null,
        result: null,
        error: null,
        startedAt: null,
        finishedAt: null,
      });
      expect(task.backoff, 'default backoff policy').toEqual({
        baseMs: 1000,
        maxMs: 60000,
        factor: 2,
        jitter: 'equal',
      });
      expect(task.createdAt, 'createdAt must come from the injected clock').toBe(clock.now());
      expect(task.updatedAt, 'updatedAt must come from the injected clock').toBe(clock.now());
    });

    it('keeps every given field and round-trips the payload as JSON', async () => {
      const { b } = env.ctx();
      const payload = {
        text: 'héllo ✓',
        n: 1.5,
        list: [1, null, true, { deep: ['x'] }],
        empty: {},
      };
      const { id } = await submitOne(b, {
        type: 'summarise',
        payload,
        title: 'Summarise',
        epic: 'docs',
        requires: ['gpu', 'python'],
        priority: 1,
        maxAttempts: 5,
        timeoutMs: 30_000,
        backoff: { baseMs: 250, jitter: 'none' },
      });
      const task = await getTask(b, id);
      expect(task.payload, 'payload must round-trip unchanged').toEqual(payload);
      expect(task).toMatchObject({
        type: 'summarise',
        title: 'Summarise',
        epic: 'docs',
        priority: 1,
        maxAttempts: 5,
        timeoutMs: 30_000,
      });
      expect([...task.requires].sort(), 'requires').toEqual(['gpu', 'python']);
      expect(task.backoff, 'a partial backoff is completed with the defaults').toEqual({
        baseMs: 250,
        maxMs: 60000,
        factor: 2,
        jitter: 'none',
      });
    });

    it('maps priority names critical|high|medium|low to 1..4', async () => {
      const { b } = env.ctx();
      const names = ['critical', 'high', 'medium', 'low'] as const;
      const submitted = await b.submitTasks(names.map((priority) => ({ type: 'p', priority })));
      const priorities = await Promise.all(
        submitted.map(async (t) => (await getTask(b, t.id)).priority),
      );
      expect(priorities, 'priority numbers for critical, high, medium, low').toEqual([1, 2, 3, 4]);
    });

    it('answers one entry per task, in the order given', async () => {
      const { b } = env.ctx();
      const submitted = await b.submitTasks([
        { type: 'a', payload: 0 },
        { type: 'b', payload: 1 },
        { type: 'c', payload: 2 },
      ]);
      expect(submitted).toHaveLength(3);
      const types = await Promise.all(submitted.map(async (t) => (await getTask(b, t.id)).type));
      expect(types, 'submitTasks answers in the order of its input').toEqual(['a', 'b', 'c']);
      expect(new Set(submitted.map((t) => t.id)).size, 'every task gets its own id').toBe(3);
    });

    it('stores a task with runAfter in the future as delayed', async () => {
      const { b, clock } = env.ctx();
      const task = await submitOne(b, { type: 'later', runAfter: clock.now() + 60_000 });
      expect(task.state, 'a task with runAfter in the future is delayed').toBe('delayed');
      expect((await getTask(b, task.id)).runAfter).toBe(clock.now() + 60_000);
    });

    it('stores a run atomically: tasks with keys, normalised dependencies, blocked dependents', async () => {
      const { b, clock } = env.ctx();
      const run = await b.submitRun({
        name: 'build',
        tasks: [
          { type: 'step', key: 'a' },
          { type: 'step', key: 'b', dependsOn: ['a'] },
          { type: 'step', key: 'c', dependsOn: [{ key: 'a', soft: true }, 'b'] },
        ],
      });
      expect(
        run.tasks.map((t) => [t.key, t.state]),
        'submitRun answers each task in order with its state',
      ).toEqual([
        ['a', 'ready'],
        ['b', 'blocked'],
        ['c', 'blocked'],
      ]);
      const a = await getTask(b, idOf(run.tasks, 'a'));
      const c = await getTask(b, idOf(run.tasks, 'c'));
      expect(a.runId, 'tasks of a run carry its id').toBe(run.runId);
      expect(a.criticalPath, 'a → b → c: a heads a path of 3').toBe(3);
      expect(c.criticalPath).toBe(1);
      expect(c.dependsOn, 'dependsOn is normalised to { key, soft }').toEqual([
        { key: 'a', soft: true },
        { key: 'b', soft: false },
      ]);

      const record = await b.getRun(run.runId);
      expect(record, 'getRun finds the submitted run').not.toBeNull();
      expect(record).toMatchObject({
        id: run.runId,
        name: 'build',
        state: 'running',
        finishedAt: null,
      });
      expect(record!.createdAt, 'run createdAt comes from the clock').toBe(clock.now());
      expect(record!.progress.total).toBe(3);
      expect(record!.progress.byState).toMatchObject({ ready: 1, blocked: 2 });
      expect(record!.progress.done).toBe(0);
    });

    it("names a run 'run' when no name is given", async () => {
      const { b } = env.ctx();
      const run = await b.submitRun({ tasks: [{ type: 'x', key: 'x' }] });
      expect((await b.getRun(run.runId))?.name).toBe('run');
    });

    it('writes run.submitted and task.submitted events for a run', async () => {
      const { b } = env.ctx();
      const run = await b.submitRun({
        tasks: [
          { type: 'x', key: 'x' },
          { type: 'y', key: 'y', dependsOn: ['x'] },
        ],
      });
      const events = await readAllEvents(b);
      expect(
        events.filter((e) => e.type === 'run.submitted').map((e) => e.runId),
        'one run.submitted event naming the run',
      ).toEqual([run.runId]);
      for (const t of run.tasks) {
        expect(typesOf(events, t.id), `task ${t.key} has a task.submitted event`).toContain(
          'task.submitted',
        );
        const submitted = events.find((e) => e.taskId === t.id && e.type === 'task.submitted');
        expect(submitted?.runId, 'task events carry the run id').toBe(run.runId);
      }
    });

    describe('idempotency keys', () => {
      it('returns the same task with existing: true for the same key, and stores it once', async () => {
        const { b } = env.ctx();
        const first = await submitOne(b, { type: 'email', idempotencyKey: 'order-42', payload: 1 });
        const second = await submitOne(b, {
          type: 'email',
          idempotencyKey: 'order-42',
          payload: 2,
        });
        expect(first.existing, 'the first submit creates the task').toBe(false);
        expect(second.id, 'the same idempotencyKey must yield the same task id').toBe(first.id);
        expect(second.existing, 'the second submit must say the task already existed').toBe(true);
        const { tasks } = await b.listTasks();
        expect(
          tasks.map((t) => t.id),
          'only one task is stored',
        ).toEqual([first.id]);
        expect(tasks[0]?.payload, 'the existing task is not overwritten').toBe(1);
        const events = await readAllEvents(b);
        expect(
          typesOf(events, first.id).filter((t) => t === 'task.submitted'),
          'one task.submitted event only',
        ).toHaveLength(1);
      });

      it('gives different keys different tasks', async () => {
        const { b } = env.ctx();
        const a = await submitOne(b, { type: 'email', idempotencyKey: 'k1' });
        const c = await submitOne(b, { type: 'email', idempotencyKey: 'k2' });
        expect(a.id).not.toBe(c.id);
        expect(c.existing).toBe(false);
      });

      it('mixes existing and new tasks in one batch', async () => {
        const { b } = env.ctx();
        const first = await submitOne(b, { type: 'x', idempotencyKey: 'same' });
        const batch = await b.submitTasks([
          { type: 'x', idempotencyKey: 'same' },
          { type: 'x', idempotencyKey: 'new' },
        ]);
        expect(
          batch.map((t) => t.existing),
          'existing flags per task',
        ).toEqual([true, false]);
        expect(batch[0]?.id).toBe(first.id);
        expect((await b.listTasks()).tasks, 'two tasks in total').toHaveLength(2);
      });
    });

    describe('an invalid submission stores nothing', () => {
      it('a cycle throws CycleError with the cycle path', async () => {
        const { b } = env.ctx();
        const error = await expectBatonError<CycleError>(
          b.submitRun({
            tasks: [
              { type: 'x', key: 'ok' },
              { type: 'x', key: 'a', dependsOn: ['ok', 'c'] },
              { type: 'x', key: 'b', dependsOn: ['a'] },
              { type: 'x', key: 'c', dependsOn: ['b'] },
            ],
          }),
          'CycleError',
          'BATON_CYCLE',
          'submitting a run with a → c → b → a',
        );
        expect(error.cycle, 'the cycle path repeats its first key at the end').toHaveLength(4);
        expect(error.cycle[0], 'the cycle path is closed').toBe(error.cycle[3]);
        expect([...new Set(error.cycle)].sort(), 'the cycle names exactly the keys on it').toEqual([
          'a',
          'b',
          'c',
        ]);
        await expectStoreEmpty(b, 'the run had a cycle');
      });

      it('an unknown dependency throws ValidationError pointing at the dependsOn entry', async () => {
        const { b } = env.ctx();
        const error = await expectBatonError<ValidationError>(
          b.submitRun({
            tasks: [
              { type: 'x', key: 'a' },
              { type: 'x', key: 'b', dependsOn: ['a', 'ghost'] },
            ],
          }),
          'ValidationError',
          'BATON_VALIDATION',
          'submitting a run whose task depends on an unknown key',
        );
        expect(
          error.issues.map((i) => i.path),
          'an issue path names the task and its dependsOn (e.g. tasks[1].dependsOn[1])',
        ).toContainEqual(expect.stringMatching(/tasks\[1\]\.dependsOn/));
        await expectStoreEmpty(b, 'a dependency was unknown');
      });

      it('a malformed field throws ValidationError with the path of the field', async () => {
        const { b } = env.ctx();
        const error = await expectBatonError<ValidationError>(
          b.submitRun({
            tasks: [
              { type: 'x', key: 'a' },
              { type: 'x', key: 'b' },
              { type: 'x', key: 'c', maxAttempts: 0 },
            ],
          }),
          'ValidationError',
          'BATON_VALIDATION',
          'submitting a task with maxAttempts: 0',
        );
        expect(
          error.issues.map((i) => i.path),
          'issue path of the bad field',
        ).toContainEqual(expect.stringMatching(/tasks\[2\]\.maxAttempts/));
        expect(
          error.issues.every((i) => i.message.length > 0),
          'every issue says what is wrong',
        ).toBe(true);
        await expectStoreEmpty(b, 'a field was malformed');
      });

      it('reports every malformed field, not just the first', async () => {
        const { b } = env.ctx();
        const error = await expectBatonError<ValidationError>(
          b.submitRun({
            tasks: [
              malformed({ type: 'x', key: 'a', priority: 'urgent' }),
              { type: 'x', key: 'b' },
              malformed({ type: 'x', key: 'c', requires: 'gpu' }),
            ],
          }),
          'ValidationError',
          'BATON_VALIDATION',
          'submitting two malformed tasks',
        );
        const paths = error.issues.map((i) => i.path);
        expect(paths, 'the bad priority of task 0 is reported').toContainEqual(
          expect.stringMatching(/tasks\[0\]\.priority/),
        );
        expect(paths, 'the bad requires of task 2 is reported').toContainEqual(
          expect.stringMatching(/tasks\[2\]\.requires/),
        );
        await expectStoreEmpty(b, 'two fields were malformed');
      });

      it('a task without a type throws ValidationError', async () => {
        const { b } = env.ctx();
        const error = await expectBatonError<ValidationError>(
          b.submitTasks([{ type: 'ok' }, malformed({ payload: 1 })]),
          'ValidationError',
          'BATON_VALIDATION',
          'submitting a task with no type',
        );
        expect(error.issues.map((i) => i.path).join(' '), 'the issue names the type field').toMatch(
          /type/,
        );
        await expectStoreEmpty(b, 'a standalone task had no type');
      });

      it('a duplicate key in a run throws ValidationError', async () => {
        const { b } = env.ctx();
        const error = await expectBatonError<ValidationError>(
          b.submitRun({
            tasks: [
              { type: 'x', key: 'a' },
              { type: 'y', key: 'a' },
            ],
          }),
          'ValidationError',
          'BATON_VALIDATION',
          'submitting a run with the key "a" twice',
        );
        expect(
          error.issues.map((i) => i.path),
          'the issue points at the duplicate key',
        ).toContainEqual(expect.stringMatching(/tasks\[1\]\.key/));
        await expectStoreEmpty(b, 'a key was duplicated');
      });

      it('an oversized payload throws PayloadTooLargeError', async () => {
        const { b } = env.ctx();
        const big = 'x'.repeat(1024 * 1024 + 1024);
        await expectBatonError(
          b.submitRun({
            tasks: [
              { type: 'x', key: 'small' },
              { type: 'x', key: 'big', payload: { big } },
            ],
          }),
          'PayloadTooLargeError',
          'BATON_PAYLOAD_TOO_LARGE',
          'submitting a payload over the default 1 MiB limit',
        );
        await expectStoreEmpty(b, 'a payload was too large');
      });

      it('submitTasks is atomic too: one bad task, none stored', async () => {
        const { b } = env.ctx();
        await expectBatonError(
          b.submitTasks([
            { type: 'fine', idempotencyKey: 'k' },
            { type: 'bad', maxAttempts: -1 },
          ]),
          'ValidationError',
          'BATON_VALIDATION',
          'submitTasks with a negative maxAttempts',
        );
        await expectStoreEmpty(b, 'one of the standalone tasks was malformed');
        const retry = await submitOne(b, { type: 'fine', idempotencyKey: 'k' });
        expect(retry.existing, 'the idempotency key of the refused batch was not kept').toBe(false);
      });
    });
  });
}
