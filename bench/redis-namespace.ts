/** Delete every key of one Baton namespace from a Redis (what a benchmark created there). */
export async function deleteRedisNamespace(url: string, namespace: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(
        cursor,
        'MATCH',
        `{baton:${namespace}}*`,
        'COUNT',
        1000,
      );
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
