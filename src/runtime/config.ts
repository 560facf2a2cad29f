/**
 * The configuration file, `baton.config.yaml` (docs/config.md): what a project sets once rather
 * than on every command line — the store and namespace, parallelism, costs, learning, the coding
 * agents' CLIs and the model providers.
 *
 * ```yaml
 * store: sqlite:.baton/baton.db
 * parallel: { enabled: true, maxConcurrency: 4, strategy: by_task }
 * cost: { budgetUsd: 20 }
 * agents:
 *   claude: { path: /opt/claude-2.1/bin/claude }
 * ```
 *
 * It is found from the working directory upwards (the first `baton.config.yaml` or
 * `baton.config.yml`), or named with `--config`. Precedence, for every value: a flag, else the
 * environment variable that sets it, else the file, else the default. {@link resolveConfig}
 * keeps each value's source, which `baton config` prints. A bad file is refused with the plan
 * errors' `file:line:column: field: message` form, before anything is opened.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { ValidationError } from '../core/errors.ts';
import { checkPrices, type PriceOverrides } from '../core/pricing.ts';
import { TIERS } from '../core/model-choice.ts';
import { describeValue, didYouMean } from '../core/text.ts';

/** The names the file may have, looked for in this order in each directory. */
export const CONFIG_FILE_NAMES = ['baton.config.yaml', 'baton.config.yml'] as const;

/** How tasks of one epic share worktrees (issue 14 §2): one per task, or one per epic. */
export const PARALLEL_STRATEGIES = ['by_task', 'by_epic'] as const;
export type ParallelStrategy = (typeof PARALLEL_STRATEGIES)[number];

/** A coding agent's CLI. */
export interface AgentCliConfig {
  /** Its path, or its name on PATH. Pin a version by giving a path. */
  path: string;
  /** Arguments added to every session. */
  args: string[];
}

export interface ProviderConfig {
  baseUrl: string | null;
  /** A key from the file; one in the environment wins. Never printed. */
  apiKey: string | null;
}

/** The merged configuration. */
export interface BatonConfig {
  /** @default $BATON_STORE, else 'sqlite:.baton/baton.db' */
  store: string;
  /**
   * The git repository of plans with worktrees that name none (`repo:` in the plan wins),
   * relative to this file's folder. @default null: the current directory's
   */
  repo: string | null;
  /** @default 'default' */
  namespace: string;
  parallel: {
    /** False runs one task at a time (`baton run --sequential`). @default true */
    enabled: boolean;
    /** Agents `baton run` starts. @default null: the plan's widest DAG level, at most 16 */
    maxConcurrency: number | null;
    /** @default 'by_task' */
    strategy: ParallelStrategy;
  };
  cost: {
    /** The budget of a run whose plan sets none, in USD. @default null: none */
    budgetUsd: number | null;
    /**
     * Model tiers: `strong`, `balanced`, `fast` → a model id (all three for `model: auto`; the
     * learn step needs `fast`). @default {}
     */
    tiers: Record<string, string>;
    /** Prices by `provider:model`, as BATON_PRICES (which wins over them). @default {} */
    prices: PriceOverrides;
  };
  learning: {
    /** Expertise files are read into prompts. @default true */
    enabled: boolean;
    /** Lines an expertise file may hold. @default 1000 */
    expertiseMaxLines: number;
  };
  agents: {
    claude: AgentCliConfig;
    codex: AgentCliConfig;
    /** A session's spending limit when its task sets none, in USD. @default 5 */
    maxBudgetUsd: number;
    /** An MCP config file for Claude Code sessions (`--mcp-config`). @default null */
    mcpConfig: string | null;
    /**
     * Give every Claude Code and Codex session Baton's own tools (docs/mcp.md): a configuration
     * written per attempt, with a token scoped to it. Wins over `mcpConfig`. @default false
     */
    mcp: boolean;
  };
  llm: {
    anthropic: ProviderConfig;
    openai: ProviderConfig;
  };
}

/** Where a value came from. */
export type ConfigSource =
  | { kind: 'default' }
  | { kind: 'file'; file: string; line: number }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; flag: string };

/** The merged configuration, with the source of each value (by dotted path) and the file used. */
export interface ResolvedConfig {
  config: BatonConfig;
  sources: Map<string, ConfigSource>;
  /** The file read, or null when there was none. */
  file: string | null;
}

/** What the command line said, for the values a flag can set. */
export interface ConfigFlags {
  store?: string;
  namespace?: string;
  maxConcurrency?: number;
  sequential?: boolean;
}

/** Paths of values that are secrets: printed masked, never in full. */
export const SECRET_PATHS = ['llm.anthropic.apiKey', 'llm.openai.apiKey'] as const;

