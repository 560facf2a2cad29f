/**
 * Store URLs of the Redis backend, the ioredis clients they open, and the one place that turns a
 * Redis or network failure into a Baton error.
 *
 * - `redis://[user[:password]@]host[:port][/db]`: a standalone Redis (port 6379, db 0 by default).
 * - `rediss://…`: the same over TLS.
 * - `redis+cluster://[user[:password]@]host:port,host:port,…` (`rediss+cluster://` for TLS): a
 *   Redis Cluster, given by one or more of its nodes.
 */
import { Cluster, Redis } from 'ioredis';
import { BatonError, StoreUnavailableError } from '../../core/errors.ts';

/** A parsed Redis store URL. */
export interface RedisTarget {
  kind: 'standalone' | 'cluster';
  nodes: { host: string; port: number }[];
  db: number;
  tls: boolean;
  username?: string;
  password?: string;
  /** The URL without its password, for messages and logs. */
  display: string;
}

export type RedisClient = Redis | Cluster;

const FORMS =
  "'redis://host:port[/db]', 'rediss://host:port[/db]' (TLS) or 'redis+cluster://host:port,host:port' (Cluster)";

function urlError(url: string, problem: string): BatonError {
  return new BatonError(
    'BATON_STORE_URL',
    `cannot open store '${redact(url)}': ${problem}. Use ${FORMS}.`,
    {
      details: { url: redact(url) },
    },
  );
}

/** The URL with any password replaced by `***`. */
export function redact(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/]*):([^@/]*)@/i, '$1$2:***@');
}

/** Whether a store URL names a Redis store (by its scheme). */
export function isRedisUrl(url: string): boolean {
  return /^(redis|rediss|redis\+cluster|rediss\+cluster):\/\//i.test(url.trim());
}

/**
 * Parse a Redis store URL without connecting.
 *
 * @throws BatonError `BATON_STORE_URL` naming what is wrong and the accepted forms.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const trimmed = url.trim();
  const scheme = /^([a-z+]+):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  if (!scheme || !['redis', 'rediss', 'redis+cluster', 'rediss+cluster'].includes(scheme)) {
    throw urlError(url, 'it is not a Redis URL');
  }
  const tls = scheme.startsWith('rediss');
  const cluster = scheme.endsWith('+cluster');
  let rest = trimmed.slice(scheme.length + 3);
  if (rest.includes('?') || rest.includes('#')) {
    throw urlError(url, 'query parameters are not supported; pass options in code instead');
  }
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    const user = decode(colon >= 0 ? auth.slice(0, colon) : auth, url);
    if (user !== '') username = user;
    if (colon >= 0) password = decode(auth.slice(colon + 1), url);
  }
  let db = 0;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const path = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (path !== '') {
      if (cluster) throw urlError(url, 'a Redis Cluster has only database 0; remove the /db part');
      if (!/^\d{1,5}$/.test(path)) throw urlError(url, `'/${path}' is not a database number`);
      db = Number(path);
    }
  }
  const hosts = rest.split(',').filter((h) => h !== '');
  if (hosts.length === 0) throw urlError(url, 'it names no host');
  if (!cluster && hosts.length > 1) {
    throw urlError(
      url,
      'it names several hosts; for a Redis Cluster use the redis+cluster:// scheme',
    );
  }
  const nodes = hosts.map((h) => parseHost(h, url));
  const target: RedisTarget = {
    kind: cluster ? 'cluster' : 'standalone',
    nodes,
    db,
    tls,
    display: redact(trimmed),
  };
  if (username !== undefined) target.username = username;
  if (password !== undefined) target.password = password;
  return target;
}

function decode(text: string, url: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw urlError(url, 'its user name or password is not valid percent-encoding');
  }
}

function parseHost(text: string, url: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) throw urlError(url, `'${text}' is not a host or host:port`);
  const host = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!;
  const port = match[2] === undefined ? 6379 : Number(match[2]);
  if (port < 1 || port > 65535) throw urlError(url, `port ${port} is out of range`);
  return { host, port };
}

/** Reconnect with exponential backoff and jitter, capped at 2 s; never give up. */
function retryDelay(times: number): number {
  const base = Math.min(2000, 50 * 2 ** Math.min(times, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * An ioredis client for the target, not yet connected (call `connect()`).
 *
 * Commands fail fast instead of queueing while Redis is unreachable (`enableOfflineQueue:
 * false`) and are not re-sent after a reconnect (`maxRetriesPerRequest: 0`): a Lua script that
 * may already have run must not run twice, and a caller must hear of the failure rather than
 * wait. The client itself keeps reconnecting in the background with backoff.
 */
export function createClient(target: RedisTarget, name: string): RedisClient {
  const common = {
    connectionName: name,
    maxRetriesPerRequest: 0,
    // RESP2: the replies of the Lua scripts are plain arrays either way; RESP2 is the smaller
    // and older protocol every Redis speaks.
    protocol: 2 as const,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  if (target.kind === 'standalone') {
    const node = target.nodes[0]!;
    return new Redis({
      ...common,
      host: node.host,
      port: node.port,
      db: target.db,
      lazyConnect: true,
      enableOfflineQueue: false,
      // Off: Baton batches claims and settles itself; auto-pipelining only added latency to
      // one-at-a-time calls (bench/redis.ts: one-by-one submit +23%, p50 -0.1 ms without it).
      enableAutoPipelining: false,
      retryStrategy: retryDelay,
    });
  }
  return new Cluster(target.nodes, {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: false,
    clusterRetryStrategy: retryDelay,
    redisOptions: common,
  });
}

/** Redis replies that mean "not now" rather than "wrong": the store is unavailable for a while. */
const TRANSIENT_REPLIES =
  /^(OOM|BUSY|LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS|MISCONF)\b/;

/**
 * The one place a failure from Redis becomes a Baton error: anything that means the store could
 * not be reached or could not serve the call becomes a retryable `StoreUnavailableError`; a
 * Baton error passes through; anything else (a bug in a script) is returned unchanged.
 */
export function storeError(error: unknown, target: RedisTarget, operation: string): unknown {
  if (error instanceof BatonError) return error;
  const err = error as { name?: unknown; message?: unknown } | null;
  const message = typeof err?.message === 'string' ? err.message : String(error);
  const reply = err?.name === 'ReplyError';
  if (reply && !TRANSIENT_REPLIES.test(message)) return error;
  const hint = message.startsWith('OOM')
    ? 'Redis is out of memory: raise maxmemory or remove old data (Baton never evicts its own keys)'
    : 'check that Redis is running and reachable, then retry (an open backend reconnects by itself, with backoff)';
  return new StoreUnavailableError(
    `${operation} failed: Redis at ${target.display} is unavailable (${message}); ${hint}. A write that failed this way may or may not have been applied.`,
    error,
  );
}
