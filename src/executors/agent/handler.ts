/**
 * The `agent` executor: a task of type `agent` runs a coding-agent CLI — Claude Code
 * (`kind: claude`), OpenAI Codex (`kind: codex`) or any program (`kind: command`) — in the
 * task's working directory, with the task's prompt on its standard input. docs/agents.md has the
 * whole story.
 *
 * - The CLI runs in its own process group (`process-group.ts`): on cancel, timeout or the death
 *   of the worker, it and everything it started are killed.
 * - Its output is parsed as it arrives: assistant text and tool calls go to the task's log line by
 *   line; the session's usage goes to the ledger when the session ends (Claude Code's `result`
 *   line, with its reported cost; Codex's `turn.completed` tokens, priced from the table).
 * - Before the CLI starts, the session's spending limit is held against the run's and task's
 *   budgets (`ctx.costs.reserve`), and Claude Code gets it as `--max-budget-usd`.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

import {
  DOMAIN_PATTERN,
  checkAgentPayload,
  cliModelName,
  type AgentKind,
  type AgentPayload,
} from '../../core/agent.ts';
import { CancelledError, NonRetryableError } from '../../core/errors.ts';
import type { ModelUsage } from '../../core/ledger.ts';
import { TemplateError } from '../../core/template.ts';
import { truncate } from '../../core/text.ts';
import type { DependencyOutcome, Json } from '../../core/types.ts';
import { spawnProcessGroup, type ProcessGroup } from '../process-group.ts';
import { ClaudeStream, claudeArgs, type ClaudeResult } from './claude.ts';
import { CodexStream, codexArgs } from './codex.ts';
import { AgentError } from './errors.ts';
import type { AgentEvents } from './events.ts';
import { buildAgentPrompt, type AgentConflict } from './prompt.ts';

/** The attempt's log, as the worker's `ctx.log` offers it. */
export interface AgentLog {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  write(stream: 'stdout' | 'stderr', chunk: string | Uint8Array): void;
}

/** The attempt's ledger, as the worker's `ctx.costs` offers it. */
export interface AgentCosts {
  reserve(worstCaseUsd: number): Promise<{ id: string }>;
  record(usage: ModelUsage, options?: { reservationId?: string | null }): Promise<unknown>;
  /** What the run's and task's budgets have left (the smaller), or undefined without one. */
  remainingUsd?(): Promise<number | undefined>;
}

/** The part of a worker's task context the `agent` executor uses. */
export interface AgentHandlerContext {
  task: { id: string; title?: string | null; epic?: string | null };
  payload: Json;
  attempt: number;
  signal: AbortSignal;
  dependencies: Record<string, DependencyOutcome>;
  log?: AgentLog;
  costs?: AgentCosts;
  /**
   * The directory a worker prepared for the task (its worktree), if it did: used when the
   * handler's `workdir` option gives none, before the task's `cwd`.
   */
  workdir?: string;
  /**
   * The worktree the task runs in, as `withWorkspace` (src/workspace/) sets it: for a
   * `resolve-conflict` task, `conflict` is put at the top of the prompt.
   */
  workspace?: { conflict?: AgentConflict };
}

