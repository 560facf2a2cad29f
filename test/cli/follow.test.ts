/**
 * `baton status --follow`: a real `baton` process follows a run that this test drives as an
 * agent would (claim, complete, fail), on SQLite and on Redis, through a pipe and on a terminal.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatonEvent } from '../../src/core/types.ts';
import type { Baton } from '../../src/runtime/baton.ts';
import { Baton as Client } from '../../src/runtime/baton.ts';
import pino from 'pino';
import { useCli } from '../helpers/cli.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';
import { Terminal } from '../helpers/terminal.ts';

const cli = useCli();

const AGENT = 'agt_driver';

/** A run of three tasks: a and b, then c after both. */
async function submit(baton: Baton): Promise<string> {
  await baton.backend.registerAgent({
    id: AGENT,
    name: 'driver',
    capabilities: [],
    concurrency: 10,
  });
  const { runId } = await baton.submitRun({
    name: 'followed',
    tasks: [
      { key: 'a', type: 'x', epic: 'one' },
      { key: 'b', type: 'x', epic: 'one', maxAttempts: 1 },
      { key: 'c', type: 'x', epic: 'two', dependsOn: ['a', 'b'] },
    ],
  });
  return runId;
}

/** Claim the ready task `key` as the driver agent and settle it. */
async function settle(baton: Baton, key: string, outcome: 'ok' | 'fail'): Promise<void> {
  const leases = await baton.backend.claim({
    agentId: AGENT,
    capabilities: [],
    max: 10,
    leaseTtlMs: 30_000,
  });
  const lease = leases.find((l) => l.task.key === key);
  if (lease === undefined) throw new Error(`task ${key} was not claimable`);
  const others = leases.filter((l) => l !== lease);
  if (others.length > 0) {
    await baton.backend.release(
      others.map((l) => ({ taskId: l.taskId, token: l.token, agentId: AGENT })),
    );
  }
  if (outcome === 'ok') {
    await baton.backend.complete([
      { taskId: lease.taskId, token: lease.token, agentId: AGENT, result: null, runMs: 5 },
    ]);
  } else {
    await baton.backend.fail([
      {
        taskId: lease.taskId,
        token: lease.token,
        agentId: AGENT,
        error: { message: 'it broke\nlast line of stderr' },
        retryable: false,
        runMs: 5,
      },
    ]);
  }
}

describe('baton status --follow on SQLite', () => {
  it('prints the run’s events as they happen, then its status; exit 0 when it succeeds', async () => {
    const baton = await cli.open();
    const runId = await submit(baton);
    const follow = cli.start(['status', runId, '--follow', '--store', cli.store]);
    await follow.waitFor(/following run run_\w+ \(followed, 3 tasks\)/, 'stderr');
    await settle(baton, 'a', 'ok');
    await follow.waitFor(/✓ a {2}driver {2}0\.01s/);
    await settle(baton, 'b', 'ok');
    await settle(baton, 'c', 'ok');
    const result = await follow.exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/✓ b {2}driver/);
    expect(result.stdout).toMatch(/✓ c {2}driver/);
    expect(result.stdout).toMatch(/run succeeded$/m);
    expect(result.stdout).toContain(`run ${runId} (followed) succeeded`);
    expect(result.stdout).toMatch(/^✓ c\s+two\s+succeeded/m);
  });

  it('exits 1 when the run fails, with the failure’s whole message', async () => {
    const baton = await cli.open();
    const runId = await submit(baton);
    const follow = cli.start(['status', '--follow', '--store', cli.store]);
    // Without an id: the newest run.
    await follow.waitFor(new RegExp(`following run ${runId}`), 'stderr');
    await settle(baton, 'b', 'fail');
    await settle(baton, 'a', 'ok');
    const result = await follow.exited;
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ b {2}driver {2}0\.01s {2}it broke last line of stderr/);
    expect(result.stdout).toMatch(/↷ c {2}skipped/);
    expect(result.stdout).toMatch(/^ {2}b: it broke\n {4}last line of stderr$/m);
  });

  it('--json prints each of the run’s events as a JSON line', async () => {
    const baton = await cli.open();
    const runId = await submit(baton);
    const follow = cli.start(['status', runId, '--follow', '--json', '--store', cli.store]);
    await follow.waitFor(/following run/, 'stderr');
    for (const key of ['a', 'b', 'c']) await settle(baton, key, 'ok');
    const result = await follow.exited;
    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as BatonEvent);
    expect(events.every((e) => e.runId === runId)).toBe(true);
    expect(events.filter((e) => e.type === 'task.succeeded')).toHaveLength(3);
    expect(events.at(-1)?.type).toBe('run.completed');
  });

  it('Ctrl-C stops following, not the run; a finished run is shown at once', async () => {
    const baton = await cli.open();
    const runId = await submit(baton);
    const follow = cli.start(['status', runId, '--follow', '--store', cli.store]);
    await follow.waitFor(/following run/, 'stderr');
    follow.child.kill('SIGINT');
    expect((await follow.exited).code).toBe(130);
    expect((await baton.getRun(runId))?.state).toBe('running');

    await baton.cancel(runId);
    const done = await cli.run(['status', runId, '--follow', '--store', cli.store]);
    expect(done.code).toBe(1);
    expect(done.stdout).toContain(`run ${runId} (followed) cancelled`);
  });

  it('says when there is no run to follow', async () => {
    const result = await cli.run(['status', '--follow', '--store', cli.store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error \[BATON_NOT_FOUND\]: there is no run to follow/);
  });

  it('draws the live frame on a terminal, and leaves one copy of it', async () => {
    const baton = await cli.open();
    const runId = await submit(baton);
    const follow = cli.startTty(['status', runId, '--follow', '--store', cli.store], {
      columns: 80,
      rows: 24,
    });
    await follow.waitFor(/0\/3 done/);
    for (const key of ['a', 'b', 'c']) await settle(baton, key, 'ok');
    const result = await follow.exited;
    expect(result.code).toBe(0);
    const terminal = new Terminal(80, 24);
    terminal.write(result.stdout);
    const lines = terminal.lines();
    expect(
      lines.filter((l) => /^followed {2}/.test(l)),
      lines.join('\n'),
    ).toEqual([expect.stringMatching(/ 3\/3 done$/)]);
    expect(lines).toContain('  one  ✓✓  2/2');
  });
});

const namespace = `test-follow-${randomUUID()}`;
const available = await redisAnswers();
const ci = process.env['CI'] === 'true';

describe('baton status --follow on Redis', () => {
  let baton: Baton | undefined;
  beforeAll(async () => {
    if (!available) {
      if (ci) throw new Error('CI=true and no Redis answers on 127.0.0.1:6379');
      return;
    }
    baton = await Client.open(REDIS_URL, { namespace, logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await baton?.close();
    if (available) await deleteNamespaces([namespace]);
  });

  it.skipIf(!available && !ci)('follows a run to its end from the Redis event stream', async () => {
    const runId = await submit(baton!);
    const follow = cli.start([
      'status',
      runId,
      '--follow',
      '--store',
      REDIS_URL,
      '--namespace',
      namespace,
    ]);
    await follow.waitFor(/following run/, 'stderr');
    await settle(baton!, 'a', 'ok');
    await follow.waitFor(/✓ a {2}driver/);
    await settle(baton!, 'b', 'ok');
    await settle(baton!, 'c', 'ok');
    const result = await follow.exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/run succeeded$/m);
    expect(result.stdout).toContain(`run ${runId} (followed) succeeded`);
  });
});
