/**
 * The conformance suite against a Redis Cluster of three masters started for this file
 * (`test/helpers/redis-cluster.ts`), through a `redis+cluster://` store URL. Every key of a
 * namespace shares one hash tag, so every script runs on one node. Under CI a missing
 * redis-server fails the suite; elsewhere the suite is skipped with a message.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openBackend } from '../../src/backends/open.ts';
import { clusterToolsAvailable, startCluster, type TestCluster } from '../helpers/redis-cluster.ts';
import { defineConformanceSuite } from './suite.ts';

const available = clusterToolsAvailable();
const ci = process.env.CI === 'true';

/** The Redis namespace of each (store, suite namespace): stable within a store, so reopen works. */
const namespaces = new Map<string, string>();

function namespaceFor(storeId: string, namespace: string): string {
  const id = `${storeId}/${namespace}`;
  let actual = namespaces.get(id);
  if (!actual) namespaces.set(id, (actual = `test-${randomUUID()}`));
  return actual;
}

if (!available && !ci) {
  describe('backend conformance: redis cluster', () => {
    it.skip('needs redis-server and redis-cli on the PATH to start a cluster; skipped outside CI', () => {});
  });
} else {
  let cluster: TestCluster | null = null;
  describe('redis cluster', () => {
    beforeAll(async () => {
      if (!available)
        throw new Error(
          'CI=true and redis-server/redis-cli are not installed: Redis Cluster cannot be tested',
        );
      cluster = await startCluster();
    }, 60_000);
    afterAll(async () => {
      await cluster?.stop();
      cluster = null;
    });
    defineConformanceSuite(
      'redis cluster',
      ({ clock, namespace, storeId, routing, logs }) => {
        if (!cluster) throw new Error('the test cluster did not start');
        return openBackend(cluster.url, {
          clock,
          namespace: namespaceFor(storeId, namespace),
          ...(routing === undefined ? {} : { routing }),
          ...(logs === undefined ? {} : { logs }),
        });
      },
      // The cluster and all its keys are deleted with the servers after the file.
      { reopen: true },
    );
  });
}
