/**
 * The task-log routes (docs/logs.md): a page of a task's log with a cursor, the same live over
 * Server-Sent Events (resumable with Last-Event-ID, ended by an `end` event), and agent logs
 * filtered by agent, level and time; every malformed query refused with the Baton error shape.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { Lease } from '../../src/core/types.ts';
import type { LogLine } from '../../src/core/logs.ts';
import { closeAll, startServer, type TestServer } from './harness.ts';
import { openSse } from './sse.ts';

afterEach(closeAll);

/** A running task claimed by a registered agent, in the server's store. */
async function runningTask(s: TestServer, agentId = 'agt_logs'): Promise<Lease> {
  await s.baton.backend.registerAgent({ id: agentId, capabilities: [], concurrency: 4 });
  const { id } = await s.baton.submit({ type: 'job' });
  const [lease] = await s.baton.backend.claim({
    agentId,
    capabilities: [],
    types: ['job'],
    max: 1,
    leaseTtlMs: 60_000,
  });
  expect(lease?.taskId).toBe(id);
  return lease!;
}

/** The lines of a log page response. */
const linesOf = (res: { body: unknown }): LogLine[] => (res.body as { lines: LogLine[] }).lines;

async function write(s: TestServer, lease: Lease, lines: Partial<LogLine>[]): Promise<void> {
  const [outcome] = await s.baton.backend.appendLogs([
    {
      taskId: lease.taskId,
      token: lease.token,
      agentId: lease.agentId,
      lines: lines.map((l) => ({
        text: l.text ?? '',
        ...(l.stream === undefined || l.stream === 'cut' ? {} : { stream: l.stream }),
        ...(l.level === undefined ? {} : { level: l.level }),
      })),
    },
  ]);
  expect(outcome?.status).toBe('ok');
}

