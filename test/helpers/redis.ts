/**
 * Helpers for tests against a real Redis: is one reachable, and deleting a namespace's keys
 * after a test (SCAN by the namespace's key prefix; fine in tests, never on a hot path).
 */
import { Cluster, Redis } from 'ioredis';
import { Keys } from '../../src/backends/redis/keys.ts';

/** The standalone Redis the tests use. */
export const REDIS_URL = 'redis://127.0.0.1:6379';

/** Whether a standalone Redis answers PING at host:port within a second. */
export async function redisAnswers(host = '127.0.0.1', port = 6379): Promise<boolean> {
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Delete every key of the namespaces on the standalone Redis, or on every master of a Cluster. */
export async function deleteNamespaces(
  namespaces: Iterable<string>,
  nodes: { host: string; port: number }[] = [{ host: '127.0.0.1', port: 6379 }],
  cluster = false,
): Promise<void> {
  const list = [...namespaces];
  if (list.length === 0) return;
  const client = cluster
    ? new Cluster(nodes, { lazyConnect: true })
    : new Redis({ ...nodes[0]!, lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const targets = client instanceof Cluster ? client.nodes('master') : [client];
    for (const node of targets) {
      for (const namespace of list) {
        const match = new Keys(namespace).pattern();
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
          cursor = next;
          // One hash tag per namespace: the keys of one SCAN page share a slot.
          if (keys.length > 0) await node.unlink(...keys);
        } while (cursor !== '0');
      }
    }
  } finally {
    client.disconnect();
  }
}
