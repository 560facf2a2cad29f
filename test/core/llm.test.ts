import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../src/core/errors.ts';
import { checkLlmPayload, compileOutputSchema, parseModelId } from '../../src/core/llm.ts';
import { normalizeRun, normalizeTasks } from '../../src/core/validate.ts';

const scope = { dependencyKeys: ['research'] };

describe('parseModelId', () => {
  it('reads the three provider forms and auto', () => {
    expect(parseModelId('anthropic:claude-sonnet-4-5')).toEqual({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
    });
    expect(parseModelId('openai:ft:gpt-4o-mini:acme::abc123')).toEqual({
      provider: 'openai',
      model: 'ft:gpt-4o-mini:acme::abc123',
    });
    expect(parseModelId('openai-compatible:ollama:llama3.1:8b')).toEqual({
      provider: 'openai-compatible',
      name: 'ollama',
      model: 'llama3.1:8b',
    });
    expect(parseModelId('auto')).toEqual({ provider: 'auto' });
  });

  it('says what is wrong with a bad id, and how to write it', () => {
    expect(parseModelId('gemini:pro')).toEqual({
      error:
        "model 'gemini:pro' names an unknown provider 'gemini'; write it as anthropic:<model>, openai:<model>, openai-compatible:<name>:<model>, or auto",
    });
    expect(parseModelId('antropic:claude-x')).toMatchObject({
      error: expect.stringContaining("(did you mean 'anthropic'?)") as unknown,
    });
    expect(parseModelId('claude-sonnet-4-5')).toMatchObject({
      error: expect.stringContaining("did you mean 'anthropic:claude-sonnet-4-5'?") as unknown,
    });
    expect(parseModelId('gpt-4.1-mini')).toMatchObject({
      error: expect.stringContaining("did you mean 'openai:gpt-4.1-mini'?") as unknown,
    });
    expect(parseModelId('openai:')).toEqual({
      error: "model 'openai:' names no model after 'openai:'",
    });
    expect(parseModelId('openai-compatible:ollama')).toMatchObject({
      error: expect.stringContaining('must be openai-compatible:<name>:<model>') as unknown,
    });
    expect(parseModelId('openai-compatible:bad name:m')).toMatchObject({
      error: expect.stringContaining('must be openai-compatible:<name>:<model>') as unknown,
    });
  });
});

describe('checkLlmPayload', () => {
  const good = {
    model: 'anthropic:claude-sonnet-4-5',
    prompt: 'Summarise {{ deps.research.result }} for {{ payload.audience }}',
    system: 'Be brief.',
    maxTokens: 100,
    temperature: 0.2,
    output: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] },
    audience: 'engineers',
  };

  it('accepts a good payload', () => {
    expect(checkLlmPayload(good, scope)).toEqual([]);
  });

  it('names every bad field', () => {
    expect(
      checkLlmPayload(
        {
          model: 42,
          prompt: '',
          system: ['no'],
          maxTokens: 1.5,
          temperature: -1,
          output: { type: 'object', properties: { a: { type: 'strng' } } },
        },
        scope,
      ),
    ).toEqual([
      {
        path: 'model',
        message:
          'must be a string (a provider-qualified model id such as anthropic:claude-sonnet-4-5, openai:gpt-4.1-mini, openai-compatible:<name>:<model>, or auto); got the number 42',
      },
      { path: 'prompt', message: 'must not be empty' },
      { path: 'system', message: 'must be a string; got an array' },
      {
        path: 'maxTokens',
        message:
          'must be a whole number of 1 or more (the most tokens the answer may have); got the number 1.5',
      },
      { path: 'temperature', message: 'must be a number from 0 to 2; got the number -1' },
      {
        path: 'output',
        message: expect.stringMatching(
          /^is not a valid JSON Schema: .*properties\/a\/type/,
        ) as unknown,
      },
    ]);
  });

  it("holds an Anthropic model's temperature to 0..1, the others to 0..2", () => {
    expect(checkLlmPayload({ ...good, temperature: 1.5 }, scope)).toEqual([
      {
        path: 'temperature',
        message: 'must be a number from 0 to 1 for an Anthropic model; got the number 1.5',
      },
    ]);
    expect(
      checkLlmPayload({ ...good, model: 'openai:gpt-4.1-mini', temperature: 1.5 }, scope),
    ).toEqual([]);
  });

  it('requires model and prompt, and an object payload', () => {
    expect(checkLlmPayload({}, scope).map((i) => i.path)).toEqual(['model', 'prompt']);
    expect(checkLlmPayload('hi', scope)).toEqual([
      {
        path: '',
        message:
          "an llm task's payload must be an object { model, prompt, system?, maxTokens?, temperature?, output? }; got the string 'hi'",
      },
    ]);
  });

  it('checks templates against the payload and the dependencies', () => {
    expect(
      checkLlmPayload(
        { ...good, prompt: '{{ deps.other.result }}', system: '{{ payload.who }}' },
        scope,
      ),
    ).toEqual([
      {
        path: 'prompt',
        message: expect.stringContaining("'other' is not a dependency of this task") as unknown,
      },
      { path: 'system', message: expect.stringContaining("the payload has no 'who'") as unknown },
    ]);
  });
});

