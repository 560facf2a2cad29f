/**
 * How the Redis adapter assembles its Lua scripts (src/backends/redis/scripts.ts): includes are
 * expanded with only the definitions a script uses. Pure text; the conformance suite runs the
 * scripts themselves on a real Redis.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScripts, pruneIncludes } from '../../src/backends/redis/scripts.ts';
import { CLOCK_HOLD_MS } from '../../src/core/clock.ts';

const INCLUDE = `-- includes/demo.lua: a header comment.

local A = KEYS[1]
local X, Y = 1, 2

-- used by b only
local function a(n) return n + X end

local function b(n)
  return a(n) * 2
end

local UNUSED = { 'x' }

local function c() return UNUSED[1] .. Y end
`;

const definitionNames = (lua: string): string[] =>
  [...lua.matchAll(/^local (?:function )?([A-Za-z_][A-Za-z0-9_, ]*?)\s*(?:\(|=|$)/gm)].flatMap(
    (m) => m[1]!.split(',').map((name) => name.trim()),
  );

describe('pruneIncludes', () => {
  it('keeps what the script mentions and what that mentions, in the include’s order', () => {
    const lua = pruneIncludes('--@include demo\nreturn b(1)\n', () => INCLUDE);
    expect(definitionNames(lua)).toEqual(['X', 'Y', 'a', 'b']);
    expect(lua).not.toContain('UNUSED');
    expect(lua.endsWith('return b(1)\n')).toBe(true);
  });

  it('keeps a multi-name local when any of its names is used, and nothing for no mention', () => {
    expect(definitionNames(pruneIncludes('--@include demo\nreturn Y', () => INCLUDE))).toEqual([
      'X',
      'Y',
    ]);
    expect(definitionNames(pruneIncludes('--@include demo\nreturn 1', () => INCLUDE))).toEqual([]);
  });

  it('ignores names mentioned only in comments', () => {
    const lua = pruneIncludes('--@include demo\n-- c() is not called\nreturn A', () => INCLUDE);
    expect(definitionNames(lua)).toEqual(['A']);
  });
});

describe('the shipped scripts', () => {
  const dir = new URL('../../src/backends/redis/lua/', import.meta.url);
  const includeNames = new Set(
    readdirSync(new URL('includes/', dir)).flatMap((file) =>
      definitionNames(readFileSync(new URL(`includes/${file}`, dir), 'utf8')),
    ),
  );

  it('define every include name they mention (pruning dropped nothing needed)', () => {
    for (const script of loadScripts().values()) {
      const code = script.lua.replace(/--.*$/gm, '');
      const defined = new Set(definitionNames(script.lua));
      const missing = [...new Set(code.match(/[A-Za-z_][A-Za-z0-9_]*/g))].filter(
        (name) => includeNames.has(name) && !defined.has(name),
      );
      expect({ script: script.name, missing }).toEqual({ script: script.name, missing: [] });
    }
  });

  it('hold the store clock as long as core/clock.ts says (one rule, written twice)', () => {
    const common = readFileSync(new URL('includes/common.lua', dir), 'utf8');
    const held = /^local CLOCK_HOLD_MS = (\d+)$/m.exec(common);
    expect(held, 'common.lua defines CLOCK_HOLD_MS').not.toBeNull();
    expect(Number(held![1])).toBe(CLOCK_HOLD_MS);
  });

  it('leave out what a script does not use', () => {
    const complete = loadScripts().get('complete')!.lua;
    expect(complete).toContain('local function drop_leases');
    expect(complete).not.toContain('local function cancel_one');
    expect(complete).not.toContain('local function release_attempt');
  });
});
