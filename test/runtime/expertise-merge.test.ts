/**
 * Merging learnings into expertise files (src/runtime/expertise-merge.ts): provenance on each
 * entry, no repeats (uses grow), pruning of learned entries to the line cap (least used, then
 * oldest; hand-written ones kept), and concurrent learners — in this process and in other
 * processes — losing none of each other's entries under the file's lease.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { mergeLearnings } from '../../src/runtime/expertise-merge.ts';
import { expertisePath, parseExpertise } from '../../src/runtime/expertise.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'baton-expertise-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const read = (domain = 'api'): Record<string, unknown[]> =>
  parse(readFileSync(expertisePath(root, domain), 'utf8')) as Record<string, unknown[]>;

describe('mergeLearnings', () => {
  it('creates the file, records provenance, and counts a learning found again as a use', async () => {
    const first = await mergeLearnings(
      root,
      'api',
      {
        patterns: ['Handlers live in src/api/'],
        learned_from_failures: [
          { issue: 'Port in use', error: 'EADDRINUSE', solution: 'Use port 0' },
        ],
      },
      'tsk_1#1',
      { now: new Date('2026-12-01T00:00:00Z') },
    );
    expect(first).toMatchObject({ added: 2, reused: 0, pruned: 0 });
    const again = await mergeLearnings(
      root,
      'api',
      { patterns: ['handlers live in src/api/ ', 'Validate input with zod'] },
      'tsk_2#3',
      { now: new Date('2026-12-02T00:00:00Z') },
    );
    expect(again).toMatchObject({ added: 1, reused: 1 });
    const data = read();
    expect(data['domain']).toBe('api');
    expect(data['patterns']).toEqual([
      {
        text: 'Handlers live in src/api/',
        from: 'tsk_1#1',
        at: '2026-12-01T00:00:00.000Z',
        uses: 1,
      },
      { text: 'Validate input with zod', from: 'tsk_2#3', at: '2026-12-02T00:00:00.000Z', uses: 0 },
    ]);
    expect(data['learned_from_failures']).toEqual([
      {
        issue: 'Port in use',
        error: 'EADDRINUSE',
        solution: 'Use port 0',
        from: 'tsk_1#1',
        at: '2026-12-01T00:00:00.000Z',
        uses: 0,
      },
    ]);
    // What it writes is valid expertise.
    expect(() =>
      parseExpertise(readFileSync(expertisePath(root, 'api'), 'utf8'), 'api.yaml', 'api'),
    ).not.toThrow();
  });

  it('prunes learned entries to the cap, least used then oldest, and keeps those written by hand', async () => {
    mkdirSync(join(root, '.baton', 'expertise'), { recursive: true });
    writeFileSync(expertisePath(root, 'api'), 'domain: api\npatterns:\n  - Written by hand\n');
    for (let i = 0; i < 6; i++) {
      await mergeLearnings(root, 'api', { patterns: [`learned ${i}`] }, `tsk_${i}#1`, {
        now: new Date(Date.UTC(2026, 0, 1 + i)),
      });
    }
    // "learned 0" is found again: used once, so it outlives newer ones that never were.
    await mergeLearnings(root, 'api', { patterns: ['learned 0'] }, 'tsk_9#1', {
      now: new Date(Date.UTC(2026, 0, 20)),
    });
    const outcome = await mergeLearnings(root, 'api', { patterns: ['learned 7'] }, 'tsk_7#1', {
      now: new Date(Date.UTC(2026, 0, 21)),
      maxLines: 16,
    });
    expect(outcome.lines).toBeLessThanOrEqual(16);
    expect(outcome.pruned).toBeGreaterThan(0);
    const texts = read()['patterns']!.map((p) =>
      typeof p === 'string' ? p : (p as { text: string }).text,
    );
    expect(texts[0]).toBe('Written by hand');
    expect(texts).toContain('learned 0');
    expect(texts).toContain('learned 7');
    expect(texts).not.toContain('learned 1');
  });

  it('loses no entry when many learners merge at once, in this process and in others', async () => {
    const here = Array.from({ length: 12 }, (_, i) =>
      mergeLearnings(root, 'api', { patterns: [`here ${i}`] }, `tsk_h${i}#1`),
    );
    const script = `
      import { mergeLearnings } from ${JSON.stringify(join(import.meta.dirname, '../../src/runtime/expertise-merge.ts'))};
      const n = Number(process.argv[1]);
      for (let i = 0; i < 5; i++) await mergeLearnings(${JSON.stringify(root)}, 'api', { patterns: ['there ' + n + '-' + i] }, 'tsk_t' + n + '#1');
    `;
    const others = [0, 1, 2].map(
      (n) =>
        new Promise<number | null>((resolveExit) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script, String(n)], {
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          child.on('exit', (code) => resolveExit(code));
        }),
    );
    await Promise.all(here);
    expect(await Promise.all(others)).toEqual([0, 0, 0]);
    expect(read()['patterns']).toHaveLength(12 + 15);
  });
});
