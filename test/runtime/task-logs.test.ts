/**
 * Task logs from the worker's side (docs/logs.md): `ctx.log` lines at their levels, stored while
 * the attempt runs, the last ones carried by the call that settles it, kept when it fails; and
 * reading them back with `Baton.logs`, once or following, for a task or a whole run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LOG_LIMITS, type LogLine } from '../../src/core/logs.ts';
import type { RunRecord, TaskRecord } from '../../src/core/types.ts';
import type { Baton } from '../../src/runtime/baton.ts';
import { deferred, useHarness } from './harness.ts';

const h = useHarness();

async function allLines(baton: Baton, id: string): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of baton.logs(id)) lines.push(line);
  return lines;
}

/** Poll the store until the task's log holds a line with this text (bounded). */
async function untilStored(baton: Baton, taskId: string, text: string): Promise<LogLine> {
  for (let i = 0; i < 400; i++) {
    const found = (await baton.readLogs({ taskId })).lines.find((l) => l.text === text);
    if (found) return found;
    await sleep(25);
  }
  throw new Error(`line '${text}' of task ${taskId} never reached the store`);
}

describe('ctx.log', () => {
  it('writes lines at their level, formatted like console.log, one line per line', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, {
      handlers: {
        chatty: (ctx) => {
          ctx.log('plain', 42, { a: 1 });
          ctx.log.debug('details');
          ctx.log.info('two\nlines');
          ctx.log.warn('careful: %s', 'hot');
          ctx.log.error(new Error('boom'));
          ctx.log.write('stdout', 'partial ');
          ctx.log.write('stdout', Buffer.from('line\nnext'));
          return 'done';
        },
      },
    });
    const { id } = await baton.submit({ type: 'chatty' });
    expect(((await baton.wait(id)) as TaskRecord).state).toBe('succeeded');
    const lines = await allLines(baton, id);
    const shown = lines.map((l) => [l.stream, l.level, l.text]);
    expect(shown.slice(0, 6)).toEqual([
      ['log', 'info', 'plain 42 { a: 1 }'],
      ['log', 'debug', 'details'],
      ['log', 'info', 'two'],
      ['log', 'info', 'lines'],
      ['log', 'warn', 'careful: hot'],
      ['log', 'error', 'Error: boom'],
    ]);
    // The error's stack, one line per frame, then the output lines (the partial one at the end).
    expect(lines.slice(6, -2).every((l) => l.level === 'error' && /^\s+at /.test(l.text))).toBe(
      true,
    );
    expect(shown.slice(-2)).toEqual([
      ['stdout', 'info', 'partial line'],
      ['stdout', 'info', 'next'],
    ]);
    expect(new Set(lines.map((l) => l.attempt))).toEqual(new Set([1]));
    expect(new Set(lines.map((l) => l.agentId))).toEqual(new Set([worker.agentId]));
    await worker.stop();
  });

  it('lines are stored while the attempt runs, not at its end', async () => {
    const baton = await h.baton();
    const gate = deferred();
    const worker = await h.startWorker(baton, {
      handlers: {
        slow: async (ctx) => {
          ctx.log('started');
          await gate.promise;
          ctx.log('finished');
        },
      },
    });
    const { id } = await baton.submit({ type: 'slow' });
    await untilStored(baton, id, 'started');
    expect((await baton.get(id))!.state, 'the task still runs').toBe('running');
    gate.resolve();
    await baton.wait(id);
    expect((await allLines(baton, id)).map((l) => l.text)).toEqual(['started', 'finished']);
    await worker.stop();
  });

  it('the last lines go with the outcome: a finished task has them all, however long the batching window', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, {
      logFlushMs: 600_000,
      handlers: {
        quick: (ctx) => {
          ctx.log('one');
          ctx.log.write('stderr', 'no newline at the end');
        },
        failing: (ctx) => {
          ctx.log.error('about to fail');
          throw new Error('nope');
        },
      },
    });
    const ok = await baton.submit({ type: 'quick' });
    const bad = await baton.submit({ type: 'failing', maxAttempts: 1 });
    expect(((await baton.wait(ok.id)) as TaskRecord).state).toBe('succeeded');
    expect(((await baton.wait(bad.id)) as TaskRecord).state).toBe('failed');
    expect((await allLines(baton, ok.id)).map((l) => [l.stream, l.text])).toEqual([
      ['log', 'one'],
      ['stderr', 'no newline at the end'],
    ]);
    expect((await allLines(baton, bad.id)).map((l) => l.text)).toEqual(['about to fail']);
    await worker.stop();
  });

  it('a failed attempt keeps its lines, and the retry writes a log of its own', async () => {
    const baton = await h.baton();
    const worker = await h.startWorker(baton, {
      handlers: {
        flaky: (ctx) => {
          ctx.log(`attempt ${ctx.attempt}`);
          if (ctx.attempt === 1) throw new Error('first try fails');
          return 'ok';
        },
      },
    });
    const { id } = await baton.submit({
      type: 'flaky',
      maxAttempts: 2,
      backoff: { baseMs: 1, maxMs: 1, jitter: 'none' },
    });
    expect(((await baton.wait(id)) as TaskRecord).state).toBe('succeeded');
    const lines = await allLines(baton, id);
    expect(lines.map((l) => [l.attempt, l.text])).toEqual([
      [1, 'attempt 1'],
      [2, 'attempt 2'],
    ]);
    const first: string[] = [];
    for await (const line of baton.logs(id, { attempt: 1 })) first.push(line.text);
    expect(first).toEqual(['attempt 1']);
    await worker.stop();
  });

  it('splits text longer than a line may be, without breaking a character', async () => {
    const baton = await h.baton();
    const long = `${'é'.repeat(LOG_LIMITS.maxLineBytes / 2)}tail`;
    const worker = await h.startWorker(baton, {
      handlers: { long: (ctx) => ctx.log(long) },
    });
    const { id } = await baton.submit({ type: 'long' });
    await baton.wait(id);
    const lines = await allLines(baton, id);
    expect(lines.length).toBe(2);
    expect(lines.map((l) => l.text).join('')).toBe(long);
    for (const line of lines)
      expect(Buffer.byteLength(line.text)).toBeLessThan(LOG_LIMITS.maxLineBytes);
    await worker.stop();
  });
});