export function defaultConfig(): BatonConfig {
  return {
    store: 'sqlite:.baton/baton.db',
    repo: null,
    namespace: 'default',
    parallel: { enabled: true, maxConcurrency: null, strategy: 'by_task' },
    cost: { budgetUsd: null, tiers: {}, prices: {} },
    learning: { enabled: true, expertiseMaxLines: 1000 },
    agents: {
      claude: { path: 'claude', args: [] },
      codex: { path: 'codex', args: [] },
      maxBudgetUsd: 5,
      mcpConfig: null,
      mcp: false,
    },
    llm: {
      anthropic: { baseUrl: null, apiKey: null },
      openai: { baseUrl: null, apiKey: null },
    },
  };
}

/**
 * The config file for `start` (a directory): the first of {@link CONFIG_FILE_NAMES} in it or in
 * a directory above it, or null.
 */
export function findConfigFile(start: string): string | null {
  let dir = resolve(start);
  for (;;) {
    for (const name of CONFIG_FILE_NAMES) {
      const candidate = join(dir, name);
      if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** What a file says: the values it sets (dotted path → value) and their lines. */
export interface ConfigFileValues {
  file: string;
  values: Map<string, unknown>;
  lines: Map<string, number>;
}

export type Segment = string | number;

/**
 * The check of a leaf: null when good, else a message, or problems at paths below the leaf (a
 * price's field).
 */
type Check = (value: unknown) => string | { below: Segment[]; message: string }[] | null;

const positiveInt: Check = (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 1
    ? null
    : `must be a whole number of 1 or more; got ${describeValue(v)}`;
const positiveUsd: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v > 0
    ? null
    : `must be an amount of USD above 0; got ${describeValue(v)}`;
const bool: Check = (v) =>
  typeof v === 'boolean' ? null : `must be true or false; got ${describeValue(v)}`;
const nonEmpty: Check = (v) =>
  typeof v === 'string' && v.trim() !== ''
    ? null
    : `must be a non-empty string; got ${describeValue(v)}`;
const httpUrl: Check = (v) => {
  if (typeof v !== 'string') return `must be an http:// or https:// URL; got ${describeValue(v)}`;
  try {
    const url = new URL(v);
    return url.protocol === 'http:' || url.protocol === 'https:'
      ? null
      : `must be an http:// or https:// URL; got ${JSON.stringify(v)}`;
  } catch {
    return `must be an http:// or https:// URL; got ${JSON.stringify(v)}`;
  }
};
const stringList: Check = (v) =>
  Array.isArray(v) && v.every((a) => typeof a === 'string')
    ? null
    : `must be a list of strings; got ${describeValue(v)}`;
const tiers: Check = (v) => {
  if (
    v === null ||
    typeof v !== 'object' ||
    Array.isArray(v) ||
    !Object.values(v).every((m) => typeof m === 'string' && m.trim() !== '')
  ) {
    return `must map tier names to model ids, e.g. { fast: anthropic:claude-haiku-4-5 }; got ${describeValue(v)}`;
  }
  const unknown = Object.keys(v).find((name) => !(TIERS as readonly string[]).includes(name));
  return unknown === undefined
    ? null
    : `'${unknown}' is not a tier${didYouMean(unknown, TIERS)}; the tiers are strong, balanced and fast`;
};
const pricesCheck: Check = (v) => {
  try {
    checkPrices(v, '');
    return null;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    // checkPrices names an entry `["provider:model"].field`.
    return error.issues.map((issue) => {
      const m = /^\[("(?:[^"\\]|\\.)*")\](?:\.(\w+))?$/.exec(issue.path);
      const below: Segment[] = m === null ? [] : [JSON.parse(m[1]!) as string];
      if (m?.[2] !== undefined) below.push(m[2]);
      return { below, message: issue.message };
    });
  }
};
const strategy: Check = (v) =>
  typeof v === 'string' && (PARALLEL_STRATEGIES as readonly string[]).includes(v)
    ? null
    : `must be one of ${PARALLEL_STRATEGIES.join(', ')}; got ${describeValue(v)}${typeof v === 'string' ? didYouMean(v, PARALLEL_STRATEGIES) : ''}`;

/** The file's shape: a section is a mapping of fields; a leaf is a check. */
export interface Shape {
  [field: string]: Shape | Check;
}

const agentCli: Shape = { path: nonEmpty, args: stringList };
/** A key's check: what is wrong is said without quoting the value (it may be a real key). */
const secret: Check = (v) =>
  typeof v === 'string' && v.trim() !== ''
    ? null
    : `must be a non-empty string (the value is not shown: it may be a key); better, set the key in the environment`;
const provider: Shape = { baseUrl: httpUrl, apiKey: secret };

export const SHAPE: Shape = {
  store: nonEmpty,
  repo: nonEmpty,
  namespace: nonEmpty,
  parallel: { enabled: bool, maxConcurrency: positiveInt, strategy },
  cost: { budgetUsd: positiveUsd, tiers, prices: pricesCheck },
  learning: { enabled: bool, expertiseMaxLines: positiveInt },
  agents: {
    claude: agentCli,
    codex: agentCli,
    maxBudgetUsd: positiveUsd,
    mcpConfig: nonEmpty,
    mcp: bool,
  },
  llm: { anthropic: provider, openai: provider },
};

/** Leaves whose value is a mapping taken whole (not a section). */
const WHOLE = new Set(['cost.tiers', 'cost.prices']);

/**
 * Merge the defaults, the file, the environment and the flags (each overriding the one before),
 * keeping each value's source.
 *
 * @param env read for `BATON_STORE`, and the providers' keys and base URLs
 *   (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_BASE_URL`).
 */
export function resolveConfig(
  file: ConfigFileValues | null,
  env: NodeJS.ProcessEnv,
  flags: ConfigFlags = {},
): ResolvedConfig {
  const config = defaultConfig();
  const sources = new Map<string, ConfigSource>();
  for (const path of leafPaths(config)) sources.set(path, { kind: 'default' });

  const set = (path: string, value: unknown, source: ConfigSource): void => {
    setPath(config, path, value);
    sources.set(path, source);
  };
  if (file !== null) {
    for (const [path, value] of file.values) {
      set(path, WHOLE.has(path) ? structuredClone(value) : value, {
        kind: 'file',
        file: file.file,
        line: file.lines.get(path) ?? 1,
      });
    }
  }
  const fromEnv: [string, string][] = [
    ['store', 'BATON_STORE'],
    ['llm.anthropic.apiKey', 'ANTHROPIC_API_KEY'],
    ['llm.anthropic.baseUrl', 'ANTHROPIC_BASE_URL'],
    ['llm.openai.apiKey', 'OPENAI_API_KEY'],
    ['llm.openai.baseUrl', 'OPENAI_BASE_URL'],
  ];
  for (const [path, name] of fromEnv) {
    const value = env[name];
    if (value !== undefined && value !== '') set(path, value, { kind: 'env', name });
  }
  if (flags.store !== undefined) set('store', flags.store, { kind: 'flag', flag: '--store' });
  if (flags.namespace !== undefined) {
    set('namespace', flags.namespace, { kind: 'flag', flag: '--namespace' });
  }
  if (flags.maxConcurrency !== undefined) {
    set('parallel.maxConcurrency', flags.maxConcurrency, {
      kind: 'flag',
      flag: '--concurrency',
    });
  }
  if (flags.sequential === true) {
    set('parallel.enabled', false, { kind: 'flag', flag: '--sequential' });
  }
  return { config, sources, file: file?.file ?? null };
}

/** Every leaf of the merged configuration with its value (secrets masked) and source. */
export function describeConfig(
  resolved: ResolvedConfig,
): { path: string; value: unknown; source: ConfigSource }[] {
  return [...leafPaths(resolved.config)].map((path) => {
    const value = getPath(resolved.config, path);
    return {
      path,
      value: (SECRET_PATHS as readonly string[]).includes(path) ? maskSecret(value) : value,
      source: resolved.sources.get(path) ?? { kind: 'default' },
    };
  });
}

/** `sk-ant-…` → `sk-a…(32 chars)`: enough to tell keys apart, never enough to use one. */
export function maskSecret(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return `${value.slice(0, 4)}…(${value.length} chars)`;
}

export function formatSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `${source.file}:${source.line}`;
    case 'env':
      return `$${source.name}`;
    case 'flag':
      return source.flag;
  }
}

function leafPaths(config: BatonConfig): string[] {
  const out: string[] = [];
  const visit = (value: unknown, shape: Shape, at: string[]): void => {
    for (const [field, rule] of Object.entries(shape)) {
      const path = [...at, field];
      if (typeof rule === 'function' || WHOLE.has(path.join('.'))) out.push(path.join('.'));
      else visit((value as Record<string, unknown>)[field], rule, path);
    }
  };
  visit(config, SHAPE, []);
  return out;
}

function getPath(target: object, path: string): unknown {
  let node: unknown = target;
  for (const part of path.split('.')) node = (node as Record<string, unknown>)[part];
  return node;
}

function setPath(target: object, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts.at(-1)!] = value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
