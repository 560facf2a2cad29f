/**
 * The Redis backend: `RedisBackend` on ioredis, for standalone Redis and Redis Cluster. Loaded
 * on demand by `openBackend` for `redis://`, `rediss://` and `redis+cluster://` store URLs.
 */
export { RedisBackend, type RedisBackendOptions } from './redis-backend.ts';
export { isRedisUrl, parseRedisUrl, type RedisTarget } from './connection.ts';
export { Keys, namespaceProblem } from './keys.ts';
