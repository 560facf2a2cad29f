/**
 * Refusals of the MCP tools that are not errors of the queue (those are `BatonError`s with their
 * own codes): each has a stable code, and a message that says what was wrong and what to do.
 * A tool answers either with an MCP error result `<code>: <message>` (see tools.ts).
 */

export type ToolErrorCode =
  /** No valid token, or a token that is not an attempt token where one is needed. */
  | 'BATON_UNAUTHORIZED'
  /** The caller may not do this: another run's data, a scope it lacks. */
  | 'BATON_FORBIDDEN'
  /** A path that leaves the sandbox, goes through a symlink, or is too large. */
  | 'BATON_SANDBOX'
  /** A statement `query` does not run: not a single read-only SELECT over the views. */
  | 'BATON_SQL_REFUSED'
  /** What this store cannot do (`query` on Redis). */
  | 'BATON_NOT_AVAILABLE'
  /** Something named that does not exist (a domain without an expertise file). */
  | 'BATON_NOT_FOUND';

export class ToolError extends Error {
  readonly code: ToolErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ToolErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ToolError';
    this.code = code;
    this.details = details;
  }
}