describe('GET /v1/tasks/:id/logs', () => {
  it('answers a page of lines with a cursor to read on from, filtered by attempt and stream', async () => {
    const s = await startServer();
    const lease = await runningTask(s);
    await write(s, lease, [
      { text: 'one', stream: 'stdout' },
      { text: 'two', stream: 'stderr', level: 'error' },
      { text: 'three' },
    ]);
    const all = await s.request('GET', `/v1/tasks/${lease.taskId}/logs`);
    expect(all.status).toBe(200);
    expect(all.body.more).toBe(false);
    expect(linesOf(all).map((l) => [l.text, l.stream, l.level, l.attempt])).toEqual([
      ['one', 'stdout', 'info', 1],
      ['two', 'stderr', 'error', 1],
      ['three', 'log', 'info', 1],
    ]);
    const first = await s.request('GET', `/v1/tasks/${lease.taskId}/logs?limit=2`);
    expect(first.body.lines).toHaveLength(2);
    expect(first.body.more).toBe(true);
    const rest = await s.request(
      'GET',
      `/v1/tasks/${lease.taskId}/logs?after=${first.body.cursor as number}`,
    );
    expect(linesOf(rest).map((l) => l.text)).toEqual(['three']);
    const stderr = await s.request('GET', `/v1/tasks/${lease.taskId}/logs?stream=stderr`);
    expect(linesOf(stderr).map((l) => l.text)).toEqual(['two']);
    const none = await s.request('GET', `/v1/tasks/${lease.taskId}/logs?attempt=2`);
    expect(none.body).toEqual({ lines: [], cursor: 0, more: false });
  });

  it('refuses a malformed query with a 400 naming the parameter, and an unknown task with a 404', async () => {
    const s = await startServer();
    const lease = await runningTask(s);
    for (const [query, path, message] of [
      ['after=-1', 'after', /whole number/],
      ['after=abc', 'after', /whole number/],
      ['attempt=0', 'attempt', /attempt number, from 1/],
      ['limit=0', 'limit', /from 1 to 1000/],
      ['stream=stdin', 'stream', /stdout/],
      ['follow=true', 'query.follow', /unknown query parameter 'follow'/],
    ] as const) {
      const res = await s.request('GET', `/v1/tasks/${lease.taskId}/logs?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe('BATON_VALIDATION');
      const issue = (res.body.error.details.issues as { path: string; message: string }[])[0]!;
      expect(issue.path, query).toContain(path);
      expect(issue.message, query).toMatch(message);
    }
    const missing = await s.request('GET', '/v1/tasks/tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV/logs');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('BATON_NOT_FOUND');
    const run = await s.request('GET', '/v1/tasks/run_01ARZ3NDEKTSV4RRFFQ69G5FAV/logs');
    expect(run.status).toBe(404);
  });
});

describe('GET /v1/tasks/:id/logs/stream (SSE)', () => {
  it('follows the log as it is written, resumes with Last-Event-ID, and ends once the task finished', async () => {
    const s = await startServer();
    const lease = await runningTask(s);
    await write(s, lease, [{ text: 'before' }]);

    const stream = await openSse(`${s.url}/v1/tasks/${lease.taskId}/logs/stream`);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const first = await stream.next();
    expect(first?.event).toBe('line');
    const line = JSON.parse(first!.data) as LogLine;
    expect(line.text).toBe('before');
    expect(first!.id).toBe(String(line.seq));

    // Written while the stream is open: it arrives.
    await write(s, lease, [{ text: 'live' }]);
    const second = await stream.next();
    expect((JSON.parse(second!.data) as LogLine).text).toBe('live');
    stream.close();

    // Written while disconnected, and the task's last line with its outcome.
    await write(s, lease, [{ text: 'missed' }]);
    const [done] = await s.baton.backend.complete([
      {
        taskId: lease.taskId,
        token: lease.token,
        agentId: lease.agentId,
        result: null,
        logs: [{ text: 'last' }],
      },
    ]);
    expect(done?.status).toBe('ok');
    const resumed = await openSse(`${s.url}/v1/tasks/${lease.taskId}/logs/stream`, {
      'last-event-id': second!.id!,
    });
    const texts: string[] = [];
    for (;;) {
      const message = await resumed.next();
      expect(message, 'the stream ends with an end event, then closes').not.toBeNull();
      if (message!.event === 'end') break;
      texts.push((JSON.parse(message!.data) as LogLine).text);
    }
    expect(texts).toEqual(['missed', 'last']);
    expect(await resumed.next(), 'closed after end').toBeNull();
  });

  it('refuses an unknown task with a 404 and a bad Last-Event-ID with a 400, before streaming', async () => {
    const s = await startServer();
    const lease = await runningTask(s);
    const missing = await s.request('GET', '/v1/tasks/tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV/logs/stream');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('BATON_NOT_FOUND');
    const bad = await s.request('GET', `/v1/tasks/${lease.taskId}/logs/stream`, {
      headers: { 'last-event-id': 'yesterday' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('headers.last-event-id');
  });
});

describe('GET /v1/logs (agent logs)', () => {
  it('filters lines across tasks by agent, least severe level and time, with a cursor', async () => {
    const s = await startServer();
    const a = await runningTask(s, 'agt_a');
    const b = await runningTask(s, 'agt_b');
    await write(s, a, [
      { text: 'a-debug', level: 'debug' },
      { text: 'a-warn', level: 'warn' },
    ]);
    await write(s, b, [{ text: 'b-error', level: 'error' }]);
    const texts = (res: { body: { lines: LogLine[] } }) => res.body.lines.map((l) => l.text);

    expect(texts(await s.request('GET', '/v1/logs'))).toEqual(['a-debug', 'a-warn', 'b-error']);
    expect(texts(await s.request('GET', '/v1/logs?agent=agt_a'))).toEqual(['a-debug', 'a-warn']);
    expect(texts(await s.request('GET', '/v1/logs?level=warn'))).toEqual(['a-warn', 'b-error']);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(texts(await s.request('GET', `/v1/logs?since=${future}`))).toEqual([]);
    expect(texts(await s.request('GET', `/v1/logs?until=${future}&agent=agt_b`))).toEqual([
      'b-error',
    ]);
    expect(texts(await s.request('GET', '/v1/logs?until=0'))).toEqual([]);
    const page = await s.request('GET', '/v1/logs?limit=1');
    expect(page.body.more).toBe(true);
    const next = await s.request('GET', `/v1/logs?after=${page.body.cursor as number}`);
    expect(texts(next)).toEqual(['a-warn', 'b-error']);
    expect(next.body.lines[0].agentId).toBe('agt_a');
    expect(next.body.lines[0].taskId).toBe(a.taskId);

    for (const query of ['level=loud', 'since=yesterday', 'after=-3', 'agent=', 'limit=5000']) {
      const res = await s.request('GET', `/v1/logs?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe('BATON_VALIDATION');
    }
  });
});
