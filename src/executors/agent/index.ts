export {
  agentHandler,
  domainOf,
  type AgentCosts,
  type AgentHandlerContext,
  type AgentHandlerOptions,
  type AgentLog,
  type AgentResult,
  type SessionOutcome,
} from './handler.ts';
export { AgentError, type AgentErrorCode } from './errors.ts';
export { ClaudeStream, claudeArgs, type ClaudeResult } from './claude.ts';
export { CodexStream, codexArgs } from './codex.ts';
export type { AgentEvents } from './events.ts';
export { buildAgentPrompt, conflictPrompt, type AgentConflict } from './prompt.ts';