describe('compileOutputSchema', () => {
  it('validates an answer, saying where it is wrong', () => {
    const schema = compileOutputSchema({
      type: 'object',
      properties: { n: { type: 'number' }, kind: { enum: ['a', 'b'] } },
      required: ['n'],
      additionalProperties: false,
    });
    expect(schema.validate({ n: 1, kind: 'a' })).toBeNull();
    expect(schema.validate({ kind: 'c', extra: 1 })).toBe(
      'the answer must have required property \'n\'; the answer must NOT have additional properties (\'extra\'); the answer at /kind must be equal to one of the allowed values (["a","b"])',
    );
  });

  it('knows formats', () => {
    const schema = compileOutputSchema({
      type: 'object',
      properties: { email: { type: 'string', format: 'email' } },
    });
    expect(schema.validate({ email: 'a@b.co' })).toBeNull();
    expect(schema.validate({ email: 'nope' })).toBe(
      'the answer at /email must match format "email"',
    );
  });

  it('takes a 2020-12 schema when its $schema says so', () => {
    const schema = compileOutputSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] },
      },
    });
    expect(schema.validate({ pair: ['a', 1] })).toBeNull();
    expect(schema.validate({ pair: [1, 'a'] })).not.toBeNull();
  });

  it('refuses what is not a JSON Schema of an object, saying how to fix it', () => {
    const message = (schema: unknown): string => {
      try {
        compileOutputSchema(schema);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(message('a string')).toMatch(/^must be a JSON Schema object/);
    expect(message({ type: 'array', items: {} })).toMatch(
      /^must describe an object \(type: object at the top\).*got type: "array"\. To get a list/,
    );
    expect(message({ type: 'object', propertys: {} })).toBe(
      "is not a valid JSON Schema: unknown keyword 'propertys' (did you mean 'properties'?); JSON Schema has no such keyword",
    );
    expect(message({ type: 'object', properties: { a: { type: 'strng' } } })).toMatch(
      /^is not a valid JSON Schema: schema is invalid: data\/properties\/a\/type/,
    );
    expect(message({ type: 'object', properties: { a: { format: 'nonsense' } } })).toMatch(
      /^is not a valid JSON Schema: unknown format "nonsense"/,
    );
    expect(message({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' })).toMatch(
      /is not supported; use http:\/\/json-schema\.org\/draft-07\/schema#/,
    );
  });
});

describe('submitting llm tasks (the core validator every backend runs)', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');

  function issuesOf(fn: () => unknown): { path: string; message: string }[] {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).issues;
    }
    throw new Error('expected a ValidationError');
  }

  it('refuses a bad llm payload, each issue at its payload field', () => {
    expect(
      issuesOf(() =>
        normalizeTasks(
          [
            {
              type: 'llm',
              payload: {
                model: 'gemini:pro',
                prompt: '{{ deps.a.result }}',
                output: { type: 'x' },
              },
            },
          ],
          { now },
        ),
      ).map((i) => i.path),
    ).toEqual(['tasks[0].payload.model', 'tasks[0].payload.prompt', 'tasks[0].payload.output']);
  });

  it("checks templates against each task's own dependsOn in a run", () => {
    const run = {
      tasks: [
        { key: 'a', type: 'shell', payload: { command: 'true', args: [], shell: false } },
        {
          key: 'b',
          type: 'llm',
          dependsOn: ['a'],
          payload: { model: 'openai:gpt-4.1-mini', prompt: '{{ deps.a.result }}' },
        },
        {
          key: 'c',
          type: 'llm',
          payload: { model: 'openai:gpt-4.1-mini', prompt: '{{ deps.a.result }}' },
        },
      ],
    };
    expect(issuesOf(() => normalizeRun(run, { now }))).toEqual([
      {
        path: 'tasks[2].payload.prompt',
        message:
          "{{ deps.a.result }}: 'a' is not a dependency of this task; its dependsOn: none. Add it to dependsOn or fix the name",
      },
    ]);
    run.tasks[2]!.dependsOn = ['a'];
    expect(normalizeRun(run, { now }).tasks).toHaveLength(3);
  });
});
