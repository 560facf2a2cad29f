/**
 * The worst case of an `llm` task's call (src/executors/llm/budget.ts), which its budget
 * reservation holds: the model as the usage record names it, an upper bound of the input tokens
 * (the filled prompt's UTF-8 bytes and more), and its maxTokens.
 */
import { describe, expect, it } from 'vitest';

import type { DependencyOutcome } from '../../src/core/types.ts';
import { estimateLlmCall } from '../../src/executors/llm/budget.ts';

const research: DependencyOutcome = {
  taskId: 'tsk_1',
  key: 'research',
  state: 'succeeded',
  soft: false,
  result: 'Bees dance — für Blumen.',
  error: null,
};

describe('estimateLlmCall', () => {
  it('counts the filled prompt and system prompt in UTF-8 bytes, plus framing, and takes maxTokens', () => {
    const prompt = 'Headline for: {{ deps.research.result }}';
    const filled = 'Headline for: Bees dance — für Blumen.';
    expect(
      estimateLlmCall(
        { model: 'anthropic:claude-sonnet-4-5', prompt, system: 'Be brief.', maxTokens: 300 },
        { research },
        4096,
      ),
    ).toEqual({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      inputTokens: Buffer.byteLength(filled) + Buffer.byteLength('Be brief.') + 64,
      maxOutputTokens: 300,
    });
    expect(
      Buffer.byteLength(filled),
      'the dash and the umlaut take more bytes than characters',
    ).toBe(filled.length + 3);
  });

  it("adds the output schema, names a compatible server's calls by the server, and defaults maxTokens", () => {
    const output = { type: 'object', properties: { headline: { type: 'string' } } };
    expect(
      estimateLlmCall(
        { model: 'openai-compatible:gateway:meta/llama-3.1:8b', prompt: 'hi', output },
        {},
        4096,
      ),
    ).toEqual({
      provider: 'gateway',
      model: 'meta/llama-3.1:8b',
      inputTokens: 2 + Buffer.byteLength(JSON.stringify(output)) + 64,
      maxOutputTokens: 4096,
    });
  });

  it('is null for a call it cannot know: model auto, a malformed payload, a template that does not fill', () => {
    expect(estimateLlmCall({ model: 'auto', prompt: 'hi' }, {}, 4096)).toBeNull();
    expect(estimateLlmCall({ model: 'gpt-4o', prompt: 'hi' }, {}, 4096)).toBeNull();
    expect(estimateLlmCall({ prompt: 'hi' }, {}, 4096)).toBeNull();
    expect(
      estimateLlmCall(
        { model: 'openai:gpt-4.1-mini', prompt: '{{ deps.research.result.missing }}' },
        { research },
        4096,
      ),
    ).toBeNull();
  });
});
