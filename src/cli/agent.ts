/**
 * The `agent` handler the CLI's agents use (`baton run`, `baton worker`): the coding agents'
 * CLIs, their paths and the session limit from the configuration (`agents:` in
 * baton.config.yaml, docs/config.md); the session's stream in the task's log; its cost in the
 * ledger, held against the run's and task's budgets before it starts (docs/agents.md). With
 * `learning.enabled` and a `cost.tiers.fast` model, a task of a domain ends with the learn step
 * (learn.ts). With `agents.mcp`, each Claude Code or Codex session gets Baton's own tools over MCP
 * (docs/mcp.md): a configuration written for its attempt (its token bound to the run, task,
 * attempt and lease; the session's working directory as the file tools' sandbox), in the
 * session's private folder, removed when it ends.
 */
import type { Backend } from '../backends/backend.ts';
import { agentHandler } from '../executors/agent/index.ts';
import type { BatonConfig } from '../runtime/config.ts';
import type { TaskContext, TaskHandler } from '../runtime/worker.ts';
import { readExpertise } from '../runtime/expertise.ts';
import { writeMcpConfigFor } from '../mcp/config.ts';
import { learnStep } from './learn.ts';

/**
 * @param versions the store that keeps each version of an expertise file the learn step writes
 * @param workdir where each task's agent runs (a worktree made for it: src/workspace/); when it
 *   returns undefined, or is not given, the task's `cwd`, else the command's directory.
 */
export function cliAgentHandler(
  env: NodeJS.ProcessEnv,
  config: BatonConfig,
  workdir?: (ctx: TaskContext) => string | undefined | Promise<string | undefined>,
  versions?: Pick<Backend, 'addExpertiseVersion'>,
): TaskHandler {
  const { agents, learning } = config;
  const learn = learnStep(env, config, versions);
  return agentHandler<TaskContext>({
    ...(learn === null ? {} : { afterSession: learn }),
    env,
    ...(workdir === undefined ? {} : { workdir }),
    binaries: { claude: agents.claude.path, codex: agents.codex.path },
    extraArgs: { claude: agents.claude.args, codex: agents.codex.args },
    maxBudgetUsd: agents.maxBudgetUsd,
    ...(agents.mcpConfig === null ? {} : { mcpConfig: agents.mcpConfig }),
    ...(agents.mcp
      ? {
          mcp: (ctx: TaskContext, { workdir, dir }: { workdir: string; dir: string }) => {
            const written = writeMcpConfigFor(ctx, {
              dir,
              store: config.store,
              sandbox: workdir,
              namespace: config.namespace,
              env,
            });
            ctx.log.info(`Baton's MCP tools offered to the session (${written.path})`);
            return written;
          },
        }
      : {}),
    ...(learning.enabled
      ? {
          expertise: async (domain, ctx, workdir) => {
            const found = await readExpertise(workdir, domain, learning.expertiseMaxLines);
            if (found !== null) ctx.log.info(`expertise of ${domain} loaded from ${found.file}`);
            return found?.text ?? null;
          },
        }
      : {}),
  });
}