export interface AgentHandlerOptions<C extends AgentHandlerContext = AgentHandlerContext> {
  /**
   * The path (or name on PATH) of each CLI, to pin a version.
   * @default { claude: 'claude', codex: 'codex' }
   * @example { claude: '/opt/claude-2.1/bin/claude' }
   */
  binaries?: Partial<Record<'claude' | 'codex', string>>;
  /** Arguments added to every session of a CLI (before the prompt). @default none */
  extraArgs?: Partial<Record<'claude' | 'codex', readonly string[]>>;
  /**
   * The most one session may spend when its task does not say (`maxBudgetUsd`), in USD; capped
   * by what the run's and task's budgets have left.
   * @default 5
   */
  maxBudgetUsd?: number;
  /**
   * The model Codex sessions are priced as when their task names none (Codex's JSON does not
   * say which model answered). @default 'gpt-5-codex'
   */
  codexModel?: string;
  /**
   * An MCP configuration for Claude Code sessions whose task names none (`--mcp-config`): a file
   * path, or a function of the attempt returning one (an attempt-scoped config), or undefined.
   */
  mcpConfig?: string | ((ctx: C) => string | undefined | Promise<string | undefined>);
  /**
   * An attempt-scoped MCP configuration for Claude Code and Codex sessions (Baton's own tools,
   * src/mcp/): called per attempt with the session's working directory and a private folder
   * (removed when the session ends) to write it in. Claude gets `--mcp-config <path>`; Codex
   * the `codexArgs`. A task's own `mcpConfig` wins over it; it wins over `mcpConfig`.
   * @example mcp: (ctx, { dir, workdir }) => writeMcpConfigFor(ctx, { dir, sandbox: workdir })
   */
  mcp?: (
    ctx: C,
    where: { workdir: string; dir: string },
  ) => { path: string; codexArgs: string[] } | Promise<{ path: string; codexArgs: string[] }>;
  /**
   * Where the agent runs: a worktree made for the task (src/workspace/), or any directory. When
   * it returns undefined, or is not given: the context's `workdir`, else the task's `cwd`, else
   * the worker's directory.
   */
  workdir?: (ctx: C) => string | undefined | Promise<string | undefined>;
  /**
   * The expertise text of a task's domain, put at the top of its prompt (docs/agents.md).
   * Called only for tasks that name a `domain`. @default none
   */
  expertise?: (domain: string, ctx: C, workdir: string) => Promise<string | null>;
  /** The environment the payload's `env` is layered on. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** After SIGTERM to the agent's group, wait this long before SIGKILL. @default 2000 */
  killGraceMs?: number;
  /**
   * Called once the session has ended, succeeded or failed (not when the attempt was aborted):
   * the learn step. What it throws is logged as a warning and does not change the task's outcome.
   */
  afterSession?: (ctx: C, outcome: SessionOutcome) => Promise<void>;
}

/** How a session ended, for {@link AgentHandlerOptions.afterSession}. */
export interface SessionOutcome {
  workdir: string;
  /** The result of a session that succeeded, else null. */
  result: AgentResult | null;
  /** Why it failed, else null. */
  error: unknown;
}

const DEFAULT_MAX_BUDGET_USD = 5;
const DEFAULT_CODEX_MODEL = 'gpt-5-codex';
/** Characters of the agent's answer kept in the task's result (the whole text is in the log). */
const RESULT_TEXT_LIMIT = 16_000;
/** Lines of stderr quoted in the message of a failed session. */
const STDERR_TAIL_LINES = 15;

/** The result of a successful agent task. */
export interface AgentResult {
  [key: string]: Json;
  kind: AgentKind;
  /** The agent's final answer (Claude's `result`, Codex's last message, a command's stdout tail). */
  text: string;
  /** Claude's session id or Codex's thread id, when it said. */
  sessionId: string | null;
  /** What the session cost, as recorded in the ledger; null for a command. */
  costUsd: number | null;
  numTurns: number | null;
  exitCode: number | null;
  workdir: string;
  durationMs: number;
}

/**
 * The handler a worker registers for tasks of type `agent`.
 *
 * Resolves with an {@link AgentResult}. Rejects with a `NonRetryableError` for a malformed
 * payload or a CLI that cannot be started; an {@link AgentError} (retryable or not, see
 * `errors.ts`) when the session fails; a `BudgetExceededError` when the budgets cannot hold the
 * session; and with the signal's reason when the attempt is aborted, after the agent's whole
 * process group has been killed.
 *
 * @example
 * const worker = baton.worker({ handlers: { agent: agentHandler({ binaries: { claude: '/opt/claude' } }) } });
 */
