/**
 * Baton from TypeScript: open a store, submit a small DAG, run a worker with custom handlers,
 * wait for the run, print what each task returned, close.
 *
 *   npx node --conditions=baton-source examples/sdk.ts
 *
 * (`baton-source` makes `import … from 'baton-queue'` resolve to the TypeScript sources of this
 * checkout; an installed package resolves to its compiled build without it.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pino from 'pino';

import { Baton, NonRetryableError, type TaskHandler } from 'baton-queue';

const dir = mkdtempSync(join(tmpdir(), 'baton-sdk-'));
// Quiet logs (warnings only) so the example's own output stands out.
const baton = await Baton.open(`sqlite:${join(dir, 'baton.db')}`, {
  logger: pino({ level: 'warn' }),
});

try {
  // A fan-out and a join: two word counts run in parallel, then a total that depends on both.
  const { runId, tasks } = await baton.submitRun({
    name: 'word-count',
    tasks: [
      { key: 'count-a', type: 'count', epic: 'count', payload: { text: 'the quick brown fox' } },
      {
        key: 'count-b',
        type: 'count',
        epic: 'count',
        payload: { text: 'jumps over the lazy dog' },
      },
      {
        key: 'total',
        type: 'sum',
        epic: 'report',
        dependsOn: ['count-a', 'count-b'],
        priority: 'high',
      },
    ],
  });
  console.log(`submitted ${runId}: ${tasks.map((t) => `${t.key} (${t.state})`).join(', ')}`);

  const count: TaskHandler = async ({ payload, signal }) => {
    if (
      typeof payload !== 'object' ||
      payload === null ||
      Array.isArray(payload) ||
      typeof payload['text'] !== 'string'
    ) {
      // No attempt could fix a malformed payload: fail at once instead of retrying.
      throw new NonRetryableError('count needs a payload { text: string }');
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // pretend to work
    signal.throwIfAborted();
    return { words: payload['text'].split(/\s+/).length };
  };

  // A dependent sees each dependency's state and result, by key.
  const sum: TaskHandler = ({ dependencies }) => {
    let words = 0;
    for (const dep of Object.values(dependencies)) {
      const result = dep.result;
      if (
        typeof result === 'object' &&
        result !== null &&
        !Array.isArray(result) &&
        typeof result['words'] === 'number'
      ) {
        words += result['words'];
      }
    }
    return { words };
  };

  const worker = baton.worker({ name: 'sdk-example', concurrency: 2, handlers: { count, sum } });
  worker.on('task:succeeded', ({ lease, durationMs }) => {
    console.log(`  ${lease.task.key ?? lease.taskId} succeeded in ${durationMs} ms`);
  });
  await worker.start();

  const run = await baton.wait(runId, { timeoutMs: 30_000 });
  console.log(`run ${runId} ${run.state}`);
  const { tasks: records } = await baton.tasks({ runId });
  for (const task of records) {
    console.log(`  ${task.key ?? task.id}: ${task.state} → ${JSON.stringify(task.result)}`);
  }
} finally {
  await baton.close(); // stops the worker, then closes the store
  rmSync(dir, { recursive: true, force: true });
}
