/**
 * `baton run` on a plan with `executor: llm` tasks: the real command as a child process, its
 * agents calling the fake model service on loopback with the keys and base URLs of its
 * environment.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { whoRunsIt } from '../../src/cli/commands/retry.ts';
import type { RunSummary } from '../../src/cli/render.ts';
import { EXAMPLES, useCli } from '../helpers/cli.ts';
import { startFakeLlm, type FakeLlmServer } from '../helpers/fake-llm.ts';

const cli = useCli();
const ANTHROPIC_KEY = 'sk-ant-cli-test-3b7f';
const OPENAI_KEY = 'sk-openai-cli-test-9e4c';

let server: FakeLlmServer;

beforeEach(async () => {
  server = await startFakeLlm({ keys: [ANTHROPIC_KEY, OPENAI_KEY] });
});

afterEach(async () => {
  await server.close();
});

const PLAN = [
  'name: headlines',
  'defaults: { maxTokens: 200 }',
  'tasks:',
  '  - key: research',
  '    executor: llm',
  '    model: anthropic:claude-sonnet-4-5',
  '    prompt: "How do {{ payload.animal }} talk?"',
  '    payload: { animal: bees }',
  '  - key: headline',
  '    executor: llm',
  '    model: openai:gpt-4.1-mini',
  '    prompt: "Headline for: {{ deps.research.result }}"',
  '    dependsOn: [research]',
  '    output:',
  '      type: object',
  '      properties: { headline: { type: string } }',
  '      required: [headline]',
  '      additionalProperties: false',
  '',
].join('\n');

const AUTO_PLAN = [
  'tasks:',
  '  - key: a',
  '    executor: llm',
  '    model: auto',
  '    complexity: low',
  '    prompt: hi',
  '',
].join('\n');
const TIERS =
  'strong=anthropic:claude-opus-4-1,balanced=anthropic:claude-sonnet-4-5,fast=anthropic:claude-haiku-4-5';

async function writePlan(text: string): Promise<string> {
  const file = join(cli.dir, 'plan.yaml');
  await writeFile(file, text);
  return file;
}

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ANTHROPIC_API_KEY: ANTHROPIC_KEY,
    ANTHROPIC_BASE_URL: server.url,
    OPENAI_API_KEY: OPENAI_KEY,
    OPENAI_BASE_URL: server.baseUrl,
    ...extra,
  };
}

describe('baton run with llm tasks', () => {
  it('runs examples/llm.yaml', async () => {
    server.answers.push(
      { text: 'Honey bees dance to tell where flowers are.', usage: { input: 30, output: 10 } },
      { text: '{"headline":"The waggle dance, decoded","words":4}' },
    );
    const result = await cli.run(
      ['run', join(EXAMPLES, 'llm.yaml'), '--store', cli.store, '--json'],
      {
        env: env(),
      },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.state).toBe('succeeded');
    const baton = await cli.open();
    const { tasks } = await baton.tasks({});
    expect(tasks.find((t) => t.key === 'headline')?.result).toEqual({
      headline: 'The waggle dance, decoded',
      words: 4,
    });
    expect(server.requests.map((r) => [r.provider, r.body.model, r.body.max_tokens])).toEqual([
      ['anthropic', 'claude-sonnet-4-5', 800],
      ['openai', 'gpt-4.1-mini', 800],
    ]);
    expect(server.requests[1]!.body.messages).toEqual([
      {
        role: 'user',
        content: 'Write a headline for these notes: Honey bees dance to tell where flowers are.',
      },
    ]);
  });

  it('runs the model calls on its local agents, the second prompted with the first result', async () => {
    server.answers.push({ text: 'Bees dance.' }, { text: '{"headline":"Dancing bees"}' });
    const plan = await writePlan(PLAN);
    const result = await cli.run(['run', plan, '--store', cli.store, '--json'], { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.state).toBe('succeeded');
    expect(summary.tasks.map((t) => [t.key, t.state])).toEqual([
      ['research', 'succeeded'],
      ['headline', 'succeeded'],
    ]);
    const baton = await cli.open();
    const { tasks } = await baton.tasks({});
    expect(Object.fromEntries(tasks.map((t) => [t.key, t.result]))).toEqual({
      research: 'Bees dance.',
      headline: { headline: 'Dancing bees' },
    });
    // Each answer streamed into its task's log (baton logs), as the model wrote it.
    const logs = await cli.run(['logs', summary.runId, '--store', cli.store]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe('research | Bees dance.\nheadline | {"headline":"Dancing bees"}\n');
    expect(server.requests.map((r) => r.body.max_tokens)).toEqual([200, 200]);
    expect(server.requests[1]!.body.messages).toEqual([
      { role: 'user', content: 'Headline for: Bees dance.' },
    ]);
  });

  it('refuses the plan before storing anything when a provider key is missing, naming it', async () => {
    const plan = await writePlan(PLAN);
    const result = await cli.run(['run', plan, '--store', cli.store], {
      env: env({ OPENAI_API_KEY: '' }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${plan}:9:5: tasks[1].model: task 'headline': OPENAI_API_KEY is not set: model openai:gpt-4.1-mini needs an OpenAI API key. Set OPENAI_API_KEY in the environment baton run is started in (its agents make the calls)`,
    );
    expect(result.stderr).not.toContain(ANTHROPIC_KEY);
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
    expect(server.requests).toEqual([]);
  });

  it('refuses model: auto when BATON_MODEL_TIERS is not set, storing nothing', async () => {
    const plan = await writePlan(AUTO_PLAN);
    const result = await cli.run(['run', plan, '--store', cli.store], { env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "tasks[0].model: task 'a': model 'auto' needs model tiers, which baton run's agents do not have: set BATON_MODEL_TIERS",
    );
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
  });

  it('refuses BATON_MODEL_TIERS naming an unknown model or tier, storing nothing', async () => {
    const plan = await writePlan(AUTO_PLAN);
    const result = await cli.run(['run', plan, '--store', cli.store], {
      env: env({ BATON_MODEL_TIERS: TIERS.replace('anthropic:claude-haiku-4-5', 'gemini:flash') }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "BATON_MODEL_TIERS.fast: model 'gemini:flash' names an unknown provider 'gemini'",
    );
    const unknownTier = await cli.run(['run', plan, '--store', cli.store], {
      env: env({ BATON_MODEL_TIERS: `${TIERS},huge=anthropic:claude-opus-4-1` }),
    });
    expect(unknownTier.code).toBe(1);
    expect(unknownTier.stderr).toContain("BATON_MODEL_TIERS: 'huge' is not a tier");
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
    expect(server.requests).toEqual([]);
  });

  it('refuses a complexity that is not low, medium or high at its line, storing nothing', async () => {
    const plan = await writePlan(AUTO_PLAN.replace('complexity: low', 'complexity: hard'));
    const result = await cli.run(['run', plan, '--store', cli.store], {
      env: env({ BATON_MODEL_TIERS: TIERS }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "tasks[0].complexity: must be one of low, medium, high (how hard the task is, for model: auto); got the string 'hard'",
    );
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
  });

  it('runs model: auto on the tiers of BATON_MODEL_TIERS; baton logs says which model and why', async () => {
    const plan = await writePlan(AUTO_PLAN);
    const result = await cli.run(['run', plan, '--store', cli.store, '--json'], {
      env: env({ BATON_MODEL_TIERS: TIERS }),
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(server.requests.map((r) => r.body.model)).toEqual(['claude-haiku-4-5']);
    const logs = await cli.run(['logs', summary.runId, '--store', cli.store]);
    expect(logs.stdout).toContain(
      'a | model: anthropic:claude-haiku-4-5 (tier fast: low complexity (declared): fast)',
    );
  });

  it('refuses a plan whose template names an unknown dependency, storing nothing', async () => {
    const plan = await writePlan(PLAN.replace('deps.research.result', 'deps.reserch.result'));
    const result = await cli.run(['run', plan, '--store', cli.store], { env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "tasks[1].prompt: {{ deps.reserch.result }}: 'reserch' is not a dependency of this task (did you mean 'research'?)",
    );
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
  });
});

describe('baton retry of an llm task', () => {
  it('says baton worker runs it, as it has the llm handler', () => {
    const said = whoRunsIt(
      { storeUrl: 'sqlite:b.db', namespace: undefined },
      { type: 'llm', requires: [] },
    );
    expect(said).toBe(
      'It runs when a worker takes it; if none is running on this store, start one: baton worker --store sqlite:b.db',
    );
  });
});
