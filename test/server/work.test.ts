import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { MAX_RELEASE_DELAY_MS } from '../../src/backends/backend.ts';
import { AGENT_LIMITS } from '../../src/backends/inputs.ts';
import { LIMITS } from '../../src/core/validate.ts';
import { ManualClock } from '../helpers/clock.ts';
import { closeAll, startServer, type TestServer } from './harness.ts';

afterEach(closeAll);

const PYTHON_AGENT = fileURLToPath(new URL('../../examples/python-agent.py', import.meta.url));
const hasPython = spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;

describe('worker protocol over HTTP', () => {
  it('registers, claims, renews and completes; a stale token is refused with 409', async () => {
    const s = await startServer();
    const { id: taskId } = await s.baton.submit({
      type: 'echo',
      payload: { x: 1 },
      requires: ['py'],
    });
    const agent = await s.request('POST', '/v1/agents', {
      body: { name: 'remote', capabilities: ['py'], concurrency: 2 },
    });
    expect(agent.status).toBe(201);
    const agentId = agent.body.id as string;

    const hb = await s.request('POST', `/v1/agents/${agentId}/heartbeat`, {
      body: { report: { cpuPercent: 12.5, rssBytes: 1_000_000 } },
    });
    expect(hb.body).toEqual({ ok: true });

    const claim = await s.request('POST', `/v1/agents/${agentId}/claim`, { body: { max: 5 } });
    expect(claim.status).toBe(200);
    expect(claim.body.leases).toHaveLength(1);
    const lease = claim.body.leases[0];
    expect(lease).toMatchObject({ taskId, token: 1, agentId, task: { payload: { x: 1 } } });

    const renewed = await s.request('POST', `/v1/leases/${taskId}/renew`, {
      body: { token: 1, agentId, leaseTtlMs: 60_000 },
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body).toMatchObject({ taskId, state: 'running' });

    const stale = await s.request('POST', `/v1/leases/${taskId}/complete`, {
      body: { token: 7, agentId, result: 'no' },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('BATON_LEASE_LOST');

    const done = await s.request('POST', `/v1/leases/${taskId}/complete`, {
      body: { token: 1, agentId, result: { ok: true } },
    });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ taskId, state: 'succeeded' });
    expect((await s.baton.get(taskId))?.result).toEqual({ ok: true });

    const again = await s.request('POST', `/v1/leases/${taskId}/complete`, {
      body: { token: 1, agentId, result: 'twice' },
    });
    expect(again.status).toBe(409);
    expect((await s.baton.get(taskId))?.result).toEqual({ ok: true });
  });

  it("writes the attempt's log while it runs and with its outcome; another agent's lines are refused with 409", async () => {
    const s = await startServer();
    const { id: taskId } = await s.baton.submit({ type: 'echo', maxAttempts: 2 });
    const register = async (name: string) =>
      (await s.request('POST', '/v1/agents', { body: { name, capabilities: [], concurrency: 1 } }))
        .body.id as string;
    const agentId = await register('remote');
    const other = await register('other');
    const claim = await s.request('POST', `/v1/agents/${agentId}/claim`, { body: { max: 1 } });
    const token = claim.body.leases[0].token as number;

    const written = await s.request('POST', `/v1/leases/${taskId}/logs`, {
      body: {
        token,
        agentId,
        lines: [{ text: 'step 1' }, { text: 'oops', stream: 'stderr', level: 'warn' }],
      },
    });
    expect(written.status).toBe(200);
    expect(written.body).toEqual({ taskId, lines: 2 });
    const forged = await s.request('POST', `/v1/leases/${taskId}/logs`, {
      body: { token, agentId: other, lines: [{ text: 'forged' }] },
    });
    expect(forged.status).toBe(409);
    expect(forged.body.error.code).toBe('BATON_LEASE_LOST');
    const unknown = await s.request('POST', `/v1/leases/${taskId}/logs`, {
      body: { token: token + 3, agentId, lines: [{ text: 'never' }] },
    });
    expect(unknown.status).toBe(409);
    const missing = await s.request('POST', '/v1/leases/tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV/logs', {
      body: { token, agentId, lines: [{ text: 'lost' }] },
    });
    expect(missing.status).toBe(404);
    const bad = await s.request('POST', `/v1/leases/${taskId}/logs`, {
      body: { token, agentId, lines: [{ text: 'x', stream: 'stdin' }] },
    });
    expect(bad.status).toBe(400);

    const failed = await s.request('POST', `/v1/leases/${taskId}/fail`, {
      body: {
        token,
        agentId,
        error: { message: 'broke' },
        retryDelayMs: 0,
        logs: [{ text: 'Traceback: broke', stream: 'stderr', level: 'error' }],
      },
    });
    expect(failed.status).toBe(200);
    const lines = (await s.request('GET', `/v1/tasks/${taskId}/logs`)).body.lines as {
      text: string;
      stream: string;
      agentId: string;
    }[];
    expect(lines.map((l) => [l.text, l.stream])).toEqual([
      ['step 1', 'log'],
      ['oops', 'stderr'],
      ['Traceback: broke', 'stderr'],
    ]);
    expect(new Set(lines.map((l) => l.agentId))).toEqual(new Set([agentId]));
  });

  it('fails a lease; the task is retried, then fails when attempts run out', async () => {
    const s = await startServer();
    const { id: taskId } = await s.baton.submit({ type: 'echo', maxAttempts: 1 });
    const agent = await s.request('POST', '/v1/agents', {
      body: { capabilities: [], concurrency: 1 },
    });
    const agentId = agent.body.id as string;
    const claim = await s.request('POST', `/v1/agents/${agentId}/claim`, {});
    const token = claim.body.leases[0].token as number;
    const failed = await s.request('POST', `/v1/leases/${taskId}/fail`, {
      body: { token, agentId, error: { message: 'bad input', code: 'E_INPUT' } },
    });
    expect(failed.status).toBe(200);
    expect(failed.body.state).toBe('failed');
    expect((await s.baton.get(taskId))?.error).toMatchObject({
      message: 'bad input',
      code: 'E_INPUT',
    });
  });

  it('keeps how long the handler ran when an HTTP worker says (runMs), and refuses a bad one with 400', async () => {
    const s = await startServer();
    const [a, b] = [
      await s.baton.submit({ type: 'echo' }),
      await s.baton.submit({ type: 'echo', maxAttempts: 1 }),
    ];
    const agent = await s.request('POST', '/v1/agents', {
      body: { capabilities: [], concurrency: 2 },
    });
    const agentId = agent.body.id as string;
    const claim = await s.request('POST', `/v1/agents/${agentId}/claim`, {
      body: { max: 2 },
    });
    const token = (id: string): number =>
      (claim.body.leases as { taskId: string; token: number }[]).find((l) => l.taskId === id)!
        .token;
    for (const runMs of [-1, 'fast', null]) {
      const refused = await s.request('POST', `/v1/leases/${a.id}/complete`, {
        body: { token: token(a.id), agentId, result: 1, runMs },
      });
      expect(refused.status, `runMs ${String(runMs)}`).toBe(400);
      expect(refused.body.error.code).toBe('BATON_VALIDATION');
    }
    expect((await s.baton.get(a.id))?.state, 'nothing changed').toBe('running');

    const done = await s.request('POST', `/v1/leases/${a.id}/complete`, {
      body: { token: token(a.id), agentId, result: 1, runMs: 1234.4 },
    });
    expect(done.status).toBe(200);
    const failed = await s.request('POST', `/v1/leases/${b.id}/fail`, {
      body: { token: token(b.id), agentId, error: { message: 'no' }, runMs: 56 },
    });
    expect(failed.status).toBe(200);
    const read = await s.request('GET', `/v1/tasks/${a.id}`);
    const attempts = read.body.attempts as { runMs: number | null }[];
    expect(
      attempts.map((x) => x.runMs),
      'as the API answers it',
    ).toEqual([1234]);
    expect((await s.baton.attempts(b.id)).map((x) => x.runMs)).toEqual([56]);
  });

  it('releases a lease for later: the task is delayed, claimable only once delayMs has passed, and the attempt is not counted', async () => {
    const clock = new ManualClock();
    const s = await startServer({ clock: clock.now });
    const { id: taskId } = await s.baton.submit({ type: 'echo', maxAttempts: 1 });
    const agentId = await registerRemote(s);
    const [lease] = await claimLeases(s, agentId);
    expect(lease).toMatchObject({ taskId, token: 1, attempt: 1 });

    const released = await s.request('POST', `/v1/leases/${taskId}/release`, {
      body: { token: 1, agentId, delayMs: 2_000, reason: 'deferred: agent busy' },
    });
    expect(released.status).toBe(200);
    expect(released.body).toEqual({ taskId, state: 'delayed' });
    expect(await s.baton.get(taskId)).toMatchObject({
      state: 'delayed',
      runAfter: clock.now() + 2_000,
      attempts: 0,
    });

    expect(await claimLeases(s, agentId), 'not claimable at once').toEqual([]);
    clock.advance(1_999);
    expect(await claimLeases(s, agentId), 'not claimable 1 ms before the delay ends').toEqual([]);
    clock.advance(1);
    const [again] = await claimLeases(s, agentId);
    expect(again, 'claimable once the delay has passed').toMatchObject({
      taskId,
      token: 2,
      attempt: 1,
    });

    // The old token stays fenced off, and its refusal changes nothing.
    const stale = await s.request('POST', `/v1/leases/${taskId}/release`, {
      body: { token: 1, agentId, delayMs: 5_000 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('BATON_LEASE_LOST');
    expect(await s.baton.get(taskId)).toMatchObject({ state: 'running', attempts: 1 });

    // maxAttempts 1, and the release did not use it up: the second claim can still succeed.
    const done = await s.request('POST', `/v1/leases/${taskId}/complete`, {
      body: { token: 2, agentId, result: 'ok' },
    });
    expect(done.body).toEqual({ taskId, state: 'succeeded' });
    const detail = await s.request('GET', `/v1/tasks/${taskId}`);
    expect(
      (detail.body.attempts as { attempt: number; outcome: string }[]).map((a) => [
        a.attempt,
        a.outcome,
      ]),
    ).toEqual([
      [1, 'released'],
      [1, 'succeeded'],
    ]);
    const events = [];
    for await (const e of s.baton.events({ follow: false })) {
      if (e.type === 'task.released') events.push([e.taskId, e.agentId, e.data]);
    }
    expect(events).toEqual([
      [taskId, agentId, { attempt: 1, reason: 'deferred: agent busy', delayMs: 2_000 }],
    ]);
  });

  it('releases without a delay: the task is ready at once, with the default reason', async () => {
    const s = await startServer();
    const { id: taskId } = await s.baton.submit({ type: 'echo' });
    const agentId = await registerRemote(s);
    const [lease] = await claimLeases(s, agentId);
    const released = await s.request('POST', `/v1/leases/${taskId}/release`, {
      body: { token: lease!.token, agentId },
    });
    expect(released.body).toEqual({ taskId, state: 'ready' });
    expect((await claimLeases(s, agentId)).map((l) => l.taskId)).toEqual([taskId]);
    const events = [];
    for await (const e of s.baton.events({ follow: false })) {
      if (e.type === 'task.released') events.push(e.data);
    }
    expect(events).toEqual([{ attempt: 1, reason: 'released', delayMs: 0 }]);
  });

  it('refuses a release with a bad delayMs or reason with 400, and nothing changes', async () => {
    const s = await startServer();
    const { id: taskId } = await s.baton.submit({ type: 'echo' });
    const agentId = await registerRemote(s);
    const [lease] = await claimLeases(s, agentId);
    const token = lease!.token;
    const before = await s.baton.get(taskId);
    const eventCount = async () => {
      let n = 0;
      for await (const _ of s.baton.events({ follow: false })) n++;
      return n;
    };
    const eventsBefore = await eventCount();
    const bad: [unknown, RegExp][] = [
      [{ token, agentId, delayMs: -1 }, /delayMs/],
      [{ token, agentId, delayMs: 1.5 }, /delayMs/],
      [{ token, agentId, delayMs: '5000' }, /delayMs/],
      [{ token, agentId, delayMs: MAX_RELEASE_DELAY_MS + 1 }, /delayMs/],
      [{ token, agentId, reason: 42 }, /reason/],
      [{ token, agentId, delayMs: 10, later: true }, /unknown field 'later'/],
      [{ agentId, delayMs: 10 }, /token/],
      [{ token, delayMs: 10 }, /agentId/],
    ];
    for (const [body, message] of bad) {
      const res = await s.request('POST', `/v1/leases/${taskId}/release`, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('BATON_VALIDATION');
      expect(res.body.error.message, JSON.stringify(body)).toMatch(message);
    }
    expect(await s.baton.get(taskId), 'a refused release changes nothing').toEqual(before);
    expect(await eventCount()).toBe(eventsBefore);
    // The lease is still held: it completes.
    const done = await s.request('POST', `/v1/leases/${taskId}/complete`, {
      body: { token, agentId, result: null },
    });
    expect(done.body).toEqual({ taskId, state: 'succeeded' });
  });

  it('long-polls a claim until work arrives', async () => {
    const s = await startServer();
    const agent = await s.request('POST', '/v1/agents', {
      body: { capabilities: [], concurrency: 1 },
    });
    const pending = s.request('POST', `/v1/agents/${agent.body.id as string}/claim`, {
      body: { waitMs: 20_000, types: ['late'] },
    });
    // The claim is waiting; nothing of type 'late' exists yet.
    await s.baton.submit({ type: 'other' });
    const { id } = await s.baton.submit({ type: 'late' });
    const claimed = await pending;
    expect(claimed.status).toBe(200);
    expect((claimed.body.leases as { taskId: string }[]).map((l) => l.taskId)).toEqual([id]);
  });

  it('refuses a claim for an unknown agent, a waitMs over 30 s, and a heartbeat of a lost agent', async () => {
    const s = await startServer();
    const unknown = await s.request('POST', '/v1/agents/agt_nobody/claim', { body: {} });
    expect(unknown.status).toBe(409);
    expect(unknown.body.error.code).toBe('BATON_AGENT_LOST');
    const agent = await s.request('POST', '/v1/agents', {
      body: { capabilities: [], concurrency: 1 },
    });
    const long = await s.request('POST', `/v1/agents/${agent.body.id as string}/claim`, {
      body: { waitMs: 60_000 },
    });
    expect(long.status).toBe(400);
    expect(long.body.error.message).toMatch(/waitMs/);
    const hb = await s.request('POST', '/v1/agents/agt_nobody/heartbeat', { body: {} });
    expect(hb.status).toBe(409);
  });

  it('refuses an agent whose name, capabilities or labels are over the limits (400), and stores none', async () => {
    const s = await startServer();
    const long = 'x'.repeat(LIMITS.maxKeyLength + 1);
    const bodies: Record<string, unknown>[] = [
      { name: 'n'.repeat(1_000_000), capabilities: [], concurrency: 1 },
      { capabilities: [long], concurrency: 1 },
      {
        capabilities: Array.from({ length: AGENT_LIMITS.maxCapabilities + 1 }, (_, i) => `c${i}`),
        concurrency: 1,
      },
      { capabilities: [], concurrency: 1, labels: { [long]: 'v' } },
      { capabilities: [], concurrency: 1, labels: { zone: long } },
      {
        capabilities: [],
        concurrency: 1,
        labels: Object.fromEntries(
          Array.from({ length: AGENT_LIMITS.maxLabels + 1 }, (_, i) => [`l${i}`, 'v']),
        ),
      },
      { capabilities: [], concurrency: 1, host: long },
      { capabilities: [], concurrency: 1, version: long },
    ];
    for (const body of bodies) {
      const res = await s.request('POST', '/v1/agents', { body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('BATON_VALIDATION');
    }
    expect(await s.baton.agents()).toEqual([]);
    const ok = await s.request('POST', '/v1/agents', {
      body: {
        name: 'n'.repeat(LIMITS.maxKeyLength),
        capabilities: ['gpu'],
        concurrency: 1,
        labels: { zone: 'eu' },
      },
    });
    expect(ok.status).toBe(201);
  });

  it('needs the work scope', async () => {
    const s = await startServer({ tokens: [{ token: 'r', scopes: ['read', 'submit'] }] });
    const res = await s.request('POST', '/v1/agents', {
      body: { capabilities: [], concurrency: 1 },
      headers: { authorization: 'Bearer r' },
    });
    expect(res.status).toBe(403);
    const release = await s.request('POST', '/v1/leases/tsk_any/release', {
      body: { token: 1 },
      headers: { authorization: 'Bearer r' },
    });
    expect(release.status).toBe(403);
    expect(release.body.error.details).toMatchObject({ scope: 'work' });
  });

  it.skipIf(!hasPython)('runs examples/python-agent.py against a real server', async () => {
    const s = await startServer({ tokens: [{ token: 'pytok', scopes: ['work'] }] });
    const run = await s.baton.submitRun({
      tasks: [
        { key: 'a', type: 'upper', payload: { text: 'hello' }, requires: ['python'] },
        { key: 'b', type: 'add', payload: { numbers: [1, 2, 3] }, dependsOn: ['a'] },
      ],
    });
    const child = spawn('python3', [PYTHON_AGENT, '--url', s.url, '--max-tasks', '2'], {
      env: { ...process.env, BATON_TOKEN: 'pytok' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [a, b] = run.tasks;
    expect((await s.baton.get(a!.id))?.result).toEqual({ text: 'HELLO' });
    expect((await s.baton.get(b!.id))?.result).toEqual({ sum: 6 });
    expect((await s.baton.getRun(run.runId))?.state).toBe('succeeded');
    // Its last line went with the outcome, into the task's log.
    const log = await s.baton.readLogs({ taskId: a!.id });
    expect(log.lines.map((l) => l.text)).toEqual(['upper: done in python']);
  });

  it.skipIf(!hasPython)(
    'examples/python-agent.py releases a task its handler says is Busy, and runs it after the delay',
    async () => {
      const s = await startServer();
      const { id } = await s.baton.submit({ type: 'flaky', maxAttempts: 1 });
      // The example's own main(), with one more handler: busy the first time, then done.
      const script = [
        'import importlib.util, sys',
        `spec = importlib.util.spec_from_file_location("agent", ${JSON.stringify(PYTHON_AGENT)})`,
        'agent = importlib.util.module_from_spec(spec)',
        'spec.loader.exec_module(agent)',
        'calls = []',
        'def flaky(payload):',
        '    calls.append(1)',
        '    if len(calls) == 1:',
        '        raise agent.Busy("model server busy", 300)',
        '    return {"calls": len(calls)}',
        'agent.HANDLERS["flaky"] = flaky',
        `sys.argv = ["agent", "--url", ${JSON.stringify(s.url)}, "--types", "flaky", "--capabilities", "", "--max-tasks", "1"]`,
        'agent.main()',
      ].join('\n');
      const child = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toContain(`deferred ${id} for 300 ms: model server busy`);
      expect(await s.baton.get(id)).toMatchObject({
        state: 'succeeded',
        result: { calls: 2 },
        attempts: 1,
      });
      const [released, succeeded] = await s.baton.backend.getAttempts(id);
      expect([released?.outcome, succeeded?.outcome]).toEqual(['released', 'succeeded']);
      expect(
        succeeded!.startedAt - released!.finishedAt!,
        'not claimed again before its delay',
      ).toBeGreaterThanOrEqual(300);
      const events = [];
      for await (const e of s.baton.events({ follow: false })) {
        if (e.type === 'task.released') events.push(e.data);
      }
      expect(events).toEqual([{ attempt: 1, reason: 'deferred: model server busy', delayMs: 300 }]);
    },
  );
});

describe('a lease belongs to its agent, and an agent to its token', () => {
  const TOKENS = [
    { token: 'token-of-a-0123456789abcdef', scopes: ['work' as const] },
    { token: 'token-of-b-0123456789abcdef', scopes: ['work' as const] },
  ];
  const A = { authorization: `Bearer ${TOKENS[0]!.token}` };
  const B = { authorization: `Bearer ${TOKENS[1]!.token}` };

  /** What a refused call must leave as it was: the task, its attempts, the event stream. */
  async function state(s: TestServer, taskId: string) {
    const task = await s.baton.get(taskId);
    return {
      task,
      attempts: await s.baton.backend.getAttempts(taskId),
      lastEventId: await s.baton.lastEventId(),
    };
  }

  /** An error body that says nothing of a token: no `token` detail, no number but in ids. */
  function expectNoToken(body: { error: { details: Record<string, unknown> } }, what: string) {
    expect(body.error.details, what).not.toHaveProperty('token');
    expect(
      JSON.stringify(body).replace(/\b(agt|tsk|run)_[0-9A-Z]+\b/g, '<id>'),
      `${what}: no token number in the error body`,
    ).not.toMatch(/\d/);
  }

  it('agent B, with its own token, cannot settle, renew or give back agent A’s lease, even with A’s token number', async () => {
    const s = await startServer({ tokens: TOKENS });
    const { id: taskId } = await s.baton.submit({ type: 'echo' });
    const a = await registerRemote(s, A);
    const b = await registerRemote(s, B);
    const [lease] = await claimLeases(s, a, A);
    expect(lease).toMatchObject({ taskId, token: 1 });
    const before = await state(s, taskId);

    // B names itself: the store refuses it, as B does not hold the lease.
    for (const [call, extra] of [
      ['complete', { result: 'stolen' }],
      ['fail', { error: { message: 'sabotage' }, retryable: false }],
      ['release', { delayMs: 60_000 }],
      ['renew', { leaseTtlMs: 60_000 }],
    ] as const) {
      const res = await s.request('POST', `/v1/leases/${taskId}/${call}`, {
        body: { token: lease!.token, agentId: b, ...extra },
        headers: B,
      });
      expect(res.status, `${call} by B of A's lease`).toBe(409);
      expect(res.body.error.code).toBe('BATON_LEASE_LOST');
      expectNoToken(res.body, `${call} by B of A's lease`);
      expect(await state(s, taskId), `${call} by B changes nothing`).toEqual(before);
    }

    // B names A: A is bound to A's token, so B's token cannot act for it.
    for (const [call, extra] of [
      ['complete', { result: 'stolen' }],
      ['fail', { error: { message: 'sabotage' }, retryable: false }],
      ['release', { delayMs: 60_000 }],
      ['renew', { leaseTtlMs: 60_000 }],
    ] as const) {
      const res = await s.request('POST', `/v1/leases/${taskId}/${call}`, {
        body: { token: lease!.token, agentId: a, ...extra },
        headers: B,
      });
      expect(res.status, `${call} as A with B's token`).toBe(403);
      expect(res.body.error.code).toBe('BATON_FORBIDDEN');
      expect(res.body.error.details).toEqual({ agentId: a });
      expectNoToken(res.body, `${call} as A with B's token`);
      expect(await state(s, taskId), `${call} as A with B's token changes nothing`).toEqual(before);
    }

    // A stale or wrong token from A itself says nothing of the current one either.
    const stale = await s.request('POST', `/v1/leases/${taskId}/complete`, {
      body: { token: lease!.token + 1, agentId: a, result: 'no' },
      headers: A,
    });
    expect(stale.status).toBe(409);
    expectNoToken(stale.body, 'complete by A with a token never issued');

    const done = await s.request('POST', `/v1/leases/${taskId}/complete`, {
      body: { token: lease!.token, agentId: a, result: 'mine' },
      headers: A,
    });
    expect(done.status).toBe(200);
    expect((await s.baton.get(taskId))?.result).toBe('mine');
  });

  it('another token cannot heartbeat, claim for, or register again an agent; its own token can', async () => {
    const s = await startServer({ tokens: TOKENS });
    await s.baton.submit({ type: 'echo' });
    const a = await registerRemote(s, A);
    const before = (await s.baton.agents()).find((x) => x.id === a);
    const events = await s.baton.lastEventId();

    const heartbeat = await s.request('POST', `/v1/agents/${a}/heartbeat`, {
      body: { report: { cpuPercent: 99, rssBytes: 1 } },
      headers: B,
    });
    expect(heartbeat.status).toBe(403);
    expect(heartbeat.body.error.code).toBe('BATON_FORBIDDEN');
    const claim = await s.request('POST', `/v1/agents/${a}/claim`, { body: {}, headers: B });
    expect(claim.status).toBe(403);
    const again = await s.request('POST', '/v1/agents', {
      body: { id: a, name: 'impostor', capabilities: ['all'], concurrency: 9 },
      headers: B,
    });
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('BATON_FORBIDDEN');
    expect(
      (await s.baton.agents()).find((x) => x.id === a),
      'A is as it was',
    ).toEqual(before);
    expect(await s.baton.lastEventId(), 'no event').toBe(events);
    expect((await s.baton.tasks({ state: 'ready' })).tasks, 'nothing was claimed').toHaveLength(1);

    const own = await s.request('POST', '/v1/agents', {
      body: { id: a, name: 'a again', capabilities: [], concurrency: 1 },
      headers: A,
    });
    expect(own.status, 'its own token registers it again').toBe(201);
    const beat = await s.request('POST', `/v1/agents/${a}/heartbeat`, { body: {}, headers: A });
    expect(beat.status).toBe(200);
  });

  it('the binding is in the store: it holds on another server on the same store, and after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-bind-'));
    try {
      const store = `sqlite:${join(dir, 'baton.db')}`;
      const first = await startServer({ tokens: TOKENS, store });
      const second = await startServer({ tokens: TOKENS, store });
      const a = await registerRemote(first, A);
      expect(
        (await second.request('POST', `/v1/agents/${a}/heartbeat`, { body: {}, headers: B }))
          .status,
        'another server refuses B acting for A',
      ).toBe(403);
      expect(
        (await second.request('POST', `/v1/agents/${a}/heartbeat`, { body: {}, headers: A }))
          .status,
        'and lets A through',
      ).toBe(200);
      await first.close();
      await second.close();
      const restarted = await startServer({ tokens: TOKENS, store });
      expect(
        (await restarted.request('POST', `/v1/agents/${a}/claim`, { body: {}, headers: B })).status,
        'after a restart',
      ).toBe(403);
      expect(
        (
          await restarted.request('POST', '/v1/agents', {
            body: { id: a, capabilities: [], concurrency: 1 },
            headers: B,
          })
        ).status,
      ).toBe(403);
      expect(
        (await restarted.request('POST', `/v1/agents/${a}/claim`, { body: {}, headers: A })).status,
      ).toBe(200);
    } finally {
      await closeAll();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the store keeps no token: the owner it binds an agent to is a digest', async () => {
    const s = await startServer({ tokens: TOKENS });
    const a = await registerRemote(s, A);
    const owner = await s.baton.backend.agentOwner(a);
    expect(owner?.owner).toMatch(/^tok_[0-9a-f]{32}$/);
    expect(owner?.owner).not.toContain(TOKENS[0]!.token);
    expect(JSON.stringify(await s.baton.agents())).not.toContain(TOKENS[0]!.token);
  });

  it('without tokens nothing is bound, but a lease still belongs to its agent', async () => {
    const s = await startServer();
    const { id: taskId } = await s.baton.submit({ type: 'echo' });
    const a = await registerRemote(s);
    const b = await registerRemote(s);
    const [lease] = await claimLeases(s, a);
    const renew = await s.request('POST', `/v1/leases/${taskId}/renew`, {
      body: { token: lease!.token, agentId: b },
    });
    expect(renew.status, 'renew with B’s agentId').toBe(409);
    expect(renew.body.error.code).toBe('BATON_LEASE_LOST');
    expect((await s.baton.get(taskId))?.leaseExpiresAt).toBe(lease!.expiresAt);
  });
});

/** Register an agent over HTTP that takes any task (with these headers: a token); its id. */
async function registerRemote(
  s: TestServer,
  headers: Record<string, string> = {},
): Promise<string> {
  const agent = await s.request('POST', '/v1/agents', {
    body: { name: 'remote', capabilities: [], concurrency: 1 },
    headers,
  });
  expect(agent.status).toBe(201);
  return agent.body.id as string;
}

/** Claim over HTTP without waiting; the leases. */
async function claimLeases(
  s: TestServer,
  agentId: string,
  headers: Record<string, string> = {},
): Promise<{ taskId: string; token: number; attempt: number; expiresAt: number }[]> {
  const res = await s.request('POST', `/v1/agents/${agentId}/claim`, {
    body: { max: 1 },
    headers,
  });
  expect(res.status).toBe(200);
  return res.body.leases as { taskId: string; token: number; attempt: number; expiresAt: number }[];
}
