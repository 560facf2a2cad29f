/**
 * Benchmarks refuse a malformed whole-number option before they touch a store: exit code 2 and a
 * message naming the option (bench/options.ts).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BENCH = join(import.meta.dirname, '../../bench');

function runBench(
  script: string,
  args: string[],
): { status: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, [join(BENCH, script), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('benchmark options', () => {
  it.each([
    ['fleet.ts', ['--warmup=-1'], '--warmup must be a whole number of at least 0, not "-1"'],
    [
      'fleet.ts',
      ['--rounds', 'three'],
      '--rounds must be a whole number of at least 1, not "three"',
    ],
    ['fleet.ts', ['--agents', '50,0'], '--agents must be a whole number of at least 1, not "0"'],
    ['claim-cost.ts', ['--warm', '1.5'], '--warm must be a whole number of at least 0, not "1.5"'],
    ['claim-cost.ts', ['--port', ''], '--port must be a whole number of at least 1, not ""'],
  ])('%s %j exits 2, naming the option', (script, args, message) => {
    // An unreachable Redis: a benchmark that got past its options would fail there, not exit 2.
    const { status, stderr, stdout } = runBench(script, [
      ...args,
      '--redis',
      'redis://127.0.0.1:1',
    ]);
    expect(status).toBe(2);
    expect(stderr.trim()).toBe(message);
    expect(stdout).toBe('');
  });
});
