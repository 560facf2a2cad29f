/**
 * Claude Code's stream-json output (`claude -p --output-format stream-json --verbose`), read line
 * by line as it arrives. The format, as the real CLI writes it (../shared/fixtures):
 *
 * - `{"type":"system","subtype":"init", session_id, model, cwd, tools, mcp_servers, …}` first;
 * - `{"type":"assistant","message":{ model, content: [text | tool_use | thinking …], usage }}` per
 *   message: its `usage` is the stream's opening snapshot (output_tokens 1), NOT the message's
 *   final count, so it is never added up;
 * - `{"type":"user","message":{ content: [tool_result …] }}` for tool results;
 * - `{"type":"result", subtype, is_error, result, num_turns, total_cost_usd, usage, modelUsage}`
 *   last: the ONLY line with totals. `modelUsage` has one entry per model the session used (a
 *   subagent may use another), each with its tokens and `costUSD`.
 *
 * `subtype` is `success`, `error_max_turns`, `error_max_budget_usd` or `error_during_execution`.
 */
import type { ModelUsage } from '../../core/ledger.ts';
import { truncate } from '../../core/text.ts';
import type { AgentEvents } from './events.ts';

/** Characters of a tool call's input, or a tool result, shown in the task log. */
const TOOL_TEXT_LIMIT = 300;

export interface ClaudeResult {
  subtype: string;
  isError: boolean;
  /** The final answer (or the error's text). */
  text: string;
  sessionId: string | null;
  numTurns: number | null;
  totalCostUsd: number | null;
  /** One per model in `modelUsage`, with its reported cost. */
  usage: ModelUsage[];
}

/** Reads Claude Code's stream-json, one line at a time. */
export class ClaudeStream {
  readonly #events: AgentEvents;
  sessionId: string | null = null;
  /** The model named by `system/init` (the session's main model). */
  model: string | null = null;
  result: ClaudeResult | null = null;

  constructor(events: AgentEvents) {
    this.#events = events;
  }

  /** One line of stdout. Lines that are not JSON objects go to the log as they are. */
  line(text: string): void {
    const event = parseObject(text);
    if (event === null) {
      if (text.trim() !== '') this.#events.output(text);
      return;
    }
    switch (event.type) {
      case 'system':
        if (event.subtype === 'init') {
          this.sessionId = str(event.session_id) ?? this.sessionId;
          this.model = str(event.model) ?? this.model;
          const servers = Array.isArray(event.mcp_servers) ? event.mcp_servers.length : 0;
          this.#events.info(
            `claude session ${this.sessionId ?? '?'} started: model ${this.model ?? '?'}, cwd ${str(event.cwd) ?? '?'}${servers > 0 ? `, ${servers} MCP server(s)` : ''}`,
          );
        }
        return;
      case 'assistant':
        for (const part of contentOf(event)) {
          if (part.type === 'text' && typeof part.text === 'string' && part.text.trim() !== '') {
            this.#events.text(part.text);
          } else if (part.type === 'tool_use') {
            this.#events.tool(str(part.name) ?? '?', compact(part.input));
          }
        }
        return;
      case 'user':
        for (const part of contentOf(event)) {
          if (part.type === 'tool_result' && part.is_error === true) {
            this.#events.info(`tool error: ${truncate(flatten(part.content), TOOL_TEXT_LIMIT)}`);
          }
        }
        return;
      case 'result':
        this.result = readResult(event, this.sessionId);
        return;
      default:
        return;
    }
  }
}

function readResult(event: Record<string, unknown>, sessionId: string | null): ClaudeResult {
  const usage: ModelUsage[] = [];
  const models = event.modelUsage;
  if (models !== null && typeof models === 'object' && !Array.isArray(models)) {
    for (const [model, raw] of Object.entries(models as Record<string, unknown>)) {
      if (raw === null || typeof raw !== 'object') continue;
      const u = raw as Record<string, unknown>;
      const cacheRead = num(u.cacheReadInputTokens);
      const cacheWrite = num(u.cacheCreationInputTokens);
      const entry: ModelUsage = {
        provider: 'anthropic',
        model,
        // Baton counts every input token, cached ones included (core/ledger.ts).
        inputTokens: num(u.inputTokens) + cacheRead + cacheWrite,
        outputTokens: num(u.outputTokens),
        cacheReadTokens: cacheRead,
        cacheWriteTokens: cacheWrite,
      };
      if (typeof u.costUSD === 'number' && Number.isFinite(u.costUSD)) entry.costUsd = u.costUSD;
      usage.push(entry);
    }
  }
  const errors = Array.isArray(event.errors) ? event.errors.map(String).join('; ') : '';
  return {
    subtype: str(event.subtype) ?? 'unknown',
    isError: event.is_error === true,
    text: str(event.result) ?? errors,
    sessionId: str(event.session_id) ?? sessionId,
    numTurns: typeof event.num_turns === 'number' ? event.num_turns : null,
    totalCostUsd: typeof event.total_cost_usd === 'number' ? event.total_cost_usd : null,
    usage,
  };
}

/** The argv of `claude` for one session (the prompt comes on stdin). */
export function claudeArgs(options: {
  model?: string | undefined;
  maxBudgetUsd?: number | undefined;
  maxTurns?: number | undefined;
  mcpConfig?: string | undefined;
  extraArgs?: readonly string[] | undefined;
}): string[] {
  const args = ['-p', '--output-format', 'stream-json', '--verbose'];
  if (options.model !== undefined) args.push('--model', options.model);
  if (options.maxBudgetUsd !== undefined) {
    args.push('--max-budget-usd', formatUsd(options.maxBudgetUsd));
  }
  if (options.maxTurns !== undefined) args.push('--max-turns', String(options.maxTurns));
  if (options.mcpConfig !== undefined) args.push('--mcp-config', options.mcpConfig);
  args.push(...(options.extraArgs ?? []));
  return args;
}

/** USD as a flag value: no exponent, no float noise (0.1 + 0.2 → "0.3"). */
export function formatUsd(usd: number): string {
  return String(Number(usd.toFixed(6)));
}

export function parseObject(text: string): Record<string, unknown> | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(trimmed);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function contentOf(event: Record<string, unknown>): Record<string, unknown>[] {
  const message = event.message as { content?: unknown } | undefined;
  const content = message?.content;
  return Array.isArray(content)
    ? content.filter((c): c is Record<string, unknown> => c !== null && typeof c === 'object')
    : [];
}

export function compact(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return truncate(text.replace(/\s+/g, ' '), TOOL_TEXT_LIMIT);
}

function flatten(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((c) => (c !== null && typeof c === 'object' ? str((c as { text?: unknown }).text) : ''))
      .join(' ');
  }
  return compact(content);
}

export function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}
