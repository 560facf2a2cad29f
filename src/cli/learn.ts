/**
 * The learn step (issue 14 §4): after an agent task of a domain ends, succeeded or failed, one
 * small model call on the `fast` tier (`cost.tiers.fast` in baton.config.yaml) reads what the task
 * was, how it ended and the domain's expertise, and answers with structured learnings, which are
 * merged into `.baton/expertise/<domain>.yaml` with their provenance (expertise-merge.ts). The call
 * is held against the budgets and recorded in the ledger like any `llm` task's, on the task's
 * attempt. Each version of the file it writes is kept in the store (`baton expertise history`).
 * It never changes the task's outcome: a failure is a warning in the task's log.
 */
import type { Backend } from '../backends/backend.ts';
import type { AgentPayload } from '../core/agent.ts';
import { truncate } from '../core/text.ts';
import type { Json } from '../core/types.ts';
import { domainOf, type SessionOutcome } from '../executors/agent/index.ts';
import { estimateLlmCall, llmHandler } from '../executors/llm/index.ts';
import type { BatonConfig } from '../runtime/config.ts';
import { mergeLearnings, type Learnings } from '../runtime/expertise-merge.ts';
import { expertiseRoot, readExpertise } from '../runtime/expertise.ts';
import type { TaskContext } from '../runtime/worker.ts';

/** Output tokens the learn call may write. */
const LEARN_MAX_TOKENS = 800;
/** Characters of the task's description and of its outcome quoted in the learn prompt. */
const QUOTE_LIMIT = 2000;

const LIST = { type: 'array', items: { type: 'string' }, maxItems: 5 } as const;

/** The learn call's answer. */
export const LEARNINGS_SCHEMA: { [key: string]: Json } = {
  type: 'object',
  properties: {
    patterns: LIST,
    best_practices: LIST,
    effective_patterns: LIST,
    learned_from_failures: {
      type: 'array',
      maxItems: 3,
      items: {
        type: 'object',
        properties: {
          issue: { type: 'string' },
          error: { type: 'string' },
          solution: { type: 'string' },
        },
        required: ['issue', 'error', 'solution'],
        additionalProperties: false,
      },
    },
  },
  required: ['patterns', 'best_practices', 'effective_patterns', 'learned_from_failures'],
  additionalProperties: false,
};

const SYSTEM = `You maintain the expertise file of one domain of a code repository: short, durable facts that help the next coding agent working in that domain. From the task below and how it ended, extract only what is specific to this repository and likely to stay true: patterns of its code, best practices that worked, approaches that were effective, and for a failure the issue, the error and the solution. Do not repeat what the expertise already says. Empty lists are a fine answer.`;

/** The `afterSession` hook of the CLI's agents; null when learning is off or has no model. */
export function learnStep(
  env: NodeJS.ProcessEnv,
  config: BatonConfig,
  versions?: Pick<Backend, 'addExpertiseVersion'>,
): ((ctx: TaskContext, outcome: SessionOutcome) => Promise<void>) | null {
  const model = config.cost.tiers['fast'];
  if (!config.learning.enabled || model === undefined) return null;
  const call = llmHandler<TaskContext>({
    env,
    maxTokens: LEARN_MAX_TOKENS,
    onUsage: async (usage, ctx) => {
      await ctx.costs.record(usage);
    },
  });
  const maxLines = config.learning.expertiseMaxLines;
  return async (ctx, outcome) => {
    const payload = ctx.payload as AgentPayload;
    const domain = domainOf(ctx, payload);
    if (domain === undefined) return;
    const current = await readExpertise(outcome.workdir, domain, maxLines);
    // An epic is a domain only once its file exists: learning does not create one per epic.
    if (payload.domain === undefined && current === null) return;
    const ended =
      outcome.result !== null
        ? `It succeeded. The agent's final words:\n${truncate(outcome.result.text, QUOTE_LIMIT)}`
        : `It failed: ${truncate(outcome.error instanceof Error ? outcome.error.message : String(outcome.error), QUOTE_LIMIT)}`;
    const prompt = [
      `Domain: ${domain}`,
      `Task: ${ctx.task.title ?? ctx.task.key ?? ctx.task.id}`,
      truncate(payload.description ?? payload.prompt ?? '', QUOTE_LIMIT),
      ended,
      current === null ? 'The domain has no expertise yet.' : `Current expertise:\n${current.text}`,
    ].join('\n\n');
    const learnCtx: TaskContext = {
      ...ctx,
      dependencies: {},
      payload: {
        model,
        system: SYSTEM,
        // A template: what it quotes is text, not placeholders.
        prompt: prompt.replaceAll('{{', '\\{{'),
        maxTokens: LEARN_MAX_TOKENS,
        output: LEARNINGS_SCHEMA,
      },
    };
    const worst = estimateLlmCall(learnCtx.payload, {}, LEARN_MAX_TOKENS);
    if (worst !== null) await ctx.costs.reserveCall(worst);
    const learnings = (await call(learnCtx)) as Learnings;
    const from = `${ctx.task.id}#${ctx.attempt}`;
    const merged = await mergeLearnings(expertiseRoot(outcome.workdir), domain, learnings, from, {
      maxLines,
      // Each version of the file is kept in the store (baton expertise history).
      ...(versions === undefined
        ? {}
        : {
            onWrite: async (text: string) => {
              await versions.addExpertiseVersion({ domain, text, source: 'learn', origin: from });
            },
          }),
    });
    ctx.log.info(
      `learned for ${domain}: ${merged.added} new, ${merged.reused} seen again, ${merged.pruned} pruned (${merged.file})`,
    );
  };
}
