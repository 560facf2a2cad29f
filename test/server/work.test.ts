import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { closeAll, startServer } from './harness.ts';

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
      body: { token: 7, result: 'no' },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('BATON_LEASE_LOST');

    const done = await s.request('POST', `/v1/leases/${taskId}/complete`, {
      body: { token: 1, result: { ok: true } },
    });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ taskId, state: 'succeeded' });
    expect((await s.baton.get(taskId))?.result).toEqual({ ok: true });

    const again = await s.request('POST', `/v1/leases/${taskId}/complete`, {
      body: { token: 1, result: 'twice' },
    });
    expect(again.status).toBe(409);
    expect((await s.baton.get(taskId))?.result).toEqual({ ok: true });
  });

  it('fails a lease; the task is retried, then fails when attempts run out', async () => {
    const s = await startServer();
    const { id: taskId } = await s.baton.submit({ type: 'echo', maxAttempts: 1 });
    const agent = await s.request('POST', '/v1/agents', {
      body: { capabilities: [], concurrency: 1 },
    });
    const claim = await s.request('POST', `/v1/agents/${agent.body.id as string}/claim`, {});
    const token = claim.body.leases[0].token as number;
    const failed = await s.request('POST', `/v1/leases/${taskId}/fail`, {
      body: { token, error: { message: 'bad input', code: 'E_INPUT' } },
    });
    expect(failed.status).toBe(200);
    expect(failed.body.state).toBe('failed');
    expect((await s.baton.get(taskId))?.error).toMatchObject({
      message: 'bad input',
      code: 'E_INPUT',
    });
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

  it('needs the work scope', async () => {
    const s = await startServer({ tokens: [{ token: 'r', scopes: ['read', 'submit'] }] });
    const res = await s.request('POST', '/v1/agents', {
      body: { capabilities: [], concurrency: 1 },
      headers: { authorization: 'Bearer r' },
    });
    expect(res.status).toBe(403);
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
  });
});
