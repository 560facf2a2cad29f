/**
 * Colour in real `baton` processes: on a terminal (a pseudo-terminal from util-linux `script`),
 * never through a pipe, never with NO_COLOR; FORCE_COLOR turns it on anyway.
 */
import { styleText } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useCli } from '../helpers/cli.ts';

const cli = useCli();

const red = (text: string): string => styleText('red', text, { validateStream: false });
const green = (text: string): string => styleText('green', text, { validateStream: false });
const ESC = '\u001b[';

/** A run with one succeeded and one failed task; its id. */
async function finishedRun(): Promise<string> {
  const baton = await cli.open();
  const { runId } = await baton.submitRun({
    name: 'mixed',
    tasks: [
      { key: 'good', type: 'x' },
      { key: 'bad', type: 'x', maxAttempts: 1 },
    ],
  });
  await baton.backend.registerAgent({ id: 'agt_t', capabilities: [], concurrency: 2 });
  const leases = await baton.backend.claim({
    agentId: 'agt_t',
    capabilities: [],
    max: 2,
    leaseTtlMs: 30_000,
  });
  const good = leases.find((l) => l.task.key === 'good')!;
  const bad = leases.find((l) => l.task.key === 'bad')!;
  await baton.backend.complete([
    { taskId: good.taskId, token: good.token, agentId: 'agt_t', result: null },
  ]);
  await baton.backend.fail([
    {
      taskId: bad.taskId,
      token: bad.token,
      agentId: 'agt_t',
      error: { message: 'boom\nlast words' },
      retryable: false,
    },
  ]);
  return runId;
}

describe('colour', () => {
  it('colours states and failures on a terminal', async () => {
    const runId = await finishedRun();
    const status = await cli.startTty(['status', runId, '--store', cli.store]).exited;
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(green('✓'));
    expect(status.stdout).toContain(red('✗'));
    expect(status.stdout).toContain(red('failures:'));
  });

  it('prints no colour through a pipe, nor on a terminal with NO_COLOR', async () => {
    const runId = await finishedRun();
    const piped = await cli.run(['status', runId, '--store', cli.store]);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toMatch(/^✗ bad/m);
    expect(piped.stdout).not.toContain(ESC);
    const noColor = await cli.startTty(['status', runId, '--store', cli.store], {
      env: { NO_COLOR: '1' },
    }).exited;
    expect(noColor.stdout).toMatch(/^✗ bad/m);
    expect(noColor.stdout).not.toContain(ESC);
  });

  it('FORCE_COLOR colours a pipe too', async () => {
    const runId = await finishedRun();
    const forced = await cli.run(['tasks', '--run', runId, '--store', cli.store], {
      env: { FORCE_COLOR: '1' },
    });
    expect(forced.stdout).toContain(red('✗ failed'));
  });

  it('an error is red on a terminal, and plain in a pipe', async () => {
    const tty = await cli.startTty(['status', 'run_nope', '--store', cli.store]).exited;
    expect(tty.code).toBe(1);
    expect(tty.stdout).toContain(`${red('error [BATON_NOT_FOUND]')}: run run_nope not found`);
    const piped = await cli.run(['status', 'run_nope', '--store', cli.store]);
    expect(piped.stderr).toBe('error [BATON_NOT_FOUND]: run run_nope not found\n');
  });
});
