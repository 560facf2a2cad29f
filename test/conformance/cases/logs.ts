/**
 * Task logs (docs/logs.md): lines appended as an attempt writes them, or carried by the call that
 * settles it; read back in `seq` order with a cursor that only grows; bounded per attempt (the
 * first and last bytes kept, one `cut` marker for what was dropped); filtered by attempt and
 * stream, and across tasks by agent, level and time; refused when malformed, or written by an
 * agent that did not run the attempt, with nothing stored.
 */
import { describe, expect, it } from 'vitest';
import type {
  Backend,
  LogAppend,
  LogLineInput,
  ReadLogsOptions,
} from '../../../src/backends/backend.ts';
import type { ValidationError } from '../../../src/core/errors.ts';
import { LOG_LIMITS, type LogLine } from '../../../src/core/logs.ts';
import type { AgentRecord, Lease } from '../../../src/core/types.ts';
import type { SuiteEnv } from '../context.ts';
import {
  PAST_QUICK_BACKOFF_MS,
  QUICK_BACKOFF,
  UNKNOWN_TASK_ID,
  claimExpecting,
  expectBatonError,
  expectState,
  registerAgent,
  submitOne,
  sweep,
} from '../helpers.ts';

/** Append lines to a lease's attempt, expecting them stored. */
async function append(b: Backend, lease: Lease, lines: LogLineInput[]): Promise<void> {
  const [outcome] = await b.appendLogs([
    { taskId: lease.taskId, token: lease.token, agentId: lease.agentId, lines },
  ]);
  expect(outcome, `appendLogs of ${lines.length} lines by the attempt's agent`).toEqual({
    taskId: lease.taskId,
    status: 'ok',
  });
}

/** Every line of a task's log (with the filter given), read page by page from `after`. */
async function readAll(
  b: Backend,
  options: ReadLogsOptions,
  pageSize = 1000,
): Promise<{ lines: LogLine[]; cursor: number }> {
  const lines: LogLine[] = [];
  let cursor = options.after ?? 0;
  for (let pages = 0; ; pages++) {
    if (pages > 10_000) throw new Error('readLogs never said it was done (more: true forever)');
    const page = await b.readLogs({ ...options, after: cursor, limit: pageSize });
    expect(page.lines.length, 'a page holds at most `limit` lines').toBeLessThanOrEqual(pageSize);
    expect(page.cursor, 'the cursor never goes back').toBeGreaterThanOrEqual(cursor);
    lines.push(...page.lines);
    cursor = page.cursor;
    if (!page.more) return { lines, cursor };
  }
}

const texts = (lines: readonly LogLine[]): string[] => lines.map((l) => l.text);

/** `n` lines of exactly `size` bytes, numbered from `first`: `0001 xxxx…`. */
function numbered(first: number, n: number, size: number): LogLineInput[] {
  return Array.from({ length: n }, (_, i) => {
    const head = `${String(first + i).padStart(4, '0')} `;
    return { text: head + 'x'.repeat(size - head.length), stream: 'stdout' as const };
  });
}

async function started(b: Backend, spec: { maxAttempts?: number } = {}) {
  const agent = await registerAgent(b, [], { id: `agt-${Math.random().toString(36).slice(2)}` });
  const { id } = await submitOne(b, { type: 'x', maxAttempts: spec.maxAttempts ?? 3 });
  const lease = await claimExpecting(b, agent, id, 'the task');
  return { agent, id, lease };
}

