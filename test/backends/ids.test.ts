import { describe, expect, it } from 'vitest';
import { isRunId, newAgentId, newRunId, newTaskId } from '../../src/backends/ids.ts';

describe('ids', () => {
  it('are prefixed by kind, unique, and sort in creation order', () => {
    const ids = Array.from({ length: 20_000 }, () => newTaskId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => /^tsk_[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
    expect(isRunId(newRunId())).toBe(true);
    expect(isRunId(newTaskId())).toBe(false);
    expect(newAgentId()).toMatch(/^agt_/);
  });

  it('spread their random part over the whole alphabet', () => {
    // Within one millisecond ids increment; in a new millisecond the random part is fresh.
    const first = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const ms = Date.now();
      while (Date.now() === ms) {
        // wait for the next millisecond
      }
      first.add(newTaskId().charAt(4 + 10));
    }
    // 64 fresh draws over 32 characters: fewer than 17 distinct would mean a broken generator.
    expect(first.size).toBeGreaterThan(16);
  });
});
