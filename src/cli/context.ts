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
import { resolveLogLevel, resolveStoreUrl, type LogLevel } from './parse.ts';
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
}

export interface CliContext {
  io: CliIO;
  json: boolean;
  storeUrl: string;
  namespace: string | undefined;
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
  const storeUrl = resolveStoreUrl(options.store, io.env);
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
  const namespace = options.namespace;
  // Model prices for the agents' ledger (docs/costs.md), checked before anything is opened.
  const prices = resolvePrices(io.env);
  return {
    io,
    json: options.json,
    storeUrl,
    namespace,
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

/** Open the store, run `fn`, and always close the store. */
export async function withBaton<T>(ctx: CliContext, fn: (baton: Baton) => Promise<T>): Promise<T> {
  const baton = await ctx.open();
  try {
    return await fn(baton);
  } finally {
    await baton.close();
  }
}
