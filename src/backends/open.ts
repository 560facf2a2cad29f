/**
 * Open a backend from a store URL, the one string a user configures (`--store`, `BATON_STORE`).
 * Adapters are imported on demand, so opening SQLite never loads Redis code and vice versa.
 *
 * Accepted forms:
 * - `sqlite:<path>`: a database file, relative to the working directory; its folder is created.
 *   `sqlite://<path>` is read the same way (`sqlite:///abs/file.db` is an absolute path).
 * - `sqlite::memory:`: a store that lives and dies with the backend instance.
 * - `<path>.db`: a bare file path ending in `.db`, as `sqlite:<path>.db`.
 * - `redis://[user[:password]@]host[:port][/db]`, `rediss://…` (TLS): a standalone Redis.
 * - `redis+cluster://host:port,host:port` (`rediss+cluster://` for TLS): a Redis Cluster.
 *   The namespace option selects an isolated queue in one Redis.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BatonError } from '../core/errors.ts';
import type { Backend, BackendOptions } from './backend.ts';
import { checkedBackend, type CheckedOptions } from './checked.ts';
import { checkInteger } from './inputs.ts';

/** Where Baton keeps its state when nothing else is configured: a SQLite file in `.baton/`. */
export const DEFAULT_STORE_URL = 'sqlite:.baton/baton.db';

const ACCEPTED_FORMS =
  "'sqlite:<path>', 'sqlite::memory:', a file path ending in '.db', 'redis://host:port[/db]', 'rediss://host:port[/db]' or 'redis+cluster://host:port,host:port'";

/** Schemes of the Redis adapter (its own parser checks the rest of the URL when it opens). */
const REDIS_SCHEME = /^(redis|rediss|redis\+cluster|rediss\+cluster):\/\//i;

/**
 * Open the backend a store URL names, behind the checking layer (`checked.ts`): every argument
 * of every call is checked the same way whatever the store, before the adapter sees it.
 *
 * @param url e.g. `sqlite:.baton/baton.db` (see the module comment for every form).
 *   @default DEFAULT_STORE_URL
 * @throws BatonError `BATON_STORE_URL` for a URL of no known form.
 * @example const backend = await openBackend('sqlite:/var/lib/baton/queue.db', { namespace: 'ci' });
 */
export async function openBackend(
  url: string = DEFAULT_STORE_URL,
  options: BackendOptions = {},
): Promise<Backend> {
  const target = parseStoreUrl(url);
  const checks: CheckedOptions = {};
  if (options.maxPayloadBytes !== undefined) {
    // Before the store is opened, so a bad value leaves nothing open.
    checkInteger(options.maxPayloadBytes, 'maxPayloadBytes', 1);
    checks.maxPayloadBytes = options.maxPayloadBytes;
  }
  switch (target.kind) {
    case 'sqlite': {
      const { SqliteBackend } = await import('./sqlite/index.ts');
      if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
      return checkedBackend(new SqliteBackend({ ...options, path: target.path }), checks);
    }
    case 'redis': {
      const { RedisBackend } = await import('./redis/index.ts');
      return checkedBackend(await RedisBackend.open(target.url, options), checks);
    }
  }
}

/** What a store URL names. */
export type StoreTarget = { kind: 'sqlite'; path: string } | { kind: 'redis'; url: string };

/**
 * Parse a store URL without opening anything.
 *
 * @throws BatonError `BATON_STORE_URL` naming the URL and the accepted forms.
 */
export function parseStoreUrl(url: string): StoreTarget {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new BatonError('BATON_STORE_URL', `the store URL is empty; use ${ACCEPTED_FORMS}`, {
      details: { url },
    });
  }
  const trimmed = url.trim();
  if (REDIS_SCHEME.test(trimmed)) return { kind: 'redis', url: trimmed };
  if (trimmed === 'sqlite::memory:' || trimmed === 'sqlite://:memory:')
    return { kind: 'sqlite', path: ':memory:' };
  if (trimmed.startsWith('sqlite:')) {
    let path = trimmed.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') {
      throw new BatonError(
        'BATON_STORE_URL',
        `store URL '${url}' names no file; use e.g. 'sqlite:.baton/baton.db'`,
        {
          details: { url },
        },
      );
    }
    return { kind: 'sqlite', path: resolve(path) };
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) && trimmed.endsWith('.db')) {
    return { kind: 'sqlite', path: resolve(trimmed) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1];
  const unsupported = scheme
    ? `the scheme '${scheme}:' is not supported`
    : 'it has no scheme and does not end in .db';
  throw new BatonError(
    'BATON_STORE_URL',
    `cannot open store '${url}': ${unsupported}. Use ${ACCEPTED_FORMS}.`,
    {
      details: {
        url,
        accepted: [
          'sqlite:<path>',
          'sqlite::memory:',
          '<path>.db',
          'redis://host:port[/db]',
          'rediss://host:port[/db]',
          'redis+cluster://host:port,…',
        ],
      },
    },
  );
}
