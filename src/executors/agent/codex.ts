/**
 * OpenAI Codex's JSONL output (`codex exec --json`), read line by line as it arrives:
 *
 * - `{"type":"thread.started","thread_id"}`, `{"type":"turn.started"}`;
 * - `{"type":"item.started"|"item.updated"|"item.completed","item":{ id, type, … }}` where the
 *   item is an `agent_message` (`text`), `reasoning` (`text`), `command_execution` (`command`,
 *   `exit_code`, `status`), `file_change` (`changes: [{ path, kind }]`), `mcp_tool_call`
 *   (`server`, `tool`), `web_search` (`query`), `todo_list` or `error` (`message`);
 * - `{"type":"turn.completed","usage":{ input_tokens, cached_input_tokens, output_tokens }}`: the
 *   turn's token usage, with no cost (it is priced from the table);
 * - `{"type":"turn.failed","error":{ message }}` and `{"type":"error","message"}` on failure.
 *
 * OpenAI counts cached tokens inside `input_tokens`, as Baton does.
 */
import type { ModelUsage } from '../../core/ledger.ts';
import { compact, num, parseObject, str } from './claude.ts';
import type { AgentEvents } from './events.ts';

export class CodexStream {
  readonly #events: AgentEvents;
  threadId: string | null = null;
  /** Tokens of every completed turn, summed. */
  inputTokens = 0;
  cachedInputTokens = 0;
  outputTokens = 0;
  turns = 0;
  /** The last agent message: the session's answer. */
  lastMessage = '';
  /** Why a turn failed, or an error event's message. */
  failure: string | null = null;

  constructor(events: AgentEvents) {
    this.#events = events;
  }

  line(text: string): void {
    const event = parseObject(text);
    if (event === null) {
      if (text.trim() !== '') this.#events.output(text);
      return;
    }
    switch (event.type) {
      case 'thread.started':
        this.threadId = str(event.thread_id);
        this.#events.info(`codex thread ${this.threadId ?? '?'} started`);
        return;
      case 'item.completed':
        this.#item(event.item);
        return;
      case 'turn.completed': {
        const usage = (event.usage ?? {}) as Record<string, unknown>;
        this.inputTokens += num(usage.input_tokens);
        this.cachedInputTokens += num(usage.cached_input_tokens);
        this.outputTokens += num(usage.output_tokens);
        this.turns += 1;
        return;
      }
      case 'turn.failed': {
        const error = event.error as { message?: unknown } | undefined;
        this.failure = str(error?.message) ?? 'the turn failed';
        this.#events.info(`turn failed: ${this.failure}`);
        return;
      }
      case 'error':
        this.failure = str(event.message) ?? 'error';
        this.#events.info(`error: ${this.failure}`);
        return;
      default:
        return;
    }
  }

  /** The session's usage, or null when no turn reported one. */
  usage(model: string): ModelUsage | null {
    if (this.turns === 0) return null;
    return {
      provider: 'openai',
      model,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      cacheReadTokens: Math.min(this.cachedInputTokens, this.inputTokens),
    };
  }

  #item(raw: unknown): void {
    if (raw === null || typeof raw !== 'object') return;
    const item = raw as Record<string, unknown>;
    switch (item.type) {
      case 'agent_message': {
        const text = str(item.text) ?? '';
        if (text.trim() !== '') this.#events.text(text);
        this.lastMessage = text;
        return;
      }
      case 'command_execution': {
        const code = typeof item.exit_code === 'number' ? ` → exit ${item.exit_code}` : '';
        this.#events.tool('shell', `${compact(item.command)}${code}`);
        return;
      }
      case 'file_change': {
        const changes = Array.isArray(item.changes) ? item.changes : [];
        const list = changes
          .map((c) => {
            const change = (c ?? {}) as { path?: unknown; kind?: unknown };
            return `${str(change.kind) ?? 'update'} ${str(change.path) ?? '?'}`;
          })
          .join(', ');
        this.#events.tool('file_change', list);
        return;
      }
      case 'mcp_tool_call':
        this.#events.tool(
          `${str(item.server) ?? '?'}.${str(item.tool) ?? '?'}`,
          compact(item.arguments ?? ''),
        );
        return;
      case 'web_search':
        this.#events.tool('web_search', compact(item.query));
        return;
      case 'error':
        this.#events.info(`error: ${str(item.message) ?? '?'}`);
        return;
      default:
        return;
    }
  }
}

/** The argv of `codex` for one session: the prompt comes on stdin (`-`). */
export function codexArgs(options: {
  model?: string | undefined;
  extraArgs?: readonly string[] | undefined;
}): string[] {
  const args = ['exec', '--json'];
  if (options.model !== undefined) args.push('--model', options.model);
  args.push(...(options.extraArgs ?? []), '-');
  return args;
}
