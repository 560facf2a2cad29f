/**
 * The SQLite backend: `SqliteBackend` on `node:sqlite`, the embedded default. Loaded on demand
 * by `openBackend` for `sqlite:` store URLs and bare `.db` paths.
 */
export { SqliteBackend, type SqliteBackendOptions } from './sqlite-backend.ts';
