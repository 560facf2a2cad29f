/**
 * Who calls a tool. An agent that Baton started carries an **attempt-scoped token**: a grant
 * (namespace, run, task, attempt, the lease's fencing token and agent, its sandbox) signed with
 * HMAC-SHA256 under the MCP key, minted by the worker when the attempt starts and verified by the
 * MCP server (stdio or HTTP) on every connection. It names one run, so the agent can touch only
 * that run; its writes carry the lease (task, token, agent), which the store checks in the same
 * atomic step as the write, so an attempt that was fenced out writes nothing.
 *
 * Anyone else is a client: a person's `baton mcp` (all scopes, as the CLI has the store anyway),
 * or an HTTP caller with an API token and its scopes.
 *
 * The key comes from `BATON_MCP_SECRET`, else from a key file (`BATON_MCP_KEY_FILE`, else
 * `.baton/mcp.key`), created with mode 0600 when an attempt token is first minted. A token is a
 * bearer secret: it is written into the agent's MCP configuration (mode 0600) and environment,
 * never into logs, events, errors or the store.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { ToolError } from './errors.ts';

/** What an API token may do (the HTTP API's scopes, docs/http-api.md). */
export type McpScope = 'read' | 'submit' | 'work' | 'admin';

/** Everything an attempt-scoped token grants, signed. */
export interface AttemptGrant {
  /** The store namespace of the run. */
  namespace: string;
  /** The run the attempt belongs to (null: a task outside any run). */
  runId: string | null;
  taskId: string;
  /** The attempt number (1-based), for display and the lease check of `submit_tasks`. */
  attempt: number;
  /** The lease's fencing token: the fence of every write. */
  token: number;
  /** The agent that holds the lease. */
  agentId: string;
  /** The task's sandbox (absolute): its files folder, or its worktree for `agent` tasks. */
  sandbox: string;
  /** The folder of every task's files folder, `<filesRoot>/<run>/<task>/` (absolute). */
  filesRoot: string;
  /** State namespaces the attempt may read and write besides its run's. @default none */
  stateNamespaces: string[];
  /** When the token stops being accepted (epoch ms); null: never (writes still need the lease). */
  expiresAt: number | null;
}

/** The caller of a tool. */
export type McpCaller =
  { kind: 'attempt'; grant: AttemptGrant } | { kind: 'client'; scopes: ReadonlySet<McpScope> };

/** Every scope: a local `baton mcp`, or an HTTP server without tokens (loopback only). */
export const ALL_SCOPES: ReadonlySet<McpScope> = new Set(['read', 'submit', 'work', 'admin']);

const PREFIX = 'bma1.';

/** Whether a bearer token is an attempt token (rather than an API token). */
export function isAttemptToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

function sign(body: string, key: Buffer): Buffer {
  return createHmac('sha256', key).update(PREFIX).update(body).digest();
}

/** Sign a grant: `bma1.<payload>.<mac>`, base64url. */
export function mintAttemptToken(grant: AttemptGrant, key: Buffer): string {
  const body = Buffer.from(JSON.stringify(grant), 'utf8').toString('base64url');
  return `${PREFIX}${body}.${sign(body, key).toString('base64url')}`;
}

/**
 * The grant of a token whose signature is good and that has not expired.
 * @throws ToolError `BATON_UNAUTHORIZED` otherwise (never echoing the token).
 */
export function verifyAttemptToken(token: string, key: Buffer, now = Date.now()): AttemptGrant {
  const refuse = (why: string): never => {
    throw new ToolError('BATON_UNAUTHORIZED', `the attempt token is not valid: ${why}`);
  };
  if (!isAttemptToken(token)) refuse('it does not start with bma1.');
  const [body, mac] = token.slice(PREFIX.length).split('.');
  if (body === undefined || mac === undefined) return refuse('it is malformed');
  const expected = sign(body, key);
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    refuse(
      'its signature does not match this MCP key (was it minted with another BATON_MCP_SECRET or key file?)',
    );
  let grant: AttemptGrant;
  try {
    grant = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as AttemptGrant;
  } catch {
    return refuse('its payload is not JSON');
  }
  if (grant.expiresAt !== null && grant.expiresAt <= now) refuse('it expired');
  return grant;
}

/** Where the MCP key is looked for, and whether to create it. */
export interface McpKeyOptions {
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** @default env.BATON_MCP_KEY_FILE, else `.baton/mcp.key` */
  keyFile?: string;
  /** Create the key file when missing (the minting side). @default false */
  create?: boolean;
}

/** The key file the options name (absolute). */
export function mcpKeyFile(options: McpKeyOptions = {}): string {
  const env = options.env ?? process.env;
  return resolve(options.keyFile ?? env.BATON_MCP_KEY_FILE ?? '.baton/mcp.key');
}

/**
 * The MCP key: `BATON_MCP_SECRET` (at least 32 characters), else the key file's content.
 * @throws ToolError `BATON_UNAUTHORIZED` when there is none (and `create` is off), or the
 *   secret is too short.
 */
export function resolveMcpKey(options: McpKeyOptions = {}): Buffer {
  const env = options.env ?? process.env;
  const secret = env.BATON_MCP_SECRET;
  if (secret !== undefined && secret !== '') {
    if (secret.length < 32) {
      throw new ToolError(
        'BATON_UNAUTHORIZED',
        `BATON_MCP_SECRET has ${secret.length} characters, fewer than the 32 required; use e.g. \`openssl rand -hex 32\``,
      );
    }
    return Buffer.from(secret, 'utf8');
  }
  const file = mcpKeyFile(options);
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || options.create !== true) {
      throw new ToolError(
        'BATON_UNAUTHORIZED',
        `no MCP key to check attempt tokens with: ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); set BATON_MCP_SECRET, or BATON_MCP_KEY_FILE to the key file of the worker that started the agent`,
      );
    }
  }
  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(32).toString('hex');
  try {
    // 'wx': two workers creating it at once keep the first one's.
    writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return Buffer.from(key, 'utf8');
  } catch {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
  }
}
