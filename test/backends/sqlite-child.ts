/**
 * A second process for the SQLite multi-process tests: opens the store named on the command
 * line and does one job, then prints a JSON line with what it did.
 *
 *   node sqlite-child.ts <db file> drain   claim (10 at a time) and complete until nothing is left
 *   node sqlite-child.ts <db file> submit  submit one task of type `from-child`
 *   node sqlite-child.ts <db file> leave   submit one task and end without closing the backend
 */
import type { Backend } from '../../src/backends/backend.ts';
import { openBackend } from '../../src/backends/open.ts';

async function drain(backend: Backend): Promise<{ completed: string[] }> {
  const agent = await backend.registerAgent({
    capabilities: [],
    concurrency: 10,
    name: `child-${process.pid}`,
  });
  const completed: string[] = [];
  for (;;) {
    const leases = await backend.claim({
      agentId: agent.id,
      capabilities: [],
      max: 10,
      leaseTtlMs: 60_000,
    });
    if (leases.length === 0) return { completed };
    const outcomes = await backend.complete(
      leases.map((lease) => ({
        taskId: lease.taskId,
        token: lease.token,
        agentId: lease.agentId,
        result: process.pid,
      })),
    );
    for (const outcome of outcomes) if (outcome.status === 'ok') completed.push(outcome.taskId);
  }
}

async function submit(backend: Backend, type: string): Promise<{ submitted: string | undefined }> {
  const [task] = await backend.submitTasks([{ type }]);
  return { submitted: task?.id };
}

const [file, job] = process.argv.slice(2);
if (!file || (job !== 'drain' && job !== 'submit' && job !== 'leave')) {
  console.error('usage: sqlite-child.ts <db file> drain|submit|leave');
  process.exit(2);
}

const backend = await openBackend(`sqlite:${file}`);
if (job === 'leave') {
  // No close: nothing of the backend (checkpoint worker, timers) may keep the process alive.
  console.log(JSON.stringify(await submit(backend, 'left-behind')));
} else {
  try {
    console.log(
      JSON.stringify(job === 'drain' ? await drain(backend) : await submit(backend, 'from-child')),
    );
  } finally {
    await backend.close();
  }
}
