/**
 * What a parsed agent stream reports as it is read: the task log's lines. Usage is collected by
 * each stream and recorded once the session ends (only then are the totals known).
 */
export interface AgentEvents {
  /** Text the assistant wrote. */
  text(text: string): void;
  /** A tool the agent called, with its input (compacted, truncated). */
  tool(name: string, input: string): void;
  /** Anything else worth a line: the session starting, a tool error, a turn failing. */
  info(text: string): void;
  /** A line of stdout that is not part of the format (printed as is). */
  output(text: string): void;
}
