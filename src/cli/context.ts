/**
 * What every command gets: where to write, the resolved store URL and namespace, a pino logger
 * on stderr (readable lines on a terminal, JSON elsewhere), and a way to open the store. Opening is lazy, so a command that fails on its input
 * (a bad plan, a bad flag) never creates or touches the store.
 */
import pino, { type Logger } from 'pino';

import { parseStoreUrl } from '../backends/open.ts';
import { Baton } from '../runtime/baton.ts';
import { formatLogLine, resolveLogFormat } from './log-format.ts';
import { resolvePrices } from './costs.ts';
import { resolveLogLevel, type LogLevel } from './parse.ts';
import { loadConfig, type ResolvedConfig } from '../runtime/config.ts';
import { paintFor, wantsColour, type Paint } from './colour.ts';

/** The streams and environment the CLI uses; tests pass their own. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Options every command accepts. */
export interface CommonOptions {
  /** `--store`; falls back to `BATON_STORE`, then `sqlite:.baton/baton.db`. */
  store?: string;
  /** `--namespace`. @default 'default' (the backend's) */
  namespace?: string;
  /** `--log-level`; falls back to `BATON_LOG_LEVEL`, then the command's default. */
  logLevel?: LogLevel;
  /** `--json`: print JSON instead of text. @default false */
  json: boolean;
  /** `--config`: the config file. @default baton.config.yaml, searched from the cwd upwards */
  config?: string;
  /** `baton run --concurrency`, which overrides `parallel.maxConcurrency`. */
  maxConcurrency?: number;
  /** `baton run --sequential`, which sets `parallel.enabled: false`. */
  sequential?: boolean;
}

export interface CliContext {
  io: CliIO;
  json: boolean;
  storeUrl: string;
  namespace: string | undefined;
  /** The merged configuration (docs/config.md), with each value's source. */
  config: ResolvedConfig;
  /**
   * The environment model calls and coding agents get: the command's, with the providers' keys
   * and base URLs from the config file where the environment has none.
   */
  agentEnv: NodeJS.ProcessEnv;
  logger: Logger;
  /** Colour for what goes to stdout: on a terminal, unless `NO_COLOR` (`colour.ts`). */
  paint: Paint;
  /** Colour for what goes to stderr. */
  paintErr: Paint;
  /** Open the store. The caller closes it. */
  open(): Promise<Baton>;
  /** Write a line (a newline is added) to stdout. */
  print(text: string): void;
  /** Write a value as pretty JSON to stdout. */
  printJson(value: unknown): void;
  /** Write a line to stderr: messages for the person, not data. */
  note(text: string): void;
  /**
   * Send what goes to stderr (log lines and notes) to `write` instead, or back to stderr with
   * null: a live display prints it above its frame rather than have it written behind its back.
   */
  routeStderr(write: ((text: string) => void) | null): void;
}

/**
 * @throws BatonError `BATON_STORE_URL` when the store URL has no known form, before anything
 *   is opened.
 */
export function createContext(
  io: CliIO,
  options: CommonOptions,
  defaultLevel: LogLevel,
): CliContext {
  // Flags, then the environment, then baton.config.yaml, then the defaults (docs/config.md).
  const config = loadConfig({
    explicit: options.config,
    cwd: process.cwd(),
    env: io.env,
    flags: {
      ...(options.store === undefined || options.store === '' ? {} : { store: options.store }),
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
      ...(options.sequential === true ? { sequential: true } : {}),
    },
  });
  const storeUrl = config.config.store;
  parseStoreUrl(storeUrl);
  const level = resolveLogLevel(options.logLevel, defaultLevel, io.env);
  const toStderr = (text: string): void => {
    io.stderr.write(text);
  };
  let writeErr = toStderr;
  const paintErr = paintFor(wantsColour(io.stderr, io.env));
  // Readable lines on a terminal, JSON elsewhere (log-format.ts).
  const pretty = resolveLogFormat(io.stderr, io.env) === 'pretty';
  // No `name` field: the worker logs its agent's name under that key.
  const logger = pino(
    { level },
    { write: (line: string) => writeErr(pretty ? formatLogLine(line, paintErr) : line) },
  );
  const namespace =
    config.sources.get('namespace')?.kind === 'default' ? undefined : config.config.namespace;
  // Model prices for the agents' ledger (docs/costs.md), checked before anything is opened:
  // the config file's, with BATON_PRICES over them.
  const fromEnv = resolvePrices(io.env);
  const fromFile = config.config.cost.prices;
  const prices =
    fromEnv === undefined && Object.keys(fromFile).length === 0
      ? undefined
      : { ...fromFile, ...fromEnv };
  return {
    io,
    json: options.json,
    storeUrl,
    namespace,
    config,
    agentEnv: agentEnvOf(io.env, config),
    logger,
    paint: paintFor(wantsColour(io.stdout, io.env)),
    paintErr,
    open: () =>
      Baton.open(storeUrl, {
        logger,
        ...(namespace === undefined ? {} : { namespace }),
        ...(prices === undefined ? {} : { prices }),
      }),
    print: (text) => {
      io.stdout.write(`${text}\n`);
    },
    printJson: (value) => {
      io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    note: (text) => {
      writeErr(`${text}\n`);
    },
    routeStderr: (write) => {
      writeErr = write ?? toStderr;
    },
  };
}

/** The environment with the config file's provider settings where the environment has none. */
function agentEnvOf(env: NodeJS.ProcessEnv, resolved: ResolvedConfig): NodeJS.ProcessEnv {
  const { llm } = resolved.config;
  const out = { ...env };
  const fill = (name: string, value: string | null): void => {
    if (value !== null && (out[name] === undefined || out[name] === '')) out[name] = value;
  };
  fill('ANTHROPIC_API_KEY', llm.anthropic.apiKey);
  fill('ANTHROPIC_BASE_URL', llm.anthropic.baseUrl);
  fill('OPENAI_API_KEY', llm.openai.apiKey);
  fill('OPENAI_BASE_URL', llm.openai.baseUrl);
  return out;
}

/** Open the store, run `fn`, and always close the store. */
export async function withBaton<T>(ctx: CliContext, fn: (baton: Baton) => Promise<T>): Promise<T> {
  const baton = await ctx.open();
  try {
    return await fn(baton);
  } finally {
    await baton.close();
  }
}