describe('Baton.logs', () => {
  it('follows a task: lines as they come, and the end once it finished', async () => {
    const baton = await h.baton();
    const gates = [deferred(), deferred()];
    const worker = await h.startWorker(baton, {
      handlers: {
        steps: async (ctx) => {
          for (const [i, gate] of gates.entries()) {
            ctx.log(`step ${i + 1}`);
            await gate.promise;
          }
          ctx.log('end');
        },
      },
    });
    const { id } = await baton.submit({ type: 'steps' });
    const seen: string[] = [];
    const following = (async () => {
      for await (const line of baton.logs(id, { follow: true, pollMs: 20 })) {
        seen.push(line.text);
        if (line.text === 'step 1') gates[0]!.resolve();
        if (line.text === 'step 2') gates[1]!.resolve();
      }
    })();
    await following;
    expect(seen, 'every line, then the follow ended by itself').toEqual([
      'step 1',
      'step 2',
      'end',
    ]);
    expect((await baton.get(id))!.state).toBe('succeeded');
    await worker.stop();
  });

  it("interleaves a run's tasks in the order their lines were stored", async () => {
    const baton = await h.baton();
    const gates = { a: deferred(), b: deferred() };
    const worker = await h.startWorker(baton, {
      concurrency: 2,
      handlers: {
        pingpong: async (ctx) => {
          const me = (ctx.payload as { me: 'a' | 'b' }).me;
          if (me === 'b') await gates.b.promise;
          ctx.log(`${me}1`);
          if (me === 'a') {
            gates.b.resolve();
            await gates.a.promise;
          } else {
            await untilStored(baton, ctx.task.id, 'b1');
            gates.a.resolve();
          }
          ctx.log(`${me}2`);
        },
      },
    });
    const { runId, tasks } = await baton.submitRun({
      tasks: [
        { key: 'a', type: 'pingpong', payload: { me: 'a' } },
        { key: 'b', type: 'pingpong', payload: { me: 'b' } },
      ],
    });
    const followed: string[] = [];
    for await (const line of baton.logs(runId, { follow: true, pollMs: 20 }))
      followed.push(line.text);
    expect(((await baton.wait(runId)) as RunRecord).state).toBe('succeeded');
    const once = await allLines(baton, runId);
    expect(once.map((l) => l.text).slice(0, 2), 'a1 was stored before b1').toEqual(['a1', 'b1']);
    expect(new Set(once.map((l) => l.text))).toEqual(new Set(['a1', 'b1', 'a2', 'b2']));
    const seqs = once.map((l) => l.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(once.map((l) => l.taskId))).toEqual(new Set(tasks.map((t) => t.id)));
    expect(new Set(followed)).toEqual(new Set(['a1', 'b1', 'a2', 'b2']));
    await worker.stop();
  });
});
