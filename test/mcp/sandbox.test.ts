/**
 * The file sandbox on its own (src/mcp/sandbox.ts), on real folders: the escapes the MCP tests do
 * not reach through a client — a hard link to an outside file, a sandbox folder replaced by a
 * symlink after first use, size caps, a read-only folder.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, expect, it } from 'vitest';

import { FILE_LIMITS, Sandbox } from '../../src/mcp/sandbox.ts';

let dir: string;
let outside: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-sandbox-'));
  outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'keep me');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = (await promise.then(
    () => null,
    (e: unknown) => e,
  )) as { code: string; message: string } | null;
  expect(error, 'refused').not.toBeNull();
  return error!;
}

it('refuses to write a file hard-linked to one outside the sandbox', async () => {
  const box = new Sandbox(join(dir, 'box'), true);
  await box.write('seed.txt', 'x');
  linkSync(join(outside, 'secret.txt'), join(dir, 'box', 'linked.txt'));
  const error = await refusal(box.write('linked.txt', 'overwritten'));
  expect(error.code).toBe('BATON_SANDBOX');
  expect(error.message).toContain('hard links');
  expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('keep me');
});

it('refuses reads and writes once the sandbox folder itself was replaced by a symlink', async () => {
  const root = join(dir, 'box');
  const box = new Sandbox(root, true);
  await box.write('a.txt', 'mine');
  renameSync(root, join(dir, 'moved'));
  symlinkSync(outside, root);
  expect((await refusal(box.read('secret.txt'))).code).toBe('BATON_SANDBOX');
  expect((await refusal(box.write('secret.txt', 'overwritten'))).code).toBe('BATON_SANDBOX');
  expect((await refusal(box.list(''))).code).toBe('BATON_SANDBOX');
  expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('keep me');
});

it('caps sizes, and a read-only folder is never written', async () => {
  const box = new Sandbox(join(dir, 'box'), true);
  const big = 'x'.repeat(FILE_LIMITS.maxWriteBytes + 1);
  expect((await refusal(box.write('big.txt', big))).message).toContain('more than');
  mkdirSync(join(dir, 'box'));
  writeFileSync(join(dir, 'box', 'huge.bin'), Buffer.alloc(FILE_LIMITS.maxReadBytes + 1));
  expect((await refusal(box.read('huge.bin'))).message).toContain('more than');
  const theirs = new Sandbox(join(dir, 'box'), false);
  expect((await refusal(theirs.write('new.txt', 'x'))).message).toContain('read-only');
  expect((await theirs.list('')).entries.map((e) => e.name)).toEqual(['huge.bin']);
});

it('round-trips binary content as base64', async () => {
  const box = new Sandbox(join(dir, 'box'), true);
  const bytes = Buffer.from([0, 1, 2, 255, 254]);
  await box.write('b.bin', bytes.toString('base64'), 'base64');
  expect((await box.readBytes('b.bin', 'base64')).content).toBe(bytes.toString('base64'));
});
