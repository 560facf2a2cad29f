/**
 * The MCP configuration an agent reads (`claude --mcp-config <file>`; Codex takes the same
 * server as `-c mcp_servers.baton.command=…`, see {@link McpConfigFile.codexArgs}): one server,
 * `baton`, reached over stdio (`baton mcp`, with the attempt's token and the store in its
 * environment) or over HTTP (`/mcp` of a `baton server`, with the token as its Bearer header).
 *
 * The agent executor calls {@link writeMcpConfig} when an attempt starts, and passes the file to
 * the agent it launches.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { TaskContext } from '../runtime/worker.ts';
import { taskFolder } from './access.ts';
import { mcpKeyFile, mintAttemptToken, resolveMcpKey, type AttemptGrant } from './identity.ts';

/** The attempt an agent runs (the fields of its lease). */
export interface McpAttempt {
  /** The store namespace. @default 'default' */
  namespace?: string;
  runId: string | null;
  taskId: string;
  /** The attempt number (1-based). */
  attempt: number;
  /** The lease's fencing token. */
  token: number;
  /** The agent holding the lease. */
  agentId: string;
}

export interface McpConfigOptions {
  attempt: McpAttempt;
  /** Where to write the file (a folder; created). The file is `<dir>/baton-mcp-<task>-<attempt>.json`. */
  dir: string;
  /** The store URL, for stdio (`baton mcp --store`). @default env.BATON_STORE, else sqlite:.baton/baton.db */
  store?: string;
  /**
   * The task's sandbox for the file tools: its worktree for `agent` tasks.
   * @default `<filesRoot>/<run>/<task>/`
   */
  sandbox?: string;
  /** The folder of every task's files. @default `.baton/files` (absolute from the cwd) */
  filesRoot?: string;
  /** State namespaces the attempt may use besides its run's. @default none */
  stateNamespaces?: string[];
  /** When the token stops being accepted (epoch ms). @default never (writes need the lease anyway) */
  expiresAt?: number | null;
  /**
   * How the agent reaches the tools: `stdio` runs `baton mcp` (this package's `bin/baton.js` on
   * this Node, or `command`); `http` the `/mcp` route of a `baton server` at `url`.
   * @default { kind: 'stdio' }
   */
  transport?: { kind: 'stdio'; command?: string[] } | { kind: 'http'; url: string };
  /** Where the MCP key is (see identity.ts). @default env, then `.baton/mcp.key` */
  keyFile?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface McpConfigFile {
  /** The file to pass as `claude --mcp-config <path>`. */
  path: string;
  /** The attempt token (a secret: never log it). */
  token: string;
  /** The sandbox the file tools use (absolute). */
  sandbox: string;
  /** Codex's equivalent of the file, as `-c` arguments (stdio only; empty for http). */
  codexArgs: string[];
}

/** The `bin/baton.js` of this package. */
function batonBin(): string {
  return fileURLToPath(new URL('../../bin/baton.js', import.meta.url));
}

/**
 * Mint the attempt's token and write the MCP configuration file (mode 0600: it holds the token).
 * @example
 * const { path } = writeMcpConfig({ attempt: { runId, taskId, attempt: 1, token, agentId }, dir });
 * spawn('claude', ['-p', prompt, '--mcp-config', path]);
 */
export function writeMcpConfig(options: McpConfigOptions): McpConfigFile {
  const env = options.env ?? process.env;
  const a = options.attempt;
  const filesRoot = resolve(options.filesRoot ?? '.baton/files');
  const sandbox = resolve(options.sandbox ?? taskFolder(filesRoot, a.runId, a.taskId));
  const keyOptions = {
    env,
    create: true,
    ...(options.keyFile === undefined ? {} : { keyFile: options.keyFile }),
  };
  const key = resolveMcpKey(keyOptions);
  const grant: AttemptGrant = {
    namespace: a.namespace ?? 'default',
    runId: a.runId,
    taskId: a.taskId,
    attempt: a.attempt,
    token: a.token,
    agentId: a.agentId,
    sandbox,
    filesRoot,
    stateNamespaces: options.stateNamespaces ?? [],
    expiresAt: options.expiresAt ?? null,
  };
  const token = mintAttemptToken(grant, key);
  const transport = options.transport ?? { kind: 'stdio' };
  let server: Record<string, unknown>;
  let codexArgs: string[] = [];
  if (transport.kind === 'http') {
    server = { type: 'http', url: transport.url, headers: { Authorization: `Bearer ${token}` } };
  } else {
    const [command, ...args] = transport.command ?? [process.execPath, batonBin()];
    const store = options.store ?? env.BATON_STORE ?? 'sqlite:.baton/baton.db';
    const storeUrl =
      store.startsWith('sqlite:') && !store.includes(':memory:')
        ? `sqlite:${resolve(store.slice('sqlite:'.length).replace(/^\/\//, ''))}`
        : store;
    const childEnv: Record<string, string> = {
      BATON_MCP_TOKEN: token,
      BATON_STORE: storeUrl,
    };
    // The key stays where it is; the server is told where (a path, not the key).
    if (env.BATON_MCP_SECRET === undefined || env.BATON_MCP_SECRET === '')
      childEnv.BATON_MCP_KEY_FILE = mcpKeyFile(keyOptions);
    else childEnv.BATON_MCP_SECRET = env.BATON_MCP_SECRET;
    const fullArgs = [...args, 'mcp', '--namespace', grant.namespace];
    server = { type: 'stdio', command, args: fullArgs, env: childEnv };
    codexArgs = [
      '-c',
      `mcp_servers.baton.command=${JSON.stringify(command)}`,
      '-c',
      `mcp_servers.baton.args=${JSON.stringify(fullArgs)}`,
      '-c',
      `mcp_servers.baton.env=${tomlInline(childEnv)}`,
    ];
  }
  mkdirSync(options.dir, { recursive: true });
  const path = join(resolve(options.dir), `baton-mcp-${a.taskId}-${a.attempt}.json`);
  writeFileSync(path, `${JSON.stringify({ mcpServers: { baton: server } }, null, 2)}\n`, {
    mode: 0o600,
  });
  chmodSync(path, 0o600);
  return { path, token, sandbox, codexArgs };
}

/**
 * {@link writeMcpConfig} for the attempt a handler runs (its task, attempt number and lease).
 * @example
 * mcpConfig: (ctx) => writeMcpConfigFor(ctx, { dir: attemptDir, store, sandbox: workdir }).path
 */
export function writeMcpConfigFor(
  ctx: Pick<TaskContext, 'task' | 'attempt' | 'lease'>,
  options: Omit<McpConfigOptions, 'attempt'> & { namespace?: string },
): McpConfigFile {
  const { namespace, ...rest } = options;
  return writeMcpConfig({
    ...rest,
    attempt: {
      ...(namespace === undefined ? {} : { namespace }),
      runId: ctx.task.runId,
      taskId: ctx.lease.taskId,
      attempt: ctx.attempt,
      token: ctx.lease.token,
      agentId: ctx.lease.agentId,
    },
  });
}

/** A TOML inline table of strings (Codex's `-c` values are TOML). */
function tomlInline(values: Record<string, string>): string {
  return `{ ${Object.entries(values)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join(', ')} }`;
}
