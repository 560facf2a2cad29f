/**
 * The conformance suite against a standalone Redis on 127.0.0.1:6379. Every test works in its
 * own namespace (`test-<uuid>`), whose keys are deleted afterwards. Under CI a missing Redis
 * fails the suite; elsewhere the suite is skipped with a message.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, it } from 'vitest';
import { openBackend } from '../../src/backends/open.ts';
import { REDIS_URL, deleteNamespaces, redisAnswers } from '../helpers/redis.ts';
import { defineConformanceSuite } from './suite.ts';

const available = await redisAnswers();
const ci = process.env.CI === 'true';

/** The Redis namespace of each (store, suite namespace): stable within a store, so reopen works. */
const namespaces = new Map<string, Map<string, string>>();

function namespaceFor(storeId: string, namespace: string): string {
  let store = namespaces.get(storeId);
  if (!store) namespaces.set(storeId, (store = new Map()));
  let actual = store.get(namespace);
  if (!actual) store.set(namespace, (actual = `test-${randomUUID()}`));
  return actual;
}

if (!available && !ci) {
  describe('backend conformance: redis', () => {
    it.skip(`needs Redis on 127.0.0.1:6379 (start one with 'redis-server'); skipped outside CI`, () => {});
  });
} else {
  describe('redis', () => {
    beforeAll(() => {
      if (!available)
        throw new Error(
          'CI=true and no Redis answers on 127.0.0.1:6379: the Redis backend cannot be tested',
        );
    });
    defineConformanceSuite(
      'redis',
      ({ clock, namespace, storeId, routing, logs }) =>
        openBackend(REDIS_URL, {
          clock,
          namespace: namespaceFor(storeId, namespace),
          ...(routing === undefined ? {} : { routing }),
          ...(logs === undefined ? {} : { logs }),
        }),
      {
        reopen: true,
        async cleanup(storeId) {
          const store = namespaces.get(storeId);
          namespaces.delete(storeId);
          if (store) await deleteNamespaces(store.values());
        },
      },
    );
  });
}
