/**
 * What the expertise loop buys, on the fake agent: the fake `claude`
 * (test/helpers/fake-claude.mjs) succeeds on a task's first attempt only when its prompt holds
 * the fact the task needs (`fake: need <fact>`), which only the domain's expertise can put there;
 * the learn step (a fake model server answering as the `fast` tier) learns, after each session,
 * the fact the task needed. Two projects run the same tasks through the CLI's agent handler
 * (`cliAgentHandler`: prompt, expertise, learn step, versions in the store), one task at a time,
 * each task allowed two attempts:
 *
 * - `with`: learning on. A cold phase (empty expertise; facts drawn from a pool of 5 per domain,
 *   a `--plain` share of routine tasks needing none), then a warm and a steady phase of the same
 *   kind of work, in each of which `--new` tasks need a fact never seen before;
 * - `without`: learning off (`learning.enabled: false`): no expertise loaded, nothing learned.
 *
 * Reports, per phase, the first-pass success rate (tasks that succeeded on attempt 1), the share
 * of sessions whose prompt had expertise loaded, and the versions the store keeps. Prints one
 * JSON object. A synthetic measure of the loop's mechanics — a fact learned once is used on
 * every later task that needs it — not of a model's skill.
 *
 *   npx node bench/expertise.ts [--tasks 24] [--new 2] [--plain 0.25] [--seed 4]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import pino from 'pino';

import { cliAgentHandler } from '../src/cli/agent.ts';
import { defaultConfig } from '../src/runtime/config.ts';
import { Baton } from '../src/runtime/baton.ts';
import { promptOf, startFakeLlm } from '../test/helpers/fake-llm.ts';
import { round } from './stats.ts';

const FAKE = resolve(import.meta.dirname, '../test/helpers/fake-claude.mjs');
const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '24' },
    new: { type: 'string', default: '2' },
    seed: { type: 'string', default: '4' },
    plain: { type: 'string', default: '0.25' },
  },
});
const TASKS = Number(values.tasks);
const NEW = Number(values.new);
/** The share of routine tasks, which need no fact. */
const PLAIN = Number(values.plain);
const DOMAINS = ['api', 'database', 'frontend'] as const;
const POOL = 5;

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Spec {
  key: string;
  domain: string;
  /** The fact the task needs, or null for a routine task. */
  fact: string | null;
}

function phase(name: string, random: () => number, fresh: number): Spec[] {
  return Array.from({ length: TASKS }, (_, i) => {
    const domain = DOMAINS[Math.floor(random() * DOMAINS.length)]!;
    const plain = random() < PLAIN;
    const fact =
      i >= TASKS - fresh
        ? `${domain} rule ${name}-new-${i}`
        : plain
          ? null
          : `${domain} rule ${Math.floor(random() * POOL)}`;
    return { key: `${name}-${i}`, domain, fact };
  });
}

async function project(learning: boolean, phases: [string, Spec[]][]) {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-xp-'));
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, '.git'), { recursive: true });
  const server = await startFakeLlm();
  // The learn step's answer: the fact the task it is shown needed.
  server.respond = ({ body }) => {
    const need = /fake: need (.*)/.exec(promptOf(body))?.[1]?.trim();
    return {
      text: JSON.stringify({
        patterns: need === undefined ? [] : [need],
        best_practices: [],
        effective_patterns: [],
        learned_from_failures: [],
      }),
      usage: { input: 300, output: 30 },
    };
  };
  const config = defaultConfig();
  config.agents.claude.path = FAKE;
  config.learning.enabled = learning;
  config.cost.tiers = { fast: 'openai:gpt-4.1-mini' };
  const env = { ...process.env, OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: server.baseUrl };
  const baton = await Baton.open(`sqlite:${join(dir, 'baton.db')}`, {
    logger: pino({ level: 'silent' }),
  });
  const worker = baton.worker({
    concurrency: 1,
    handlers: { agent: cliAgentHandler(env, config, () => repo, baton.backend) },
  });
  await worker.start();
  const out: Record<string, unknown> = {};
  try {
    for (const [name, specs] of phases) {
      const { runId } = await baton.submitRun({
        name,
        tasks: specs.map((s, i) => ({
          key: s.key,
          type: 'agent',
          title: `Task ${s.key}`,
          maxAttempts: 2,
          ...(i === 0 ? {} : { dependsOn: [{ key: specs[i - 1]!.key, soft: true }] }),
          payload: {
            kind: 'claude',
            domain: s.domain,
            description: `${s.fact === null ? '' : `fake: need ${s.fact}\n`}fake: say done`,
          },
        })),
      });
      await baton.wait(runId, { timeoutMs: 600_000 });
      const tasks = (await baton.tasks({ runId, limit: 1000 })).tasks;
      let firstPass = 0;
      let succeeded = 0;
      let sessions = 0;
      let loaded = 0;
      for (const task of tasks) {
        if (task.state === 'succeeded') succeeded++;
        if (task.state === 'succeeded' && task.attempts === 1) firstPass++;
        sessions += task.attempts;
        for await (const line of baton.logs(task.id))
          if (line.text.startsWith(`expertise of `) && line.text.includes(' loaded from '))
            loaded++;
      }
      out[name] = {
        tasks: tasks.length,
        firstPassSuccess: round(firstPass / tasks.length, 3),
        succeeded: round(succeeded / tasks.length, 3),
        sessions,
        expertiseLoaded: round(loaded / sessions, 3),
      };
    }
    const versions: Record<string, number> = {};
    for (const d of DOMAINS) versions[d] = (await baton.backend.expertiseVersions(d)).length;
    out['versionsInStore'] = versions;
    out['learnCalls'] = server.requests.length;
  } finally {
    await worker.stop();
    await baton.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

const random = rng(Number(values.seed));
const phases: [string, Spec[]][] = [
  ['cold', phase('cold', random, 0)],
  ['warm', phase('warm', random, NEW)],
  ['steady', phase('steady', random, NEW)],
];
const started = performance.now();
const withExpertise = await project(true, phases);
const without = await project(false, phases);
console.log(
  JSON.stringify(
    {
      bench: 'expertise',
      tasksPerPhase: TASKS,
      newFactsPerLaterPhase: NEW,
      plainShare: PLAIN,
      factsPerDomain: POOL,
      seed: Number(values.seed),
      with: withExpertise,
      without,
      seconds: round((performance.now() - started) / 1000, 1),
    },
    null,
    2,
  ),
);
