/**
 * The conformance suite against the embedded SQLite backend: one fresh temp directory per store,
 * the database file inside it, removed after each test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBackend } from '../../src/backends/open.ts';
import { defineConformanceSuite } from './suite.ts';

const dirs = new Map<string, string>();

function dirFor(storeId: string): string {
  let dir = dirs.get(storeId);
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), `baton-conformance-${storeId}-`));
    dirs.set(storeId, dir);
  }
  return dir;
}

defineConformanceSuite(
  'sqlite',
  ({ clock, namespace, storeId, routing, logs }) =>
    openBackend(`sqlite:${join(dirFor(storeId), 'baton.db')}`, {
      clock,
      namespace,
      ...(routing === undefined ? {} : { routing }),
      ...(logs === undefined ? {} : { logs }),
    }),
  {
    reopen: true,
    cleanup(storeId) {
      const dir = dirs.get(storeId);
      dirs.delete(storeId);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  },
);
