import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { readRssBytes } from '../../src/runtime/process-memory.ts';

describe('readRssBytes', () => {
  it("reads a live process's resident memory, in bytes", async () => {
    const rss = await readRssBytes(process.pid);
    // A Node process running Vitest holds tens of MiB at least, and far less than 64 GiB.
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(rss).toBeLessThan(64 * 1024 ** 3);
  });

  it('sees a child grow when it fills memory', async () => {
    const child = spawn(
      process.execPath,
      [
        '-e',
        "globalThis.b = Buffer.alloc(200 * 1024 * 1024, 1); console.log('full'); setInterval(() => {}, 1000)",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await once(child.stdout, 'data');
      const rss = await readRssBytes(child.pid!);
      expect(rss).toBeGreaterThan(200 * 1024 * 1024);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });

  it('answers null for a process that is gone', async () => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const pid = child.pid!;
    await once(child, 'exit');
    expect(await readRssBytes(pid)).toBeNull();
  });
});
