/**
 * End to end, as the agent executor will run it: a task's handler writes the attempt's MCP
 * configuration (`writeMcpConfig`, bound to the attempt's lease), starts a fake `claude` with
 * `--mcp-config`, and the fake agent calls `set_state` and `submit_tasks` through `baton mcp`;
 * the tasks it spawned into the run are then claimed and run by the worker, and the run
 * completes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { expect, it } from 'vitest';

import { writeMcpConfigFor } from '../../src/mcp/config.ts';
import { Baton } from '../../src/runtime/baton.ts';

const run = promisify(execFile);
const FAKE_CLAUDE = new URL('./fixtures/fake-claude.ts', import.meta.url).pathname;

it('a fake claude sets state and spawns tasks through the configuration written for its attempt', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'baton-mcp-e2e-'));
  const store = `sqlite:${join(dir, 'baton.db')}`;
  const baton = await Baton.open(store);
  try {
    const worker = baton.worker({
      concurrency: 2,
      handlers: {
        agent: async (ctx) => {
          const config = writeMcpConfigFor(ctx, {
            dir: join(dir, 'attempts'),
            store,
            keyFile: join(dir, 'mcp.key'),
            filesRoot: join(dir, 'files'),
            env: {},
          });
          const prompt = JSON.stringify({
            decision: { approach: 'fan-out' },
            tasks: [
              { key: 'part-1', type: 'echo', payload: { n: 1 } },
              { key: 'part-2', type: 'echo', payload: { n: 2 } },
              { key: 'merge', type: 'echo', payload: 'merged', dependsOn: ['part-1', 'part-2'] },
            ],
          });
          const { stdout } = await run(
            process.execPath,
            [FAKE_CLAUDE, '-p', prompt, '--mcp-config', config.path],
            {
              cwd: dir,
              signal: ctx.signal,
            },
          );
          return JSON.parse(stdout.trim()) as { result: string };
        },
        echo: (ctx) => ctx.payload,
      },
    });
    await worker.start();
    const { runId } = await baton.submitRun({
      name: 'e2e',
      tasks: [{ key: 'lead', type: 'agent' }],
    });
    const done = await baton.wait(runId, { timeoutMs: 60_000 });
    await worker.stop();
    expect(done).toMatchObject({ state: 'succeeded' });
    const tasks = (await baton.tasks({ runId })).tasks;
    expect(Object.fromEntries(tasks.map((t) => [t.key, [t.state, t.result]]))).toEqual({
      lead: ['succeeded', { type: 'result', subtype: 'success', result: 'done' }],
      'part-1': ['succeeded', { n: 1 }],
      'part-2': ['succeeded', { n: 2 }],
      merge: ['succeeded', 'merged'],
    });
    expect(await baton.backend.getState(`run:${runId}`, 'decision')).toMatchObject({
      value: { approach: 'fan-out' },
      version: 1,
    });
  } finally {
    await baton.close();
    await rm(dir, { recursive: true, force: true });
  }
}, 90_000);
