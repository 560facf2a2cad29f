/**
 * How an agent session ended badly, in Baton's retry model:
 *
 * | the agent said                                      | code                 | the task            |
 * | --------------------------------------------------- | -------------------- | ------------------- |
 * | Claude `error_max_budget_usd`                       | `AGENT_MAX_BUDGET`   | fails at once       |
 * | Claude `error_max_turns`                            | `AGENT_MAX_TURNS`    | retried             |
 * | Claude `is_error` / `error_during_execution`        | `AGENT_ERROR`        | retried             |
 * | Codex `turn.failed` / `error`                       | `AGENT_ERROR`        | retried             |
 * | a non-zero exit, or a signal we did not send        | `AGENT_EXIT`         | retried             |
 * | exit 0 without a Claude `result` line               | `AGENT_STREAM`       | retried             |
 * | the CLI is not found / not executable               | `BATON_NON_RETRYABLE`| fails at once       |
 */

export type AgentErrorCode =
  'AGENT_MAX_BUDGET' | 'AGENT_MAX_TURNS' | 'AGENT_ERROR' | 'AGENT_EXIT' | 'AGENT_STREAM';

/** An agent session failed; `retryable` says whether another attempt could succeed. */
export class AgentError extends Error {
  readonly code: AgentErrorCode;
  readonly retryable: boolean;

  constructor(code: AgentErrorCode, message: string, options: { retryable: boolean }) {
    super(message);
    this.name = 'AgentError';
    this.code = code;
    this.retryable = options.retryable;
  }
}
