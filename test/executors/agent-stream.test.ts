/**
 * The stream parsers of the agent executor against the real wire formats: the Claude Code
 * transcript captured from the real CLI (../shared/fixtures), line by line; Codex's JSONL events.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  ClaudeStream,
  CodexStream,
  claudeArgs,
  type AgentEvents,
} from '../../src/executors/agent/index.ts';

// Copied byte for byte from ../shared/fixtures (the real Claude Code 2.1.337, see its README there).
const FIXTURE = resolve(import.meta.dirname, 'fixtures/claude-code-stream-json.jsonl');

function recorder(): { events: AgentEvents; seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    events: {
      text: (t) => seen.push(`text ${t}`),
      tool: (n, i) => seen.push(`tool ${n} ${i}`),
      info: (t) => seen.push(`info ${t}`),
      output: (t) => seen.push(`output ${t}`),
    },
  };
}

describe('ClaudeStream on the real transcript', () => {
  it('takes the totals from the result line only, per model, at the reported cost', () => {
    const { events, seen } = recorder();
    const stream = new ClaudeStream(events);
    for (const line of readFileSync(FIXTURE, 'utf8').split('\n')) stream.line(line);
    expect(stream.sessionId).toBe('c2ef7166-9d70-4071-b6c9-98a44df8dd7c');
    expect(stream.model).toBe('claude-sonnet-4-5');
    expect(seen).toEqual([
      'info claude session c2ef7166-9d70-4071-b6c9-98a44df8dd7c started: model claude-sonnet-4-5, cwd /home/dev/project',
      'text Hello from fake',
    ]);
    expect(stream.result).toEqual({
      subtype: 'success',
      isError: false,
      text: 'Hello from fake',
      sessionId: 'c2ef7166-9d70-4071-b6c9-98a44df8dd7c',
      numTurns: 1,
      totalCostUsd: 0.010499999999999999,
      usage: [
        {
          provider: 'anthropic',
          model: 'claude-sonnet-4-5',
          // 500, not 501: the assistant line's opening snapshot (output_tokens 1) is not added.
          inputTokens: 1000,
          outputTokens: 500,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          costUsd: 0.010499999999999999,
        },
      ],
    });
  });

  it('counts cache reads and writes inside input tokens; a line that is not JSON is output', () => {
    const { events, seen } = recorder();
    const stream = new ClaudeStream(events);
    stream.line('warning: something odd');
    stream.line(
      JSON.stringify({
        type: 'result',
        subtype: 'error_max_turns',
        is_error: true,
        num_turns: 3,
        total_cost_usd: 0.2,
        modelUsage: {
          'claude-opus-4-1': {
            inputTokens: 10,
            outputTokens: 20,
            cacheReadInputTokens: 300,
            cacheCreationInputTokens: 40,
            costUSD: 0.2,
          },
        },
      }),
    );
    expect(seen).toEqual(['output warning: something odd']);
    expect(stream.result?.usage).toEqual([
      {
        provider: 'anthropic',
        model: 'claude-opus-4-1',
        inputTokens: 350,
        outputTokens: 20,
        cacheReadTokens: 300,
        cacheWriteTokens: 40,
        costUsd: 0.2,
      },
    ]);
    expect(stream.result?.subtype).toBe('error_max_turns');
  });

  it('builds the argv of a session, the limit without float noise', () => {
    expect(
      claudeArgs({ model: 'claude-haiku-4-5', maxBudgetUsd: 0.1 + 0.2, mcpConfig: '/m.json' }),
    ).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--model',
      'claude-haiku-4-5',
      '--max-budget-usd',
      '0.3',
      '--mcp-config',
      '/m.json',
    ]);
  });
});

describe('CodexStream', () => {
  it('sums turn.completed usage, logs messages, commands and file changes', () => {
    const { events, seen } = recorder();
    const stream = new CodexStream(events);
    const lines = [
      { type: 'thread.started', thread_id: 't1' },
      { type: 'turn.started' },
      {
        type: 'item.started',
        item: { id: 'i0', type: 'command_execution', command: 'ls', status: 'in_progress' },
      },
      {
        type: 'item.completed',
        item: { id: 'i0', type: 'command_execution', command: 'ls', exit_code: 0 },
      },
      {
        type: 'item.completed',
        item: { id: 'i1', type: 'file_change', changes: [{ path: 'a.ts', kind: 'update' }] },
      },
      { type: 'item.completed', item: { id: 'i2', type: 'agent_message', text: 'Done' } },
      {
        type: 'turn.completed',
        usage: { input_tokens: 500, cached_input_tokens: 100, output_tokens: 50 },
      },
    ];
    for (const line of lines) stream.line(JSON.stringify(line));
    expect(seen).toEqual([
      'info codex thread t1 started',
      'tool shell ls → exit 0',
      'tool file_change update a.ts',
      'text Done',
    ]);
    expect(stream.usage('gpt-5-codex')).toEqual({
      provider: 'openai',
      model: 'gpt-5-codex',
      inputTokens: 500,
      outputTokens: 50,
      cacheReadTokens: 100,
    });
    expect(stream.failure).toBeNull();
  });
});
