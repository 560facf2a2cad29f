/**
 * `baton server` on a port it cannot have: a clear error and exit 1, and the process ends (the
 * sweep and event follower the API had started are stopped with it), rather than a stack trace
 * and a process that keeps running, logging against a closed store.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { useCli } from '../helpers/cli.ts';

const cli = useCli();

let holder: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (holder ? holder.close(() => resolve()) : resolve()));
  holder = undefined;
});

describe('baton server on a port in use', () => {
  it('says so and how to fix it, exits 1, and leaves nothing running', async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder!.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    const proc = cli.start(['server', '--port', String(port), '--store', cli.store]);
    const result = await Promise.race([
      proc.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 15_000)),
    ]);
    expect(result).not.toBe('still running');
    if (result === 'still running') return;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error: cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE), by another baton server or another program; stop it, or choose another port with --port (0 picks a free one)`,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
