/**
 * `baton agents`: the real command on a real SQLite store whose agents were registered, did
 * work, reported their process and stalled; and the table's rendering on its own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { formatBytes, renderAgentList } from '../../src/cli/commands/agents.ts';
import { renderEventLine } from '../../src/cli/render.ts';
import type { AgentRecord } from '../../src/core/types.ts';
import { useCli } from '../helpers/cli.ts';

const cli = useCli();

/** Agents with a history: one worked (a success, a failure), holds a task and stalled; one idle; one left. */
async function seedAgents(): Promise<{ coder: string; idle: string; gone: string; held: string }> {
  const baton = await cli.open();
  const b = baton.backend;
  const coder = await b.registerAgent({
    name: 'coder-1',
    capabilities: ['git', 'node'],
    concurrency: 3,
    labels: { zone: 'eu' },
    host: 'box',
    pid: 4242,
    version: '9.9.9',
  });
  const idle = await b.registerAgent({ name: 'idle-1', capabilities: [], concurrency: 1 });
  const gone = await b.registerAgent({ name: 'gone-1', capabilities: [], concurrency: 1 });
  await b.deregisterAgent(gone.id);
  const claimOne = async () => {
    const [lease] = await b.claim({
      agentId: coder.id,
      capabilities: coder.capabilities,
      max: 1,
      leaseTtlMs: 60_000,
    });
    if (!lease) throw new Error('nothing to claim');
    return lease;
  };
  await b.submitTasks([{ type: 'build' }]);
  const built = await claimOne();
  await b.complete([
    { taskId: built.taskId, token: built.token, agentId: built.agentId, result: null },
  ]);
  await b.submitTasks([{ type: 'lint', maxAttempts: 1 }]);
  const linted = await claimOne();
  await b.fail([
    {
      taskId: linted.taskId,
      token: linted.token,
      agentId: linted.agentId,
      error: { message: 'lint' },
    },
  ]);
  await b.submitTasks([{ type: 'build' }]);
  const held = await claimOne();
  await b.heartbeat(coder.id, { cpuPercent: 12.5, rssBytes: 48 * 1024 * 1024 });
  // Holding a task, no renew: stalled past a 5 ms threshold (the sleep makes sure it passed).
  await sleep(20);
  const swept = await b.sweep({ agentTtlMs: 60_000, stallAfterMs: 5 });
  expect(swept.agentsStalled).toEqual([coder.id]);
  return { coder: coder.id, idle: idle.id, gone: gone.id, held: held.taskId };
}