export function logCases(env: SuiteEnv): void {
  describe('task logs', () => {
    it('stores lines in order with their attempt, agent, stream, level and the store time, defaults applied', async () => {
      const { b, clock } = env.ctx();
      const { agent, id, lease } = await started(b);
      const t0 = clock.advance(5);
      await append(b, lease, [
        { text: 'hello' },
        { text: 'out', stream: 'stdout' },
        { text: 'err', stream: 'stderr', level: 'error' },
      ]);
      const t1 = clock.advance(7);
      await append(b, lease, [{ text: 'dbg', level: 'debug' }, { text: '' }, { text: 'é ✓ 🎉' }]);
      const page = await b.readLogs({ taskId: id });
      expect(page.more, 'every line fits one page').toBe(false);
      expect(
        page.lines.map(({ seq: _seq, ...rest }) => rest),
        'each line as written, with its attempt, agent and stored time',
      ).toEqual([
        {
          taskId: id,
          attempt: 1,
          agentId: agent.id,
          stream: 'log',
          level: 'info',
          at: t0,
          text: 'hello',
        },
        {
          taskId: id,
          attempt: 1,
          agentId: agent.id,
          stream: 'stdout',
          level: 'info',
          at: t0,
          text: 'out',
        },
        {
          taskId: id,
          attempt: 1,
          agentId: agent.id,
          stream: 'stderr',
          level: 'error',
          at: t0,
          text: 'err',
        },
        {
          taskId: id,
          attempt: 1,
          agentId: agent.id,
          stream: 'log',
          level: 'debug',
          at: t1,
          text: 'dbg',
        },
        {
          taskId: id,
          attempt: 1,
          agentId: agent.id,
          stream: 'log',
          level: 'info',
          at: t1,
          text: '',
        },
        {
          taskId: id,
          attempt: 1,
          agentId: agent.id,
          stream: 'log',
          level: 'info',
          at: t1,
          text: 'é ✓ 🎉',
        },
      ]);
      const seqs = page.lines.map((l) => l.seq);
      expect(seqs, 'seq grows line by line').toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size, 'every line has its own seq').toBe(seqs.length);
      expect(page.cursor, 'the cursor is the last line read').toBe(seqs.at(-1));
    });

    it('several items for one attempt in one append are stored in order, as if sent one by one', async () => {
      const { b } = env.ctx();
      const { id, lease } = await started(b);
      const ref = { taskId: id, token: lease.token, agentId: lease.agentId };
      const answers = await b.appendLogs([
        { ...ref, lines: [{ text: 'a' }, { text: 'b' }] },
        { ...ref, lines: [{ text: 'c' }] },
      ]);
      expect(answers.map((a) => a.status)).toEqual(['ok', 'ok']);
      await b.complete([{ ...ref, result: null, logs: [{ text: 'd' }] }]);
      expect(texts((await readAll(b, { taskId: id })).lines)).toEqual(['a', 'b', 'c', 'd']);
    });

    it('a cursor reads on from where the last read stopped: pages, new lines, nothing twice', async () => {
      const { b } = env.ctx();
      const { id, lease } = await started(b);
      const empty = await b.readLogs({ taskId: id });
      expect(empty, 'a task that wrote nothing yet').toEqual({ lines: [], cursor: 0, more: false });
      await append(b, lease, numbered(1, 25, 10));
      const first = await b.readLogs({ taskId: id, limit: 10 });
      expect(
        texts(first.lines).map((t) => t.slice(0, 4)),
        'the first page',
      ).toEqual(Array.from({ length: 10 }, (_, i) => String(i + 1).padStart(4, '0')));
      expect(first.more, 'a full page says more may follow').toBe(true);
      const rest = await readAll(b, { taskId: id, after: first.cursor }, 7);
      expect(
        texts(rest.lines).map((t) => t.slice(0, 4)),
        'the rest, in order, once',
      ).toEqual(Array.from({ length: 15 }, (_, i) => String(i + 11).padStart(4, '0')));
      const caughtUp = await b.readLogs({ taskId: id, after: rest.cursor });
      expect(caughtUp, 'nothing new: the same cursor back').toEqual({
        lines: [],
        cursor: rest.cursor,
        more: false,
      });
      // A follower reading while the task runs sees new lines after its cursor, and only those.
      await append(b, lease, [{ text: 'late' }]);
      const followed = await b.readLogs({ taskId: id, after: rest.cursor });
      expect(texts(followed.lines), 'the line written since').toEqual(['late']);
      expect(followed.cursor).toBeGreaterThan(rest.cursor);
    });

    it('lines carried by complete are stored with the outcome: a reader that sees the task finished has them all', async () => {
      const { b } = env.ctx();
      const { id, lease } = await started(b);
      await append(b, lease, [{ text: 'during' }]);
      const [outcome] = await b.complete([
        {
          taskId: id,
          token: lease.token,
          agentId: lease.agentId,
          result: { ok: true },
          logs: [
            { text: 'last words', stream: 'stdout' },
            { text: 'bye', level: 'warn' },
          ],
        },
      ]);
      expect(outcome?.status).toBe('ok');
      await expectState(b, id, 'succeeded', 'completed with its last lines');
      const { lines } = await readAll(b, { taskId: id });
      expect(texts(lines)).toEqual(['during', 'last words', 'bye']);
      expect(lines.map((l) => [l.stream, l.level])).toEqual([
        ['log', 'info'],
        ['stdout', 'info'],
        ['log', 'warn'],
      ]);
      // An attempt that wrote nothing before its complete: every line comes with the outcome.
      const quiet = await started(b);
      const [quietOutcome] = await b.complete([
        {
          ...quiet.lease,
          result: null,
          logs: [{ text: 'one' }, { text: 'two', stream: 'stderr' }],
        },
      ]);
      expect(quietOutcome?.status).toBe('ok');
      const more = await b.readLogs({ taskId: quiet.id });
      expect(more.lines.map((l) => [l.attempt, l.stream, l.text])).toEqual([
        [1, 'log', 'one'],
        [1, 'stderr', 'two'],
      ]);
      // One call whose items carry none, one and several lines, in any order: each item's lines
      // go to its own attempt (the call sends each item's lines after it, without its claim).
      const silent = await started(b);
      const single = await started(b);
      const several = await started(b);
      const outcomes = await b.complete([
        { ...single.lease, result: 1, logs: [{ text: 'only', stream: 'stdout', level: 'error' }] },
        { ...silent.lease, result: 2 },
        {
          ...several.lease,
          result: 3,
          logs: [{ text: 'a', level: 'debug' }, { text: 'b', stream: 'stderr' }, { text: '' }],
        },
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
      const shape = async (taskId: string) =>
        (await b.readLogs({ taskId })).lines.map((l) => [l.stream, l.level, l.text]);
      expect(await shape(single.id)).toEqual([['stdout', 'error', 'only']]);
      expect(await shape(silent.id)).toEqual([]);
      expect(await shape(several.id)).toEqual([
        ['log', 'debug', 'a'],
        ['stderr', 'info', 'b'],
        ['log', 'info', ''],
      ]);
    });

    it('a lone surrogate is stored as U+FFFD and a line counts its UTF-8 bytes, appended or carried', async () => {
      const { b } = env.ctx();
      const { id, lease } = await started(b);
      await append(b, lease, [{ text: 'bad \uD800 half' }, { text: 'é€😀' }]);
      const [outcome] = await b.complete([
        {
          ...lease,
          result: null,
          logs: [{ text: '\uDC00 carried', stream: 'stderr', level: 'error' }, { text: 'ü' }],
        },
      ]);
      expect(outcome?.status).toBe('ok');
      const { lines } = await readAll(b, { taskId: id });
      expect(lines.map((l) => [l.stream, l.level, l.text])).toEqual([
        ['log', 'info', 'bad \uFFFD half'],
        ['log', 'info', 'é€😀'],
        ['stderr', 'error', '\uFFFD carried'],
        ['log', 'info', 'ü'],
      ]);
    });

    it('a refused complete or fail still keeps the lines it carried: they are what its attempt printed', async () => {
      const { b, clock } = env.ctx();
      const agent = await registerAgent(b, [], {
        id: `agt-${Math.random().toString(36).slice(2)}`,
      });
      const other = await registerAgent(b, [], { id: 'agt-intruder' });
      const { id } = await submitOne(b, { type: 'x', maxAttempts: 3, backoff: QUICK_BACKOFF });
      const first = await claimExpecting(b, agent, id, 'attempt 1', 1000);
      clock.advance(1001);
      // The lease ran out (not swept yet): the complete is refused, its lines are kept.
      const [late] = await b.complete([
        {
          taskId: id,
          token: first.token,
          agentId: agent.id,
          result: { late: true },
          logs: [{ text: 'finished, but too late', stream: 'stdout' }],
        },
      ]);
      expect(late?.status, 'a complete after the lease ran out').toBe('lease_lost');
      await sweep(b);
      clock.advance(PAST_QUICK_BACKOFF_MS);
      const second = await claimExpecting(b, agent, id, 'attempt 2');
      // Fenced out by attempt 2: a fail of attempt 1 is refused, its lines still go to attempt 1;
      // another agent's lines, carried by a complete it may not make, are not stored at all.
      const answers = [
        ...(await b.fail([
          {
            taskId: id,
            token: first.token,
            agentId: agent.id,
            error: { message: 'stale' },
            logs: [{ text: 'Traceback: stale', stream: 'stderr', level: 'error' }],
          },
        ])),
        ...(await b.complete([
          {
            taskId: id,
            token: second.token,
            agentId: other.id,
            result: null,
            logs: [{ text: 'forged' }],
          },
        ])),
        ...(await b.complete([
          {
            taskId: id,
            token: second.token,
            agentId: agent.id,
            result: { ok: true },
            logs: [{ text: 'done' }],
          },
        ])),
      ];
      expect(answers.map((a) => a.status)).toEqual(['lease_lost', 'lease_lost', 'ok']);
      await expectState(b, id, 'succeeded', 'attempt 2 completed');
      const { lines } = await readAll(b, { taskId: id });
      expect(lines.map((l) => [l.attempt, l.agentId, l.stream, l.text])).toEqual([
        [1, agent.id, 'stdout', 'finished, but too late'],
        [1, agent.id, 'stderr', 'Traceback: stale'],
        [2, agent.id, 'log', 'done'],
      ]);
      const agentLines = await b.readAgentLogs({ agentId: agent.id, limit: 100 });
      expect(texts(agentLines.lines), 'agent logs list them too').toEqual([
        'finished, but too late',
        'Traceback: stale',
        'done',
      ]);
    });

    it('a failed attempt keeps its output; the next attempt has a log of its own; a retry keeps both', async () => {
      const { b, clock } = env.ctx();
      const { agent, id, lease } = await started(b, { maxAttempts: 2 });
      await append(b, lease, [{ text: 'trying', stream: 'stdout' }]);
      const [failed] = await b.fail([
        {
          taskId: id,
          token: lease.token,
          agentId: agent.id,
          error: { message: 'broke' },
          retryDelayMs: 0,
          logs: [{ text: 'Traceback: boom', stream: 'stderr', level: 'error' }],
        },
      ]);
      expect(failed).toMatchObject({ status: 'ok', state: 'ready' });
      clock.advance(1);
      const second = await claimExpecting(b, agent, id, 'attempt 2');
      await append(b, second, [{ text: 'second try' }]);
      const [ended] = await b.fail([
        {
          taskId: id,
          token: second.token,
          agentId: agent.id,
          error: { message: 'broke again' },
          retryable: false,
        },
      ]);
      expect(ended).toMatchObject({ status: 'ok', state: 'failed' });
      await b.retryTask(id, { reason: 'try once more' });

      const all = await readAll(b, { taskId: id });
      expect(all.lines.map((l) => [l.attempt, l.text])).toEqual([
        [1, 'trying'],
        [1, 'Traceback: boom'],
        [2, 'second try'],
      ]);
      const firstOnly = await readAll(b, { taskId: id, attempt: 1 });
      expect(texts(firstOnly.lines), 'attempt 1 alone').toEqual(['trying', 'Traceback: boom']);
      const stderr = await readAll(b, { taskId: id, stream: 'stderr' });
      expect(texts(stderr.lines), 'stderr of every attempt').toEqual(['Traceback: boom']);
      expect(
        (await b.readLogs({ taskId: id, attempt: 7 })).lines,
        'an attempt that never ran',
      ).toEqual([]);
    });

    it('a release carries the attempt’s lines too', async () => {
      const { b } = env.ctx();
      const { id, lease } = await started(b);
      const [released] = await b.release([
        {
          taskId: id,
          token: lease.token,
          agentId: lease.agentId,
          reason: 'shutting down',
          logs: [{ text: 'interrupted at step 3' }],
        },
      ]);
      expect(released).toMatchObject({ status: 'ok', state: 'ready' });
      expect(texts((await b.readLogs({ taskId: id })).lines)).toEqual(['interrupted at step 3']);
    });

    it('bounds each attempt: the first headBytes and the last tailBytes are kept, one cut marker says what was dropped', async () => {
      const ctx = env.ctx();
      const tailBytes = LOG_LIMITS.maxLineBytes; // the smallest tail there may be
      const b = await ctx.open({ logs: { headBytes: 2048, tailBytes } });
      // 200 lines of 1000 bytes, written in uneven batches, and the same in one append.
      const { id, lease } = await started(b);
      for (let first = 1; first <= 200; first += 37) {
        await append(b, lease, numbered(first, Math.min(37, 201 - first), 1000));
      }
      const { lease: oneGo, id: id2 } = await started(b);
      await append(b, oneGo, numbered(1, 200, 1000));
      // And the same lines carried by the complete of an attempt that wrote nothing before.
      const { lease: atEnd, id: id3 } = await started(b);
      const [completed] = await b.complete([
        { ...atEnd, result: null, logs: numbered(1, 200, 1000) },
      ]);
      expect(completed?.status, 'a complete that carries more than the bounds keep').toBe('ok');

      // A line counts its text and its newline: 1001 bytes.
      const keptTail = Math.floor(tailBytes / 1001); // 65 lines
      const expected = [
        '0001',
        '0002',
        'cut',
        ...Array.from({ length: keptTail }, (_, i) => String(201 - keptTail + i).padStart(4, '0')),
      ];
      for (const taskId of [id, id2, id3]) {
        const { lines } = await readAll(b, { taskId });
        expect(
          lines.map((l) => (l.stream === 'cut' ? 'cut' : l.text.slice(0, 4))),
          'head, marker, tail',
        ).toEqual(expected);
        const marker = lines[2]!;
        expect(marker.cut, 'the marker names the lines and bytes cut').toEqual({
          fromLine: 3,
          toLine: 200 - keptTail,
          bytes: (198 - keptTail) * 1001,
        });
        expect(marker).toMatchObject({ taskId, attempt: 1, stream: 'cut', level: 'warn' });
        expect(marker.text).toContain(`lines 3–${200 - keptTail}`);
        expect(marker.seq, 'the marker sits between head and tail').toBeGreaterThan(lines[1]!.seq);
        expect(marker.seq).toBeLessThan(lines[3]!.seq);
        const bytes = lines
          .filter((l) => l.stream !== 'cut')
          .reduce((n, l) => n + l.text.length, 0);
        expect(bytes, 'at most headBytes + tailBytes kept').toBeLessThanOrEqual(2048 + tailBytes);
      }
      // Reading from after the marker: only the tail. From after the last head line: the marker.
      const { lines } = await readAll(b, { taskId: id });
      const afterMarker = await b.readLogs({ taskId: id, after: lines[2]!.seq });
      expect(afterMarker.lines[0]!.text.slice(0, 4)).toBe(String(201 - keptTail).padStart(4, '0'));
      const afterHead = await b.readLogs({ taskId: id, after: lines[1]!.seq, limit: 1 });
      expect(afterHead.lines.map((l) => l.stream)).toEqual(['cut']);
      expect(afterHead.more).toBe(true);
      // A stream filter keeps the marker: it tells of lines of every stream.
      const stderr = await readAll(b, { taskId: id, stream: 'stderr' });
      expect(stderr.lines.map((l) => l.stream)).toEqual(['cut']);
    });

    it('a claim whose log began with one line keeps it in its head as more lines follow past the bounds', async () => {
      const ctx = env.ctx();
      const tailBytes = LOG_LIMITS.maxLineBytes;
      const b = await ctx.open({ logs: { headBytes: 2048, tailBytes } });
      const { id, lease } = await started(b, { maxAttempts: 2 });
      await append(b, lease, numbered(1, 1, 1000));
      // The first attempt's one line, read alone: its attempt and agent are the claim's.
      const first = await b.readLogs({ taskId: id, attempt: 1 });
      expect(first.lines.map((l) => [l.attempt, l.agentId, l.text.slice(0, 4)])).toEqual([
        [1, lease.agentId, '0001'],
      ]);
      // More lines, one by one and then carried by the failure: the head keeps lines 1-2.
      await append(b, lease, numbered(2, 1, 1000));
      await append(b, lease, numbered(3, 1, 1000));
      const [failed] = await b.fail([
        {
          ...lease,
          error: { message: 'boom' },
          retryable: true,
          retryDelayMs: 0,
          logs: numbered(4, 97, 1000),
        },
      ]);
      expect(failed?.status).toBe('ok');
      const keptTail = Math.floor(tailBytes / 1001);
      const { lines } = await readAll(b, { taskId: id, attempt: 1 });
      expect(lines.map((l) => (l.stream === 'cut' ? 'cut' : l.text.slice(0, 4)))).toEqual([
        '0001',
        '0002',
        'cut',
        ...Array.from({ length: keptTail }, (_, i) => String(101 - keptTail + i).padStart(4, '0')),
      ]);
      expect(lines[2]!.cut).toEqual({
        fromLine: 3,
        toLine: 100 - keptTail,
        bytes: (98 - keptTail) * 1001,
      });
      // The retry's one line is a log of its own; the first attempt's is unchanged.
      const retry = await claimExpecting(
        b,
        await registerAgent(b, [], { id: `agt-r-${id}` }),
        id,
        'the retry',
      );
      await b.complete([{ ...retry, result: null, logs: [{ text: 'second' }] }]);
      const second = await b.readLogs({ taskId: id, attempt: 2 });
      expect(second.lines.map((l) => [l.attempt, l.agentId, l.text])).toEqual([
        [2, retry.agentId, 'second'],
      ]);
      expect((await readAll(b, { taskId: id, attempt: 1 })).lines).toHaveLength(lines.length);
    });

    it('a complete of many items whose attempts logged before carries each one on from its own state', async () => {
      const ctx = env.ctx();
      const b = await ctx.open({ logs: { headBytes: 2048, tailBytes: LOG_LIMITS.maxLineBytes } });
      // 85 attempts (every batch size a store may read their states in: 64 + 16 + 4 + 1), most
      // with a full head and a full tail before their complete (2 + 65 lines of 1001 bytes), so
      // that the one line each carries cuts its oldest tail line; a few with no line before.
      const attempts: { id: string; lease: Lease; before: number }[] = [];
      for (let i = 0; i < 85; i++) {
        const { id, lease } = await started(b);
        const before = i % 7 === 3 ? 0 : 67;
        if (before > 0) await append(b, lease, numbered(1, before, 1000));
        attempts.push({ id, lease, before });
      }
      const outcomes = await b.complete(
        attempts.map(({ lease, before }) => ({
          ...lease,
          result: null,
          logs: numbered(before + 1, 1, 1000),
        })),
      );
      expect(outcomes.map((o) => o.status)).toEqual(attempts.map(() => 'ok'));
      const seq = (from: number, to: number): string[] =>
        Array.from({ length: to - from + 1 }, (_, i) => String(from + i).padStart(4, '0'));
      for (const { id, before } of attempts) {
        const { lines } = await readAll(b, { taskId: id });
        expect(
          lines.map((l) => (l.stream === 'cut' ? 'cut' : l.text.slice(0, 4))),
          `task ${id}: its head, the marker of the one line cut, its tail with the carried line`,
        ).toEqual(before === 0 ? ['0001'] : [...seq(1, 2), 'cut', ...seq(4, 68)]);
      }
    });

    it('a follower that fell behind the cut sees the marker; one that kept up does not', async () => {
      const ctx = env.ctx();
      const b = await ctx.open({ logs: { headBytes: 0, tailBytes: LOG_LIMITS.maxLineBytes } });
      const { id, lease } = await started(b);
      await append(b, lease, numbered(1, 10, 1000));
      const keptUp = await readAll(b, { taskId: id });
      expect(keptUp.lines.length, 'nothing cut yet').toBe(10);
      await append(b, lease, numbered(11, 100, 1000));
      const next = await readAll(b, { taskId: id, after: keptUp.cursor });
      expect(next.lines[0]!.stream, 'lines after its cursor were cut: the marker first').toBe(
        'cut',
      );
      expect(next.lines[0]!.cut).toMatchObject({ fromLine: 1 });
      // Everything it read before was cut since; a reader past the marker is not told again.
      await append(b, lease, [{ text: 'more' }]);
      const latest = await readAll(b, { taskId: id, after: next.cursor });
      expect(texts(latest.lines)).toEqual(['more']);
    });

    it('one line as large as the tail pushes every stored tail line out, however many', async () => {
      const ctx = env.ctx();
      const tailBytes = LOG_LIMITS.maxLineBytes;
      const b = await ctx.open({ logs: { headBytes: 303, tailBytes } });
      const { id, lease } = await started(b);
      // 3 head lines of 101 bytes (100 of text and a newline), then 657 tail lines (the tail's
      // 64 KiB and a bit).
      for (let first = 1; first <= 660; first += 220) {
        await append(b, lease, numbered(first, 220, 100));
      }
      const before = await readAll(b, { taskId: id });
      const kept = Math.floor(tailBytes / 101);
      expect(before.lines.length, 'head, marker, a full tail').toBe(3 + 1 + kept);
      // The largest line there is: 65535 bytes and its newline, the whole tail.
      await append(b, lease, [{ text: 'y'.repeat(LOG_LIMITS.maxLineBytes - 1) }]);
      const { lines } = await readAll(b, { taskId: id });
      expect(lines.map((l) => (l.stream === 'cut' ? 'cut' : l.text.slice(0, 4)))).toEqual([
        '0001',
        '0002',
        '0003',
        'cut',
        'yyyy',
      ]);
      expect(lines[3]!.cut).toEqual({ fromLine: 4, toLine: 660, bytes: 657 * 101 });
    });

    it('agent logs: lines across tasks, filtered by agent, lowest level and time, with a cursor', async () => {
      const { b, clock } = env.ctx();
      const one = await started(b);
      const two = await started(b);
      const t0 = clock.now();
      await append(b, one.lease, [
        { text: 'a1', level: 'debug' },
        { text: 'a2', level: 'warn' },
      ]);
      clock.advance(1000);
      await append(b, two.lease, [{ text: 'b1', level: 'error' }]);
      clock.advance(1000);
      await append(b, one.lease, [{ text: 'a3', level: 'info' }]);

      const all = await b.readAgentLogs();
      const mine = all.lines.filter((l) => l.taskId === one.id || l.taskId === two.id);
      expect(texts(mine), 'every line, in seq order').toEqual(['a1', 'a2', 'b1', 'a3']);
      expect(mine.map((l) => [l.taskId, l.agentId])).toEqual([
        [one.id, one.agent.id],
        [one.id, one.agent.id],
        [two.id, two.agent.id],
        [one.id, one.agent.id],
      ]);
      const ofOne = await b.readAgentLogs({ agentId: one.agent.id });
      expect(texts(ofOne.lines), 'one agent').toEqual(['a1', 'a2', 'a3']);
      const warnings = await b.readAgentLogs({ level: 'warn' });
      expect(texts(warnings.lines.filter((l) => [one.id, two.id].includes(l.taskId)))).toEqual([
        'a2',
        'b1',
      ]);
      const window = await b.readAgentLogs({ since: t0 + 1000, until: t0 + 2000 });
      expect(texts(window.lines), 'since inclusive, until exclusive').toEqual(['b1']);
      const first = await b.readAgentLogs({ agentId: one.agent.id, limit: 2 });
      expect(texts(first.lines)).toEqual(['a1', 'a2']);
      expect(first.more).toBe(true);
      const next = await b.readAgentLogs({ agentId: one.agent.id, after: first.cursor });
      expect(texts(next.lines)).toEqual(['a3']);
      expect(next.more).toBe(false);
      expect((await b.readAgentLogs({ agentId: 'agt-nobody' })).lines).toEqual([]);
    });

    it('only the agent that ran an attempt writes its log; unknown tasks and tokens are not found', async () => {
      const { b } = env.ctx();
      const { id, lease } = await started(b);
      const other: AgentRecord = await registerAgent(b, [], { id: 'agt-intruder' });
      const answers = await b.appendLogs([
        { taskId: id, token: lease.token, agentId: other.id, lines: [{ text: 'forged' }] },
        { taskId: UNKNOWN_TASK_ID, token: 1, agentId: lease.agentId, lines: [{ text: 'lost' }] },
        { taskId: id, token: lease.token + 5, agentId: lease.agentId, lines: [{ text: 'never' }] },
        { taskId: id, token: lease.token, agentId: lease.agentId, lines: [{ text: 'mine' }] },
      ]);
      expect(answers.map((a) => a.status)).toEqual(['refused', 'not_found', 'not_found', 'ok']);
      expect(answers[0]).toMatchObject({ reason: expect.stringContaining('agt-intruder') });
      expect(texts((await b.readLogs({ taskId: id })).lines)).toEqual(['mine']);
      // The attempt's agent may still write after the attempt ended (its last lines).
      await b.complete([{ taskId: id, token: lease.token, agentId: lease.agentId, result: null }]);
      await append(b, lease, [{ text: 'after the end' }]);
      expect(texts((await b.readLogs({ taskId: id })).lines)).toEqual(['mine', 'after the end']);
      await expectBatonError(
        b.readLogs({ taskId: UNKNOWN_TASK_ID }),
        'NotFoundError',
        'BATON_NOT_FOUND',
        'reading the log of a task that does not exist',
      );
    });

    it('keeps the log with its task across a reopen of the store', async () => {
      const ctx = env.ctx();
      if (!env.options.reopen) return;
      const { id, lease } = await started(ctx.b);
      await append(ctx.b, lease, [{ text: 'persisted' }]);
      const before = await ctx.b.readLogs({ taskId: id });
      const b = await ctx.reopen();
      expect(await b.readLogs({ taskId: id })).toEqual(before);
      const { id: next, lease: nextLease } = await started(b);
      await append(b, nextLease, [{ text: 'after reopen' }]);
      const [line] = (await b.readLogs({ taskId: next })).lines;
      expect(line!.seq, 'seq keeps growing after a reopen').toBeGreaterThan(before.cursor);
    });

    it('refuses malformed appends and reads with a ValidationError, storing nothing', async () => {
      const { b } = env.ctx();
      const { id, lease } = await started(b);
      const ref = { taskId: id, token: lease.token, agentId: lease.agentId };
      const as = <T>(value: unknown): T => value as T;
      const cases: { name: string; call: () => Promise<unknown>; path: string; message: RegExp }[] =
        [
          {
            name: 'a line over the size limit',
            call: () =>
              b.appendLogs([{ ...ref, lines: [{ text: 'x'.repeat(LOG_LIMITS.maxLineBytes) }] }]),
            path: 'appendLogs[0].lines[0].text',
            message:
              /is 65536 bytes, over the limit of 65535 bytes for one line \(65536 with its newline\); split it/,
          },
          {
            name: 'a line of 4-byte characters just over the limit',
            call: () =>
              b.appendLogs([
                { ...ref, lines: [{ text: '🎉'.repeat(LOG_LIMITS.maxLineBytes / 4 + 1) }] },
              ]),
            path: 'appendLogs[0].lines[0].text',
            message: /is 65540 bytes/,
          },
          {
            name: 'an unknown stream',
            call: () => b.appendLogs([{ ...ref, lines: [{ text: 'x', stream: as('stdin') }] }]),
            path: 'appendLogs[0].lines[0].stream',
            message: /must be one of stdout, stderr, log or absent; got the string 'stdin'/,
          },
          {
            name: 'an unknown level',
            call: () => b.appendLogs([{ ...ref, lines: [{ text: 'x', level: as('fatal') }] }]),
            path: 'appendLogs[0].lines[0].level',
            message: /must be one of debug, info, warn, error or absent/,
          },
          {
            name: 'text that is not a string',
            call: () => b.appendLogs([{ ...ref, lines: [{ text: as(42) }] }]),
            path: 'appendLogs[0].lines[0].text',
            message: /must be a string; got the number 42/,
          },
          {
            name: 'lines that are not an array',
            call: () => b.appendLogs([as<LogAppend>({ ...ref, lines: 'hello' })]),
            path: 'appendLogs[0].lines',
            message: /must be an array of log lines/,
          },
          {
            name: 'too many lines in one call',
            call: () =>
              b.appendLogs([
                {
                  ...ref,
                  lines: Array.from({ length: LOG_LIMITS.maxLinesPerCall + 1 }, () => ({
                    text: 'x',
                  })),
                },
              ]),
            path: 'appendLogs',
            message: /carries 10001 log lines .* at most 10000 lines/,
          },
          {
            name: 'a token that is not a number',
            call: () => b.appendLogs([{ ...ref, token: as('1'), lines: [{ text: 'x' }] }]),
            path: 'appendLogs[0].token',
            message: /must be an integer/,
          },
          {
            name: 'a bad line carried by complete',
            call: () =>
              b.complete([{ ...ref, result: null, logs: [{ text: 'x', stream: as('tty') }] }]),
            path: 'complete[0].logs[0].stream',
            message: /must be one of stdout, stderr, log/,
          },
          {
            name: 'a read with a negative cursor',
            call: () => b.readLogs({ taskId: id, after: -1 }),
            path: 'readLogs.after',
            message: /must be an integer from 0/,
          },
          {
            name: 'a read of attempt 0',
            call: () => b.readLogs({ taskId: id, attempt: 0 }),
            path: 'readLogs.attempt',
            message: /must be an integer from 1/,
          },
          {
            name: 'a read of an unknown stream',
            call: () => b.readLogs({ taskId: id, stream: as('cut') }),
            path: 'readLogs.stream',
            message: /must be one of stdout, stderr, log or absent/,
          },
          {
            name: 'a read of too many lines',
            call: () => b.readLogs({ taskId: id, limit: 10_001 }),
            path: 'readLogs.limit',
            message: /must be an integer from 1 to 10000/,
          },
          {
            name: 'an agent log read at an unknown level',
            call: () => b.readAgentLogs({ level: as('loud') }),
            path: 'readAgentLogs.level',
            message: /must be one of debug, info, warn, error or absent/,
          },
          {
            name: 'an agent log read from a time that is not a number',
            call: () => b.readAgentLogs({ since: as('yesterday') }),
            path: 'readAgentLogs.since',
            message: /must be an integer/,
          },
        ];
      for (const c of cases) {
        const error = await expectBatonError<ValidationError>(
          c.call(),
          'ValidationError',
          'BATON_VALIDATION',
          c.name,
        );
        expect(error.issues[0]?.path, `${c.name}: path`).toBe(c.path);
        expect(error.issues[0]?.message, `${c.name}: message`).toMatch(c.message);
      }
      expect((await b.readLogs({ taskId: id })).lines, 'nothing was stored').toEqual([]);
      await expectState(b, id, 'running', 'the refused complete changed nothing');
      // A well-formed call still works after the refusals.
      await append(b, lease, [{ text: 'fine' }]);
      expect(texts((await b.readLogs({ taskId: id })).lines)).toEqual(['fine']);
      expect(await mustClaimNothing(b)).toBe(true);
    });
  });
}

/** No task of this test was left claimable by a refused call. */
async function mustClaimNothing(b: Backend): Promise<boolean> {
  const agent = await registerAgent(b);
  const leases = await b.claim({
    agentId: agent.id,
    capabilities: [],
    max: 10,
    leaseTtlMs: 1000,
  });
  return leases.length === 0;
}