export function agentHandler<C extends AgentHandlerContext = AgentHandlerContext>(
  options: AgentHandlerOptions<C> = {},
): (ctx: C) => Promise<Json> {
  if (
    options.maxBudgetUsd !== undefined &&
    !(Number.isFinite(options.maxBudgetUsd) && options.maxBudgetUsd > 0)
  ) {
    throw new TypeError(`invalid agentHandler options: maxBudgetUsd must be a number > 0`);
  }
  return (ctx) => runAgent(ctx, options);
}

async function runAgent<C extends AgentHandlerContext>(
  ctx: C,
  options: AgentHandlerOptions<C>,
): Promise<Json> {
  const { signal } = ctx;
  if (signal.aborted) throw abortReason(signal);
  let issues = checkAgentPayload(ctx.payload, {
    dependencyKeys: Object.keys(ctx.dependencies),
    hasTitle: typeof ctx.task.title === 'string' && ctx.task.title.trim() !== '',
  });
  if (ctx.workspace?.conflict !== undefined) {
    // A resolve-conflict task runs with its conflicting task's payload but without that task's
    // dependencies: the templates naming them are quoted as written (prompt.ts), not refused.
    issues = issues.filter(
      (i) => !((i.path === 'prompt' || i.path === 'description') && i.message.startsWith('{{')),
    );
  }
  if (issues.length > 0) {
    throw new NonRetryableError(
      `malformed agent payload: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
    );
  }
  const payload = ctx.payload as AgentPayload;
  const workdir = resolve(
    (await options.workdir?.(ctx)) ?? ctx.workdir ?? payload.cwd ?? process.cwd(),
  );
  const state = { started: false };
  if (options.afterSession === undefined) return session(ctx, options, payload, workdir, state);
  let result: AgentResult;
  try {
    result = (await session(ctx, options, payload, workdir, state)) as AgentResult;
  } catch (error) {
    // Only a session that ran has something to learn from (not a refused budget, say).
    if (state.started && !signal.aborted) {
      await afterSession(options.afterSession, ctx, { workdir, result: null, error });
    }
    throw error;
  }
  await afterSession(options.afterSession, ctx, { workdir, result, error: null });
  return result;
}

/** Run the hook; what it throws is logged, never the task's failure. */
async function afterSession<C extends AgentHandlerContext>(
  hook: NonNullable<AgentHandlerOptions<C>['afterSession']>,
  ctx: C,
  outcome: SessionOutcome,
): Promise<void> {
  try {
    await hook(ctx, outcome);
  } catch (error) {
    ctx.log?.warn(`after the session: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function session<C extends AgentHandlerContext>(
  ctx: C,
  options: AgentHandlerOptions<C>,
  payload: AgentPayload,
  workdir: string,
  state: { started: boolean },
): Promise<Json> {
  const { signal } = ctx;
  let expertise: string | null = null;
  const domain = domainOf(ctx, payload);
  if (domain !== undefined && options.expertise !== undefined) {
    expertise = await options.expertise(domain, ctx, workdir);
  }
  let prompt: string;
  try {
    prompt = buildAgentPrompt({
      title: ctx.task.title ?? null,
      payload,
      dependencies: ctx.dependencies,
      expertise,
      domain: domain ?? null,
      conflict: ctx.workspace?.conflict ?? null,
    });
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    throw new NonRetryableError(`cannot fill the agent task's prompt: ${error.message}`);
  }

  const kind = payload.kind;
  const model = payload.model === undefined ? undefined : cliModelName(payload.model);
  const log = ctx.log;

  // The session's spending limit, held before the CLI starts.
  let reservationId: string | null = null;
  let limitUsd: number | null = null;
  if (kind !== 'command' && ctx.costs !== undefined) {
    let amount = payload.maxBudgetUsd ?? options.maxBudgetUsd ?? DEFAULT_MAX_BUDGET_USD;
    const left = await ctx.costs.remainingUsd?.();
    // Capped by what the budgets have left; with (next to) nothing left, the full amount is asked
    // for, and refused with BATON_BUDGET_EXCEEDED.
    const capped = left === undefined ? amount : Math.floor(left * 1e6) / 1e6;
    if (capped > 0 && capped < amount) amount = capped;
    reservationId = (await ctx.costs.reserve(amount)).id;
    limitUsd = amount;
    if (kind === 'codex') {
      log?.info(
        `codex has no spending limit of its own: $${amount} is held against the budget, and its usage recorded when it ends`,
      );
    }
  }

  const scratch = await mkdtemp(join(tmpdir(), 'baton-agent-'));
  try {
    const promptFile = join(scratch, 'prompt.md');
    await writeFile(promptFile, prompt, { mode: 0o600 });

    let file: string;
    let args: string[];
    const scoped =
      kind === 'command' || options.mcp === undefined || payload.mcpConfig !== undefined
        ? undefined
        : await options.mcp(ctx, { workdir, dir: scratch });
    if (kind === 'claude') {
      const mcp =
        payload.mcpConfig ??
        scoped?.path ??
        (typeof options.mcpConfig === 'function'
          ? await options.mcpConfig(ctx)
          : options.mcpConfig);
      file = options.binaries?.claude ?? 'claude';
      const mcpFile = mcp === undefined ? undefined : resolve(workdir, mcp);
      if (mcpFile !== undefined && !existsSync(mcpFile)) {
        throw new NonRetryableError(
          `the MCP config ${mcpFile} does not exist (the task's mcpConfig, else agents.mcpConfig in baton.config.yaml, relative to the working directory ${workdir}); write it or fix the path`,
        );
      }
      args = claudeArgs({
        model,
        maxBudgetUsd: limitUsd ?? undefined,
        maxTurns: payload.maxTurns,
        mcpConfig: mcpFile,
        extraArgs: options.extraArgs?.claude,
      });
    } else if (kind === 'codex') {
      file = options.binaries?.codex ?? 'codex';
      args = codexArgs({
        model,
        extraArgs: [...(options.extraArgs?.codex ?? []), ...(scoped?.codexArgs ?? [])],
      });
    } else {
      file = payload.command ?? '';
      args = payload.args ?? [];
    }

    const events = logEvents(log);
    const claude = kind === 'claude' ? new ClaudeStream(events) : null;
    const codex = kind === 'codex' ? new CodexStream(events) : null;
    const stdoutTail: string[] = [];
    const onLine = (line: string): void => {
      if (claude !== null) claude.line(line);
      else if (codex !== null) codex.line(line);
      else {
        log?.write('stdout', `${line}\n`);
        stdoutTail.push(line);
        if (stdoutTail.length > 200) stdoutTail.shift();
      }
    };

    const startedAt = performance.now();
    const env: NodeJS.ProcessEnv = {
      ...(options.env ?? process.env),
      ...payload.env,
      BATON_PROMPT_FILE: promptFile,
      BATON_TASK_ID: ctx.task.id,
      BATON_ATTEMPT: String(ctx.attempt),
    };
    // The worker's own PWD would lie about where the agent runs.
    delete env['PWD'];
    let group: ProcessGroup;
    try {
      group = await spawnProcessGroup(file, args, {
        cwd: workdir,
        env,
        signal,
        stdinFile: promptFile,
        ...(options.killGraceMs === undefined ? {} : { killGraceMs: options.killGraceMs }),
      });
    } catch (error) {
      throw spawnError(error, kind, file, workdir);
    }
    state.started = true;
    log?.info(`started ${kind === 'command' ? file : kind} (pid ${group.pid}) in ${workdir}`);

    const lines = new LineSplitter(onLine);
    group.stdout.on('data', (chunk: Buffer) => lines.push(chunk));
    const stderr: string[] = [];
    const stderrDecoder = new StringDecoder('utf8');
    group.stderr.on('data', (chunk: Buffer) => {
      log?.write('stderr', chunk);
      stderr.push(stderrDecoder.write(chunk));
      if (stderr.length > 64) stderr.shift();
    });
    const exit = await group.exited;
    lines.end();
    const durationMs = Math.round(performance.now() - startedAt);
    const stderrTail = lastLines(stderr.join(''), STDERR_TAIL_LINES);

    // The money was spent whatever happens next: record it first.
    let costUsd: number | null = null;
    if (claude?.result != null && ctx.costs !== undefined) {
      costUsd = await recordClaude(ctx.costs, claude.result, claude.model ?? model, reservationId);
    } else if (codex !== null && ctx.costs !== undefined) {
      const usage = codex.usage(model ?? options.codexModel ?? DEFAULT_CODEX_MODEL);
      if (usage !== null) {
        const record = (await ctx.costs.record(usage, { reservationId })) as { costUsd?: unknown };
        costUsd = typeof record?.costUsd === 'number' ? record.costUsd : null;
      }
    }
    if (signal.aborted) throw abortReason(signal);

    const how =
      exit.code === null
        ? `was killed by signal ${exit.signal ?? '?'}`
        : `exited with code ${exit.code}`;
    const stderrNote = stderrTail === '' ? '' : `; last lines of stderr:\n${stderrTail}`;
    const base = {
      sessionId: null as string | null,
      costUsd,
      numTurns: null as number | null,
      exitCode: exit.code,
      workdir,
      durationMs,
    };

    if (claude !== null) {
      const result = claude.result;
      if (result === null) {
        if (exit.code === 0) {
          throw new AgentError(
            'AGENT_STREAM',
            `claude exited without its result line (is ${file} Claude Code, run with --output-format stream-json --verbose?)${stderrNote}`,
            { retryable: true },
          );
        }
        throw new AgentError('AGENT_EXIT', `claude ${how} before its result line${stderrNote}`, {
          retryable: true,
        });
      }
      throwClaudeError(result, limitUsd);
      if (exit.code !== 0) {
        throw new AgentError('AGENT_EXIT', `claude ${how} after a successful result${stderrNote}`, {
          retryable: true,
        });
      }
      const out: AgentResult = {
        ...base,
        kind,
        text: truncate(result.text, RESULT_TEXT_LIMIT),
        sessionId: result.sessionId,
        numTurns: result.numTurns,
      };
      return out;
    }
    if (codex !== null) {
      if (codex.failure !== null) {
        throw new AgentError('AGENT_ERROR', `codex failed: ${codex.failure}`, { retryable: true });
      }
      if (exit.code !== 0) {
        throw new AgentError('AGENT_EXIT', `codex ${how}${stderrNote}`, { retryable: true });
      }
      const out: AgentResult = {
        ...base,
        kind,
        text: truncate(codex.lastMessage, RESULT_TEXT_LIMIT),
        sessionId: codex.threadId,
        numTurns: codex.turns,
      };
      return out;
    }
    if (exit.code !== 0) {
      throw new AgentError('AGENT_EXIT', `${file} ${how}${stderrNote}`, { retryable: true });
    }
    const out: AgentResult = {
      ...base,
      kind,
      text: truncate(stdoutTail.join('\n'), RESULT_TEXT_LIMIT),
    };
    return out;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The task's expertise domain: its `domain`, else its epic when the epic's name is a domain name
 * (an epic `api` reads `.baton/expertise/api.yaml` if there is one).
 */
export function domainOf(ctx: AgentHandlerContext, payload: AgentPayload): string | undefined {
  if (payload.domain !== undefined) return payload.domain;
  const epic = ctx.task.epic;
  return typeof epic === 'string' && DOMAIN_PATTERN.test(epic) ? epic : undefined;
}

/** Record each model of a Claude session at its reported cost; the first settles the hold. */
async function recordClaude(
  costs: AgentCosts,
  result: ClaudeResult,
  model: string | undefined | null,
  reservationId: string | null,
): Promise<number> {
  let usages = result.usage;
  if (usages.length === 0 && result.totalCostUsd !== null && result.totalCostUsd > 0) {
    // A result without modelUsage: the total, against the session's model.
    usages = [
      {
        provider: 'anthropic',
        model: model ?? 'unknown',
        inputTokens: 0,
        outputTokens: 0,
        costUsd: result.totalCostUsd,
      },
    ];
  }
  let total = 0;
  let first = true;
  for (const usage of usages) {
    await costs.record(usage, { reservationId: first ? reservationId : null });
    first = false;
    total += usage.costUsd ?? 0;
  }
  return result.totalCostUsd ?? total;
}

function throwClaudeError(result: ClaudeResult, limitUsd: number | null): void {
  const said = result.text.trim() === '' ? '' : `: ${truncate(result.text.trim(), 500)}`;
  switch (result.subtype) {
    case 'success':
      if (!result.isError) return;
      throw new AgentError('AGENT_ERROR', `claude reported an error${said}`, { retryable: true });
    case 'error_max_budget_usd':
      throw new AgentError(
        'AGENT_MAX_BUDGET',
        `claude stopped at its spending limit${limitUsd === null ? '' : ` of $${limitUsd}`} (error_max_budget_usd) after ${result.numTurns ?? '?'} turn(s)${said}; raise the task's maxBudgetUsd or budget and retry it`,
        { retryable: false },
      );
    case 'error_max_turns':
      throw new AgentError(
        'AGENT_MAX_TURNS',
        `claude stopped at its turn limit (error_max_turns) after ${result.numTurns ?? '?'} turn(s)${said}; the task will be retried (raise maxTurns if it keeps happening)`,
        { retryable: true },
      );
    default:
      throw new AgentError(
        'AGENT_ERROR',
        `claude ended with ${result.subtype}${result.isError ? ' (is_error)' : ''}${said}; the task will be retried`,
        { retryable: true },
      );
  }
}

function logEvents(log: AgentLog | undefined): AgentEvents {
  return {
    text: (text) => {
      for (const line of text.split('\n')) log?.write('stdout', `${line}\n`);
    },
    tool: (name, input) => log?.info(`tool ${name}: ${input}`),
    info: (text) => log?.info(text),
    output: (text) => log?.write('stdout', `${text}\n`),
  };
}

/** Splits a byte stream into UTF-8 lines as they arrive. */
class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #onLine: (line: string) => void;
  #partial = '';

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Buffer): void {
    const text = this.#partial + this.#decoder.write(chunk);
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#onLine(line.replace(/\r$/, ''));
  }

  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest !== '') this.#onLine(rest);
  }
}

function spawnError(error: unknown, kind: AgentKind, file: string, workdir: string): Error {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const where =
    kind === 'command'
      ? "check the task's command"
      : `install it, or set its path: agents.${kind}.path in baton.config.yaml (or the handler's binaries.${kind})`;
  if ((code === 'ENOENT' || code === 'ENOTDIR') && !isDirectory(workdir)) {
    return new NonRetryableError(
      `the agent's working directory ${workdir} does not exist (running ${file}); create it, or fix the task's cwd or the handler's workdir`,
      { cause: error },
    );
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new NonRetryableError(
      `the ${kind === 'command' ? 'command' : `${kind} CLI`} '${file}' was not found (working directory ${workdir}); ${where}`,
      { cause: error },
    );
  }
  if (code === 'EACCES') {
    return new NonRetryableError(
      `permission denied running '${file}' (working directory ${workdir}); make it executable, or ${where}`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new CancelledError(typeof reason === 'string' ? reason : 'aborted');
}

function lastLines(text: string, count: number): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-count).join('\n');
}
