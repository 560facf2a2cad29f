/**
 * The `agent` task: a coding-agent CLI (Claude Code, OpenAI Codex, or any command) run in the
 * task's working directory with a prompt. What its payload holds and the rules it must follow,
 * checked the same way wherever a task comes from (a plan file, the SDK, a worker about to run
 * it). Pure: no I/O. See docs/agents.md.
 *
 * ```json
 * {
 *   "kind": "claude",
 *   "model": "claude-sonnet-4-5",
 *   "description": "Add a --verbose flag to the CLI and test it.",
 *   "maxBudgetUsd": 2,
 *   "maxTurns": 30
 * }
 * ```
 */
import type { ValidationIssue } from './errors.ts';
import { checkTemplate } from './template.ts';
import { describeValue, didYouMean } from './text.ts';
import type { Json } from './types.ts';

/** The task type (and plan `executor:`) of a coding agent. */
export const AGENT_TASK_TYPE = 'agent';

/** The agent CLIs Baton knows how to drive. */
export const AGENT_KINDS = ['claude', 'codex', 'command'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

/** The payload fields that describe the agent's session; any other field is data for templates. */
export const AGENT_FIELDS = [
  'kind',
  'model',
  'prompt',
  'description',
  'maxBudgetUsd',
  'maxTurns',
  'mcpConfig',
  'command',
  'args',
  'cwd',
  'env',
  'domain',
] as const;

/** The payload of a task of type `agent`. */
export interface AgentPayload {
  /** Which CLI runs: `claude` (Claude Code), `codex` (OpenAI Codex) or `command` (any program). */
  kind: AgentKind;
  /**
   * The model, as the CLI names it (`claude-sonnet-4-5`, `gpt-5-codex`); a provider prefix
   * (`anthropic:`, `openai:`) is accepted and dropped. @default the CLI's own default
   */
  model?: string;
  /**
   * The whole prompt, a template (`{{ payload.x }}`, `{{ deps.key.result }}`). Without it, the
   * prompt is built from the task's title, `description`, its dependencies' results and its
   * domain's expertise (docs/agents.md#prompt).
   */
  prompt?: string;
  /** What the agent should do, under the task's title in the built prompt. */
  description?: string;
  /**
   * The most this session may spend, in USD: held against the run's and task's budgets before
   * the agent starts, and given to Claude Code as `--max-budget-usd`.
   * @default the handler's `maxBudgetUsd`, capped by what the budgets have left
   */
  maxBudgetUsd?: number;
  /** Claude Code's `--max-turns`. @default the CLI's own */
  maxTurns?: number;
  /** An MCP configuration file for Claude Code (`--mcp-config`), relative to the working directory. */
  mcpConfig?: string;
  /** For `kind: command`: the program (looked up on PATH) and its arguments. */
  command?: string;
  args?: string[];
  /** The working directory. @default the handler's `workdir(ctx)`, else the worker's cwd */
  cwd?: string;
  /** Variables added to the agent's environment. */
  env?: Record<string, string>;
  /** The expertise domain whose file (`.baton/expertise/<domain>.yaml`) goes into the prompt. */
  domain?: string;
  [field: string]: Json | undefined;
}

/** Domain names: what `.baton/expertise/<domain>.yaml` may be called. */
export const DOMAIN_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** What an `agent` payload is checked against besides itself. */
export interface AgentCheckScope {
  dependencyKeys: readonly string[];
  /** The task has a title (the built prompt needs a title or a description). */
  hasTitle: boolean;
}

/**
 * Every problem of an `agent` task's payload, each with the field it is in. Empty when good.
 */
export function checkAgentPayload(payload: unknown, scope: AgentCheckScope): ValidationIssue[] {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return [
      {
        path: '',
        message: `an agent task's payload must be an object { kind, model?, prompt? | description?, maxBudgetUsd?, … }; got ${describeValue(payload)}`,
      },
    ];
  }
  const issues: ValidationIssue[] = [];
  const p = payload as Record<string, unknown>;
  const kind = p.kind;
  if (kind === undefined) {
    issues.push({ path: 'kind', message: `is required: one of ${AGENT_KINDS.join(', ')}` });
  } else if (typeof kind !== 'string' || !(AGENT_KINDS as readonly string[]).includes(kind)) {
    issues.push({
      path: 'kind',
      message: `must be one of ${AGENT_KINDS.join(', ')}; got ${describeValue(kind)}${typeof kind === 'string' ? didYouMean(kind, AGENT_KINDS) : ''}`,
    });
  }
  const string = (field: string, required = false): void => {
    const value = p[field];
    if (value === undefined) {
      if (required) issues.push({ path: field, message: 'is required' });
      return;
    }
    if (typeof value !== 'string' || value.trim() === '') {
      issues.push({
        path: field,
        message: `must be a non-empty string; got ${describeValue(value)}`,
      });
    }
  };
  string('model');
  string('description');
  string('mcpConfig');
  string('cwd');
  if (typeof p.model === 'string' && kind === 'command') {
    issues.push({
      path: 'model',
      message: 'a command agent takes no model: pass it in args if the program wants one',
    });
  }
  const templateScope = { payload: payload as Json, dependencyKeys: scope.dependencyKeys };
  for (const field of ['prompt', 'description'] as const) {
    const value = p[field];
    if (field === 'prompt') string('prompt');
    if (typeof value !== 'string') continue;
    for (const message of checkTemplate(value, templateScope))
      issues.push({ path: field, message });
  }
  if (p.prompt === undefined && p.description === undefined && !scope.hasTitle) {
    issues.push({
      path: 'prompt',
      message:
        'an agent needs something to do: give prompt: (the whole prompt), or a title: and description: to build it from',
    });
  }
  if (p.maxBudgetUsd !== undefined) {
    const n = p.maxBudgetUsd;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
      issues.push({
        path: 'maxBudgetUsd',
        message: `must be a number of USD above 0 (the most this session may spend); got ${describeValue(n)}`,
      });
    }
  }
  if (p.maxTurns !== undefined) {
    const n = p.maxTurns;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
      issues.push({
        path: 'maxTurns',
        message: `must be a whole number ≥ 1; got ${describeValue(n)}`,
      });
    } else if (kind !== 'claude') {
      issues.push({ path: 'maxTurns', message: 'only kind: claude takes maxTurns' });
    }
  }
  if (p.mcpConfig !== undefined && kind !== 'claude') {
    issues.push({ path: 'mcpConfig', message: 'only kind: claude takes mcpConfig' });
  }
  if (kind === 'command') {
    if (p.command === undefined) {
      issues.push({
        path: 'command',
        message: 'a command agent needs command: (the program to run, e.g. command: ./my-agent)',
      });
    } else string('command');
  } else if (p.command !== undefined) {
    issues.push({
      path: 'command',
      message: `only kind: command takes command; kind ${String(kind)} runs its own CLI (set its path in baton.config.yaml under agents:)`,
    });
  }
  if (p.args !== undefined) {
    if (!Array.isArray(p.args) || p.args.some((a) => typeof a !== 'string')) {
      issues.push({
        path: 'args',
        message: `must be a list of strings; got ${describeValue(p.args)}`,
      });
    } else if (kind !== 'command') {
      issues.push({ path: 'args', message: 'only kind: command takes args' });
    }
  }
  if (p.env !== undefined) {
    const env = p.env;
    if (
      env === null ||
      typeof env !== 'object' ||
      Array.isArray(env) ||
      Object.values(env).some((v) => typeof v !== 'string')
    ) {
      issues.push({
        path: 'env',
        message: `must be a mapping of names to strings; got ${describeValue(env)}`,
      });
    }
  }
  if (p.domain !== undefined && (typeof p.domain !== 'string' || !DOMAIN_PATTERN.test(p.domain))) {
    issues.push({
      path: 'domain',
      message: `must be a domain name (lower-case letters, digits, '-' and '_', e.g. api or frontend); got ${describeValue(p.domain)}`,
    });
  }
  return issues;
}

/** The model as the CLI takes it: `anthropic:claude-sonnet-4-5` → `claude-sonnet-4-5`. */
export function cliModelName(model: string): string {
  const m = /^(anthropic|openai):(.+)$/.exec(model);
  return m ? m[2]! : model;
}
