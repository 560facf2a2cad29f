import { afterEach, describe, expect, it } from 'vitest';

import { LIMITS } from '../../src/core/validate.ts';
import { httpStatus } from '../../src/server/errors.ts';
import { closeAll, startServer } from './harness.ts';

afterEach(closeAll);

describe('HTTP API: tasks', () => {
  it('submits a task, reads it back with its attempts, lists and cancels it', async () => {
    const s = await startServer();
    const created = await s.request('POST', '/v1/tasks', {
      body: { type: 'echo', payload: { n: 1 }, requires: ['gpu'], priority: 'high' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ existing: false, state: 'ready' });
    const id = created.body.id as string;

    const got = await s.request('GET', `/v1/tasks/${id}`);
    expect(got.status).toBe(200);
    expect(got.body.task).toMatchObject({ id, type: 'echo', payload: { n: 1 }, priority: 2 });
    expect(got.body.attempts).toEqual([]);

    const listed = await s.request('GET', '/v1/tasks?state=ready&type=echo&limit=10');
    expect(listed.status).toBe(200);
    expect((listed.body.tasks as { id: string }[]).map((t) => t.id)).toEqual([id]);
    expect(listed.body.nextCursor).toBeNull();

    const cancelled = await s.request('POST', `/v1/tasks/${id}/cancel`, {
      body: { reason: 'not needed' },
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.task.state).toBe('cancelled');
    expect((await s.baton.get(id))?.state).toBe('cancelled');
  });

  it('returns the existing task (200) for a repeated idempotency key', async () => {
    const s = await startServer();
    const first = await s.request('POST', '/v1/tasks', {
      body: { type: 'echo', idempotencyKey: 'k1' },
    });
    const second = await s.request('POST', '/v1/tasks', {
      body: { type: 'echo', idempotencyKey: 'k1' },
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ id: first.body.id, existing: true });
  });

  it('pages through tasks with the cursor', async () => {
    const s = await startServer();
    for (let i = 0; i < 5; i++) await s.request('POST', '/v1/tasks', { body: { type: 'echo' } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { tasks: { id: string }[]; nextCursor: string | null } } =
        await s.request(
          'GET',
          `/v1/tasks?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
        );
      seen.push(...page.body.tasks.map((t) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  it('rejects an unknown field naming it, and stores nothing', async () => {
    const s = await startServer();
    const res = await s.request('POST', '/v1/tasks', { body: { type: 'echo', colour: 'red' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BATON_VALIDATION');
    expect(res.body.error.message).toContain("'colour'");
    expect((await s.baton.tasks()).tasks).toEqual([]);
  });

  it('reports core validation errors (bad maxAttempts) as 400 with the field', async () => {
    const s = await startServer();
    const res = await s.request('POST', '/v1/tasks', { body: { type: 'echo', maxAttempts: 0 } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BATON_VALIDATION');
    expect(res.body.error.message).toMatch(/maxAttempts/);
  });

  it('refuses malformed JSON with 400 and an oversized body with 413', async () => {
    const s = await startServer({ bodyLimit: 1024 });
    const bad = await s.request('POST', '/v1/tasks', { raw: '{"type": ' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BATON_VALIDATION');
    const big = await s.request('POST', '/v1/tasks', {
      body: { type: 'echo', payload: 'x'.repeat(2048) },
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('BATON_PAYLOAD_TOO_LARGE');
    expect((await s.baton.tasks()).tasks).toEqual([]);
  });

  it('answers 404 for an unknown task and an unknown route, with the error shape', async () => {
    const s = await startServer();
    const task = await s.request('GET', '/v1/tasks/tsk_nope');
    expect(task.status).toBe(404);
    expect(task.body).toEqual({
      error: { code: 'BATON_NOT_FOUND', message: expect.any(String), details: expect.any(Object) },
    });
    const route = await s.request('GET', '/v1/nothing');
    expect(route.status).toBe(404);
    expect(route.body.error.code).toBe('BATON_ROUTE_NOT_FOUND');
  });

  it('rejects an unknown or malformed query parameter', async () => {
    const s = await startServer();
    for (const query of ['state=sleeping', 'limit=0', 'limit=abc', 'colour=red']) {
      const res = await s.request('GET', `/v1/tasks?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('BATON_VALIDATION');
    }
  });
});

describe('HTTP API: runs', () => {
  const plan = {
    name: 'pipeline',
    tasks: [
      { key: 'a', type: 'echo' },
      { key: 'b', type: 'echo', dependsOn: ['a'] },
      { key: 'c', type: 'echo', dependsOn: ['a'] },
      { key: 'd', type: 'echo', dependsOn: ['b'] },
    ],
  };

  it('submits a JSON run and reads it with tasks, progress, levels and critical path', async () => {
    const s = await startServer();
    const created = await s.request('POST', '/v1/runs', { body: plan });
    expect(created.status).toBe(201);
    const runId = created.body.runId as string;
    expect(created.body.tasks).toHaveLength(4);
    const ids = Object.fromEntries(
      (created.body.tasks as { key: string; id: string }[]).map((t) => [t.key, t.id]),
    );

    const got = await s.request('GET', `/v1/runs/${runId}`);
    expect(got.status).toBe(200);
    expect(got.body.run).toMatchObject({ id: runId, name: 'pipeline', state: 'running' });
    expect(got.body.tasks).toHaveLength(4);
    expect(got.body.progress.total).toBe(4);
    expect(got.body.levels).toEqual([[ids.a], [ids.b, ids.c], [ids.d]]);
    expect(got.body.criticalPath).toEqual([ids.a, ids.b, ids.d]);

    const listed = await s.request('GET', '/v1/runs?order=asc');
    expect((listed.body.runs as { id: string }[]).map((r) => r.id)).toEqual([runId]);

    const cancelled = await s.request('POST', `/v1/runs/${runId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.run.state).toBe('cancelled');
  });

  it('submits a YAML plan with Content-Type application/yaml', async () => {
    const s = await startServer();
    const yaml = 'name: from-yaml\ntasks:\n  - key: hello\n    command: echo hi\n    shell: true\n';
    const created = await s.request('POST', '/v1/runs', {
      raw: yaml,
      contentType: 'application/yaml',
    });
    expect(created.status).toBe(201);
    const run = await s.baton.getRun(created.body.runId);
    expect(run?.name).toBe('from-yaml');
  });

  it('takes a plan file as JSON, told from a RunSpec by its shape, as baton run does', async () => {
    const s = await startServer();
    const plan = {
      name: 'from-json-plan',
      defaults: { maxAttempts: 2 },
      tasks: [
        { key: 'fetch', command: 'echo', args: ['hi'] },
        { key: 'report', command: 'cat report.txt', shell: true, dependsOn: ['fetch'] },
      ],
    };
    const created = await s.request('POST', '/v1/runs', { body: plan });
    expect(created.status).toBe(201);
    const run = await s.baton.getRun(created.body.runId);
    expect(run?.name).toBe('from-json-plan');
    const { tasks } = await s.baton.tasks({ runId: created.body.runId });
    expect(tasks.map((t) => [t.key, t.type, t.maxAttempts, t.payload])).toEqual([
      ['fetch', 'shell', 2, { command: 'echo', args: ['hi'], shell: false }],
      ['report', 'shell', 2, { command: 'cat report.txt', args: [], shell: true }],
    ]);

    // Without defaults or agents: tasks with command and no type are a plan too.
    const bare = await s.request('POST', '/v1/runs', {
      body: { tasks: [{ key: 'one', command: 'true' }] },
    });
    expect(bare.status).toBe(201);
    // A RunSpec is still a RunSpec.
    const spec = await s.request('POST', '/v1/runs', {
      body: { name: 'spec', tasks: [{ key: 'a', type: 'echo' }] },
    });
    expect(spec.status).toBe(201);
  });

  it('reads application/vnd.baton.plan+json as a plan, and names the line of a mistake', async () => {
    const s = await startServer();
    const text = '{\n  "tasks": [\n    { "key": "a", "comand": "echo" }\n  ]\n}\n';
    const res = await s.request('POST', '/v1/runs', {
      raw: text,
      contentType: 'application/vnd.baton.plan+json',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BATON_PLAN');
    expect(res.body.error.message).toBe(
      "request.json:3:19: tasks[0].comand: unknown field 'comand' (did you mean 'command'?); allowed fields: executor, epic, requires, priority, maxAttempts, timeoutMs, backoff, affinity, shell, cwd, env, model, system, maxTokens, temperature, key, title, dependsOn, idempotencyKey, command, args, payload, prompt, output, complexity, budget, aggregate",
    );
    // A plan-shaped body with a mistake, as application/json: the same answer.
    const shaped = await s.request('POST', '/v1/runs', {
      raw: '{"defaults": {"retries": 3}, "tasks": [{"key": "a", "command": "true"}]}',
    });
    expect(shaped.status).toBe(400);
    expect(shaped.body.error.message).toMatch(
      /^request\.json:1:15: defaults\.retries: unknown field/,
    );
    expect((await s.baton.runs()).runs).toEqual([]);
    // The plan media type is for POST /v1/runs only.
    const task = await s.request('POST', '/v1/tasks', {
      raw: '{"type": "echo"}',
      contentType: 'application/vnd.baton.plan+json',
    });
    expect(task.status).toBe(415);
  });

  it('reports a YAML plan error with its line as 400 BATON_PLAN', async () => {
    const s = await startServer();
    const yaml = 'tasks:\n  - key: a\n    command: echo\n    dependsOn: [zz]\n';
    const res = await s.request('POST', '/v1/runs', { raw: yaml, contentType: 'application/yaml' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BATON_PLAN');
    expect(res.body.error.message).toMatch(/request\.yaml:4:/);
    expect((await s.baton.runs()).runs).toEqual([]);
  });

  it('refuses a cyclic run atomically with 400 BATON_CYCLE', async () => {
    const s = await startServer();
    const res = await s.request('POST', '/v1/runs', {
      body: {
        tasks: [
          { key: 'a', type: 'echo', dependsOn: ['b'] },
          { key: 'b', type: 'echo', dependsOn: ['a'] },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BATON_CYCLE');
    expect((await s.baton.tasks()).tasks).toEqual([]);
  });

  it('answers 404 for an unknown run and for a task id on the run route', async () => {
    const s = await startServer();
    expect((await s.request('GET', '/v1/runs/run_nope')).status).toBe(404);
    expect((await s.request('GET', '/v1/runs/tsk_x')).status).toBe(404);
    expect((await s.request('POST', '/v1/runs/tsk_x/cancel')).status).toBe(404);
  });
});

describe('HTTP API: agents, stats, health', () => {
  it('lists agents and stats', async () => {
    const s = await startServer();
    await s.baton.backend.registerAgent({ id: 'agt_one', capabilities: ['gpu'], concurrency: 2 });
    await s.request('POST', '/v1/tasks', { body: { type: 'echo', requires: ['gpu'] } });
    const agents = await s.request('GET', '/v1/agents');
    expect(agents.status).toBe(200);
    expect((agents.body.agents as { id: string }[]).map((a) => a.id)).toEqual(['agt_one']);
    const stats = await s.request('GET', '/v1/stats');
    expect(stats.status).toBe(200);
    expect(stats.body.byState.ready).toBe(1);
    expect(stats.body.readyByRequires).toEqual([
      { requires: ['gpu'], count: 1, byType: { echo: 1 } },
    ]);
  });

  it('lists the agents available for a capability: active, healthy, with a free slot', async () => {
    const s = await startServer();
    const b = s.baton.backend;
    await b.registerAgent({ id: 'agt_gpu_idle', capabilities: ['gpu', 'py'], concurrency: 1 });
    await b.registerAgent({ id: 'agt_gpu_busy', capabilities: ['gpu'], concurrency: 1 });
    await b.registerAgent({ id: 'agt_cpu', capabilities: ['py'], concurrency: 2 });
    await s.baton.submit({ type: 'echo', requires: ['gpu'] });
    const [lease] = await b.claim({
      agentId: 'agt_gpu_busy',
      capabilities: ['gpu'],
      max: 1,
      leaseTtlMs: 30_000,
    });
    expect(lease).toBeDefined();
    const ids = async (query: string): Promise<string[]> => {
      const res = await s.request('GET', `/v1/agents/available${query}`);
      expect(res.status).toBe(200);
      return (res.body.agents as { id: string }[]).map((a) => a.id).sort();
    };
    expect(await ids('?capability=gpu')).toEqual(['agt_gpu_idle']);
    expect(await ids('?capability=gpu,py')).toEqual(['agt_gpu_idle']);
    expect(await ids('?capability=py')).toEqual(['agt_cpu', 'agt_gpu_idle']);
    expect(await ids('')).toEqual(['agt_cpu', 'agt_gpu_idle']);
    expect(await ids('?capability=tpu')).toEqual([]);
    const bad = await s.request('GET', '/v1/agents/available?capabilities=gpu');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('capabilities');
  });

  it('reports health, and 503 once the store is closed', async () => {
    const s = await startServer();
    const ok = await s.request('GET', '/health');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'ok', backend: { name: 'sqlite', reachable: true } });
    await s.baton.close();
    const down = await s.request('GET', '/health');
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('BATON_STORE_UNAVAILABLE');
  });

  it('maps every Baton error code to one HTTP status', () => {
    expect(httpStatus('BATON_VALIDATION')).toBe(400);
    expect(httpStatus('BATON_NOT_FOUND')).toBe(404);
    expect(httpStatus('BATON_LEASE_LOST')).toBe(409);
    expect(httpStatus('BATON_CONFLICT')).toBe(409);
    expect(httpStatus('BATON_PAYLOAD_TOO_LARGE')).toBe(413);
    expect(httpStatus('BATON_STORE_UNAVAILABLE')).toBe(503);
    expect(httpStatus('BATON_UNAUTHORIZED')).toBe(401);
    expect(httpStatus('BATON_FORBIDDEN')).toBe(403);
  });
});

describe('HTTP API: retry a failed task', () => {
  /** A task that failed for good (maxAttempts 1), through the backend an agent would use. */
  async function failedTask(s: Awaited<ReturnType<typeof startServer>>): Promise<string> {
    const { id } = await s.baton.submit({ type: 'echo', maxAttempts: 1 });
    await s.baton.backend.registerAgent({ id: 'agt_r', capabilities: [], concurrency: 1 });
    const [lease] = await s.baton.backend.claim({
      agentId: 'agt_r',
      capabilities: [],
      max: 1,
      leaseTtlMs: 30_000,
    });
    await s.baton.backend.fail([
      {
        taskId: lease!.taskId,
        token: lease!.token,
        agentId: lease!.agentId,
        error: { message: 'boom' },
      },
    ]);
    expect((await s.baton.get(id))?.state).toBe('failed');
    return id;
  }

  it('retries a failed task: 200 with the task ready again, the reason in its event', async () => {
    const s = await startServer();
    const id = await failedTask(s);
    const res = await s.request('POST', `/v1/tasks/${id}/retry`, {
      body: { reason: 'key rotated' },
    });
    expect(res.status).toBe(200);
    expect(res.body.task).toMatchObject({
      id,
      state: 'ready',
      attempts: 1,
      maxAttempts: 2,
      error: null,
    });
    expect((await s.baton.get(id))?.state).toBe('ready');
    const events = [];
    for await (const e of s.baton.events({ follow: false })) {
      if (e.type === 'task.retried') events.push(e);
    }
    expect(events.map((e) => [e.taskId, e.data])).toEqual([
      [id, { reason: 'key rotated', previousAttempts: 1 }],
    ]);
  });

  it('the body is optional; 409 once the task is no longer failed, 404 for an unknown task', async () => {
    const s = await startServer();
    const id = await failedTask(s);
    expect((await s.request('POST', `/v1/tasks/${id}/retry`)).status).toBe(200);
    const again = await s.request('POST', `/v1/tasks/${id}/retry`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({
      code: 'BATON_CONFLICT',
      details: { taskId: id, state: 'ready' },
    });
    expect(again.body.error.message).toContain('only failed tasks can be retried');
    const missing = await s.request('POST', '/v1/tasks/tsk_missing/retry', { body: {} });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('BATON_NOT_FOUND');
    expect((await s.request('POST', '/v1/tasks/run_abc/retry', { body: {} })).status).toBe(404);
  });

  it('refuses an unknown field or a non-string reason (400) and changes nothing', async () => {
    const s = await startServer();
    const id = await failedTask(s);
    for (const body of [{ reason: 'x', force: true }, { reason: 3 }]) {
      const res = await s.request('POST', `/v1/tasks/${id}/retry`, { body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('BATON_VALIDATION');
    }
    expect((await s.baton.get(id))?.state).toBe('failed');
  });

  it('needs the submit scope, like cancel', async () => {
    const s = await startServer({
      tokens: [
        { token: 'reader', scopes: ['read'] },
        { token: 'producer', scopes: ['submit'] },
      ],
    });
    const id = await failedTask(s);
    const denied = await s.request('POST', `/v1/tasks/${id}/retry`, {
      headers: { authorization: 'Bearer reader' },
      body: {},
    });
    expect(denied.status).toBe(403);
    expect((await s.baton.get(id))?.state).toBe('failed');
    const allowed = await s.request('POST', `/v1/tasks/${id}/retry`, {
      headers: { authorization: 'Bearer producer' },
      body: {},
    });
    expect(allowed.status).toBe(200);
  });
});

describe('HTTP API: nesting', () => {
  const flow = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

  it('refuses a payload nested 10,000 levels with 400 naming where, not 500, and stores nothing', async () => {
    const s = await startServer();
    const res = await s.request('POST', '/v1/tasks', {
      raw: `{"type": "echo", "payload": ${flow(10_000)}}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BATON_VALIDATION');
    expect(res.body.error.details.issues[0].path).toBe('payload[0][0][0][0][0][0][0]…');
    expect(res.body.error.message).toMatch(/more than 264 levels deep.*line 1, column \d+/);
    const run = await s.request('POST', '/v1/runs', {
      raw: `{"tasks": [{"type": "echo", "payload": ${flow(10_000)}}]}`,
    });
    expect(run.status).toBe(400);
    expect(run.body.error.details.issues[0].path).toBe('tasks[0].payload[0][0][0][0][0]…');
    expect(await s.baton.lastEventId()).toBeNull();
  });

  it('refuses a YAML plan nested 100,000 levels with 400 BATON_PLAN at its line', async () => {
    const s = await startServer();
    const res = await s.request('POST', '/v1/runs', {
      raw: `tasks:\n  - key: a\n    executor: echo\n    payload: ${flow(100_000)}\n`,
      contentType: 'application/yaml',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BATON_PLAN');
    expect(res.body.error.details.issues[0]).toMatchObject({ line: 4 });
    expect(res.body.error.message).toContain('levels deep');
    expect((await s.baton.runs()).runs).toEqual([]);
  });

  it('accepts a payload nested to the limit and refuses one level more, as the SDK does', async () => {
    const s = await startServer();
    const ok = await s.request('POST', '/v1/tasks', {
      raw: `{"type": "echo", "payload": ${flow(LIMITS.maxDepth)}}`,
    });
    expect(ok.status).toBe(201);
    const over = await s.request('POST', '/v1/tasks', {
      raw: `{"type": "echo", "payload": ${flow(LIMITS.maxDepth + 1)}}`,
    });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain(`deeper than ${LIMITS.maxDepth} levels`);
    let sdk: unknown;
    try {
      await s.baton.submit({ type: 'echo', payload: JSON.parse(flow(LIMITS.maxDepth + 1)) });
    } catch (error) {
      sdk = error;
    }
    expect((sdk as Error).message).toBe(
      (over.body.error.message as string).replace(/^payload/, 'tasks[0].payload'),
    );
  });

  it('refuses a result nested 10,000 levels on complete, and the lease stays held', async () => {
    const s = await startServer();
    const agent = await s.request('POST', '/v1/agents', {
      body: { capabilities: [], concurrency: 1 },
    });
    const { id } = await s.baton.submit({ type: 'echo' });
    const claim = await s.request('POST', `/v1/agents/${agent.body.id as string}/claim`, {
      body: {},
    });
    const token = claim.body.leases[0].token as number;
    const res = await s.request('POST', `/v1/leases/${id}/complete`, {
      raw: `{"token": ${token}, "result": ${flow(10_000)}}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues[0].path).toBe('result[0][0][0][0][0][0][0]…');
    expect((await s.baton.get(id))?.state).toBe('running');
  });

  it("keeps Fastify's prototype-poisoning protection", async () => {
    const s = await startServer();
    for (const raw of [
      '{"type": "echo", "__proto__": {"polluted": 1}}',
      '{"type": "echo", "constructor": {"prototype": {"polluted": 1}}}',
    ]) {
      const res = await s.request('POST', '/v1/tasks', { raw });
      expect(res.status, raw).toBe(400);
      expect(res.body.error.code).toBe('BATON_VALIDATION');
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect((await s.baton.tasks()).tasks).toEqual([]);
  });
});