describe('baton agents', () => {
  it('--json prints the agent records (stopped ones with --all)', async () => {
    const seeded = await seedAgents();
    const result = await cli.run(['agents', '--store', cli.store, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { agents } = JSON.parse(result.stdout) as { agents: AgentRecord[] };
    expect(agents.map((a) => a.id)).toEqual([seeded.coder, seeded.idle]);
    expect(agents[0]).toMatchObject({
      name: 'coder-1',
      state: 'active',
      health: 'stalled',
      host: 'box',
      pid: 4242,
      version: '9.9.9',
      inFlight: [seeded.held],
      process: { cpuPercent: 12.5, rssBytes: 48 * 1024 * 1024 },
      stats: {
        build: { succeeded: 1, failed: 0 },
        lint: { succeeded: 0, failed: 1, meanRunMs: null },
      },
    });
    expect(agents[1]).toMatchObject({ name: 'idle-1', health: 'ok', inFlight: [] });

    const all = await cli.run(['agents', '--store', cli.store, '--json', '--all']);
    const listed = (JSON.parse(all.stdout) as { agents: AgentRecord[] }).agents;
    expect(listed.find((a) => a.id === seeded.gone)).toMatchObject({
      state: 'stopped',
      health: 'stopped',
    });
  });

  it('prints a table: health, load, host, process and counters per type, then who holds what', async () => {
    const seeded = await seedAgents();
    const result = await cli.run(['agents', '--store', cli.store]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^ID\s+NAME\s+HEALTH\s+CAPABILITIES\s+LABELS\s+IN FLIGHT\s+HOST:PID\s+HEARTBEAT\s+CPU\s+RSS\s+TASKS/,
    );
    const coder = lines.find((l) => l.startsWith(seeded.coder));
    expect(coder).toMatch(
      /coder-1\s+stalled\s+git,node\s+zone=eu\s+1\/3\s+box:4242\s+\d+s ago\s+12\.5%\s+48\.0 MiB\s+build 1\/0 \d+\.\d\ds; lint 0\/1 -$/,
    );
    expect(lines.find((l) => l.startsWith(seeded.idle))).toMatch(
      /idle-1\s+ok\s+-\s+-\s+0\/1\s+-\s+\d+s ago\s+-\s+-\s+-$/,
    );
    expect(result.stdout, 'stopped agents are hidden').not.toContain(seeded.gone);
    expect(result.stdout).toContain(`coder-1 holds ${seeded.held}`);
    expect(result.stdout).toContain('1 stopped agent not shown (--all lists them)');
  });

  it('says so when there are no agents', async () => {
    const result = await cli.run(['agents', '--store', cli.store]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('no agents');
  });
});

describe('renderAgentList', () => {
  const base: AgentRecord = {
    id: 'agt_a',
    name: 'a',
    capabilities: [],
    labels: {},
    concurrency: 2,
    host: null,
    pid: null,
    version: null,
    state: 'active',
    startedAt: 0,
    lastHeartbeatAt: 0,
    inFlight: [],
    health: 'ok',
    stalledAt: null,
    stats: {},
    process: { cpuPercent: null, rssBytes: null },
  };

  it('shows each health and the age of the last heartbeat', () => {
    const text = renderAgentList(
      [
        { ...base, id: 'agt_ok', name: 'fine' },
        { ...base, id: 'agt_st', name: 'busy', health: 'stalled', stalledAt: 1_000 },
        { ...base, id: 'agt_lo', name: 'silent', state: 'lost', health: 'lost' },
      ],
      125_000,
    );
    expect(text).toMatch(/^agt_ok\s+fine\s+ok\s/m);
    expect(text).toMatch(/^agt_st\s+busy\s+stalled\s/m);
    expect(text).toMatch(/^agt_lo\s+silent\s+lost\s.*2m ago/m);
    expect(text).not.toContain('holds');
  });

  it('lists counters per type in name order, and the tasks held', () => {
    const text = renderAgentList(
      [
        {
          ...base,
          inFlight: ['tsk_1', 'tsk_2'],
          stats: {
            lint: { succeeded: 0, failed: 2, meanRunMs: null },
            build: { succeeded: 3, failed: 1, meanRunMs: 1_500 },
          },
        },
      ],
      0,
    );
    expect(text).toMatch(/2\/2\s.*build 3\/1 1\.50s; lint 0\/2 -$/m);
    expect(text).toContain('a holds tsk_1, tsk_2');
  });

  it('formats memory in units of 1024', () => {
    expect(formatBytes(null)).toBe('-');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
});

describe('event lines', () => {
  it('say when an agent stalls and recovers', () => {
    const ctx = { startedAt: 0, taskLabel: (id: string) => id, agentLabel: () => 'agent-2' };
    const event = (type: 'agent.stalled' | 'agent.recovered') => ({
      id: '1',
      type,
      at: 1_000,
      taskId: null,
      runId: null,
      agentId: 'agt_x',
      data: {},
    });
    expect(renderEventLine(event('agent.stalled'), ctx)).toBe(
      '[  1.00s] ! agent-2 stalled: alive, but its tasks make no progress',
    );
    expect(renderEventLine(event('agent.recovered'), ctx)).toBe('[  1.00s] agent-2 recovered');
  });
});
