/**
 * The numbers that drive Baton's autoscaling, over HTTP, for an external autoscaler (KEDA's
 * `metrics-api` scaler, a cron job, a dashboard). See docs/autoscaling.md.
 *
 *   npx node --conditions=baton-source examples/stats-exporter.ts [store URL] [port]
 *   curl 'http://localhost:9464/stats?capabilities=shell,python'
 *
 * Answers `GET /stats?capabilities=a,b[&namespace=ns]` with
 * `{ eligibleDepth, readyByRequires, agents: { active, lost, stopped }, byState }`, where
 * `eligibleDepth` is the number of ready tasks a worker with those capabilities could claim.
 */
import { createServer } from 'node:http';

import pino from 'pino';

import { Baton, eligibleDepth } from 'baton-queue';

const store = process.argv[2] ?? (process.env['BATON_STORE'] || 'sqlite:.baton/baton.db');
const port = Number(process.argv[3] ?? 9464);
const logger = pino({ level: 'warn' }, pino.destination(2));

/** One client per namespace, opened on first use. */
const clients = new Map<string, Promise<Baton>>();
const client = (namespace: string): Promise<Baton> => {
  let baton = clients.get(namespace);
  if (baton === undefined) {
    baton = Baton.open(store, { namespace, logger });
    clients.set(namespace, baton);
  }
  return baton;
};

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method !== 'GET' || url.pathname !== '/stats') {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: 'try GET /stats?capabilities=a,b' }));
    return;
  }
  // `baton worker` can always run shell tasks, so `shell` is counted as a capability.
  const capabilities = [
    'shell',
    ...(url.searchParams.get('capabilities') ?? '')
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== ''),
  ];
  const namespace = url.searchParams.get('namespace') ?? 'default';
  client(namespace)
    .then((baton) => baton.stats())
    .then((stats) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          eligibleDepth: eligibleDepth(stats.readyByRequires, capabilities),
          readyByRequires: stats.readyByRequires,
          agents: stats.agents,
          byState: stats.byState,
        }),
      );
    })
    .catch((error: unknown) => {
      logger.error({ err: error }, 'reading stats failed');
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: String(error) }));
    });
});

server.listen(port, () => logger.warn({ store, port }, 'serving GET /stats'));

const stop = (): void => {
  server.close();
  void Promise.all([...clients.values()].map(async (baton) => (await baton).close()));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
