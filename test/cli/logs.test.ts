/**
 * `baton logs`: the real command, as a child process, on a real SQLite file (and on Redis with
 * --store redis://…). A task broken on purpose by `baton run` shows its whole output; a run's
 * tasks interleave with their keys; --attempt, --stream and --json filter and shape it; --follow
 * prints lines as they come and ends when the task does.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/cli/render.ts';
import type { LogLine } from '../../src/core/logs.ts';
import type { Lease } from '../../src/core/types.ts';
import { Baton } from '../../src/runtime/baton.ts';
import { useCli } from '../helpers/cli.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';

const cli = useCli();

/** Run a plan with `baton run --json`; its summary. */
async function runPlan(yaml: string): Promise<RunSummary> {
  const plan = join(cli.dir, 'plan.yaml');
  await writeFile(plan, yaml);
  const result = await cli.run(['run', plan, '--store', cli.store, '--json']);
  expect(result.code, result.stderr).not.toBe(2);
  return JSON.parse(result.stdout) as RunSummary;
}

/** A running task of `baton`'s store, claimed by a registered agent (for a test to write to). */
async function claimed(baton: Baton): Promise<Lease> {
  const agent = await baton.backend.registerAgent({ capabilities: [], concurrency: 1 });
  const { id } = await baton.submit({ type: 'job' });
  const [lease] = await baton.backend.claim({
    agentId: agent.id,
    capabilities: [],
    max: 1,
    leaseTtlMs: 60_000,
  });
  expect(lease?.taskId).toBe(id);
  return lease!;
}

describe('baton logs', () => {
  it('shows the whole output of a task broken on purpose, every attempt of it', async () => {
    const summary = await runPlan(`name: broken
tasks:
  - key: build
    maxAttempts: 2
    backoff: { baseMs: 1, maxMs: 1, jitter: none }
    command: 'echo compiling; echo "error: missing semicolon" >&2; exit 3'
    shell: true
`);
    expect(summary.state).toBe('failed');
    const taskId = summary.tasks[0]!.id;

    const result = await cli.run(['logs', taskId, '--store', cli.store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'compiling\nerror: missing semicolon\ncompiling\nerror: missing semicolon\n',
    );
    // Where each attempt starts, for the person, on stderr.
    expect(result.stderr).toMatch(/── attempt 1 on agt_\w+ ──\n── attempt 2 on agt_\w+ ──/);

    const second = await cli.run([
      'logs',
      taskId,
      '--attempt',
      '2',
      '--stream',
      'stderr',
      '--store',
      cli.store,
    ]);
    expect(second.stdout).toBe('error: missing semicolon\n');

    const json = await cli.run(['logs', taskId, '--json', '--store', cli.store]);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);
    expect(lines.map((l) => [l.attempt, l.stream, l.level, l.text])).toEqual([
      [1, 'stdout', 'info', 'compiling'],
      [1, 'stderr', 'error', 'error: missing semicolon'],
      [2, 'stdout', 'info', 'compiling'],
      [2, 'stderr', 'error', 'error: missing semicolon'],
    ]);
    expect(json.stderr).toBe('');
  });

  it("interleaves a run's tasks in the order their lines were stored, each prefixed with its key", async () => {
    const summary = await runPlan(`name: pair
tasks:
  - key: first
    command: 'echo one; echo two'
    shell: true
  - key: second-task
    dependsOn: [first]
    command: 'echo three'
    shell: true
`);
    expect(summary.state).toBe('succeeded');
    const result = await cli.run(['logs', summary.runId, '--store', cli.store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('first       | one\nfirst       | two\nsecond-task | three\n');
    const json = await cli.run(['logs', summary.runId, '--json', '--store', cli.store]);
    const keys = json.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { key: string }).key);
    expect(keys).toEqual(['first', 'first', 'second-task']);
  });

  it('--follow prints lines as they are written and ends when the task finishes', async () => {
    const baton = await cli.open();
    const lease = await claimed(baton);
    const write = (text: string) =>
      baton.backend.appendLogs([
        { taskId: lease.taskId, token: lease.token, agentId: lease.agentId, lines: [{ text }] },
      ]);
    await write('first line');
    const follow = cli.start(['logs', lease.taskId, '--follow', '--store', cli.store]);
    await follow.waitFor(/first line\n/);
    await write('second line');
    await follow.waitFor(/second line\n/);
    expect(follow.child.exitCode, 'still following a running task').toBeNull();
    await baton.backend.complete([
      {
        taskId: lease.taskId,
        token: lease.token,
        agentId: lease.agentId,
        result: null,
        logs: [{ text: 'done' }],
      },
    ]);
    const result = await follow.exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('first line\nsecond line\ndone\n');
  });

  it('an unknown id is an error (exit 1), a bad flag a usage error (exit 2), and --help shows examples', async () => {
    const missing = await cli.run(['logs', 'tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV', '--store', cli.store]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      'error [BATON_NOT_FOUND]: task tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV not found',
    );
    const run = await cli.run(['logs', 'run_01ARZ3NDEKTSV4RRFFQ69G5FAV', '--store', cli.store]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('run run_01ARZ3NDEKTSV4RRFFQ69G5FAV not found');
    const attempt = await cli.run(['logs', 'tsk_x', '--attempt', '0', '--store', cli.store]);
    expect(attempt.code).toBe(2);
    expect(attempt.stderr).toContain('expected a whole number of 1 or more');
    const stream = await cli.run(['logs', 'tsk_x', '--stream', 'stdin', '--store', cli.store]);
    expect(stream.code).toBe(2);
    expect(stream.stderr).toContain('stdout, stderr, log');
    const help = await cli.run(['logs', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('baton logs run_01J… --follow');
    expect(help.stdout).toContain('--attempt <n>');
  });
});

const redis = await redisAnswers();
const ci = process.env.CI === 'true';

describe.skipIf(!redis && !ci)('baton logs --store redis://', () => {
  const namespace = `test-${randomUUID()}`;
  let baton: Baton;
  beforeAll(async () => {
    if (!redis) throw new Error('CI=true and no Redis answers on 127.0.0.1:6379');
    baton = await Baton.open(REDIS_URL, { namespace });
  });
  afterAll(async () => {
    await baton?.close();
    await deleteNamespaces([namespace]);
  });

  it('reads the same log from Redis', async () => {
    const lease = await claimed(baton);
    await baton.backend.fail([
      {
        taskId: lease.taskId,
        token: lease.token,
        agentId: lease.agentId,
        error: { message: 'boom' },
        retryable: false,
        logs: [
          { text: 'on redis', stream: 'stdout' },
          { text: 'it broke', stream: 'stderr', level: 'error' },
        ],
      },
    ]);
    const result = await cli.run([
      'logs',
      lease.taskId,
      '--store',
      REDIS_URL,
      '--namespace',
      namespace,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('on redis\nit broke\n');
  });
});
