/**
 * A throwaway Redis Cluster for tests: three masters on free loopback ports, each with its own
 * temp directory, joined by `redis-cli --cluster create`. `stop()` kills the servers and deletes
 * the directories.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort, startServer, until, withConnection, type TestServer } from './redis-server.ts';

export { redisToolsAvailable as clusterToolsAvailable } from './redis-server.ts';

export interface TestCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` */
  url: string;
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** Start three cluster-enabled redis-servers, create the cluster, wait until it serves. */
export async function startCluster(): Promise<TestCluster> {
  const taken = new Set<number>();
  const ports = [
    await freePort(taken, true),
    await freePort(taken, true),
    await freePort(taken, true),
  ];
  const servers: TestServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (const port of ports) {
      servers.push(
        await startServer({
          port,
          args: (dir) => [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, 'nodes.conf'),
          ],
        }),
      );
    }
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) {
      throw new Error(
        `redis-cli --cluster create failed (${create.status}): ${create.stderr || create.stdout}`,
      );
    }
    for (const port of ports) {
      await until(`cluster_state:ok on port ${port}`, 20_000, () =>
        withConnection(port, async (c) =>
          (await c.cluster('INFO')).includes('cluster_state:ok') ? true : null,
        ),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, nodes, stop };
}
