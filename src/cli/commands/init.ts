/**
 * `baton init`: write a commented `baton.config.yaml` and an example plan in a directory, so a
 * project starts from files that say what each setting does. Files that exist are left alone
 * unless `--force` is given: nothing is written when any would be overwritten.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { CliIO } from '../context.ts';

export const CONFIG_TEMPLATE = `# Baton's configuration (docs/config.md). Flags override it, and it overrides the defaults;
# \`npx baton config\` prints the merged values and where each one came from.

# Where state lives: sqlite:<path> or redis://host:port ($BATON_STORE overrides it).
store: sqlite:.baton/baton.db
# Isolates queues that share one store.
namespace: default
# The git repository of plans with worktrees that name none (relative to this file).
# repo: .

parallel:
  # false runs one task at a time (as \`npx baton run --sequential\`).
  enabled: true
  # Agents \`npx baton run\` starts; leave it out for the plan's widest DAG level (at most 16).
  # maxConcurrency: 4
  # by_task: a worktree per task; by_epic: the tasks of one epic share one, one at a time.
  strategy: by_task

cost:
  # The budget of a run whose plan sets none, in USD: Baton refuses calls it cannot hold.
  # budgetUsd: 20
  # Model tiers of model: auto (strong, balanced, fast); the learn step uses fast.
  # tiers:
  #   strong: anthropic:claude-opus-4-1
  #   balanced: anthropic:claude-sonnet-4-5
  #   fast: anthropic:claude-haiku-4-5
  # Prices by provider:model in USD per million tokens, over the maintained table.
  # prices:
  #   "ollama:*": { inputMtok: 0, outputMtok: 0 }

learning:
  # Read .baton/expertise/<domain>.yaml into the prompts of tasks of that domain.
  enabled: true
  expertiseMaxLines: 1000

agents:
  # The coding agents' CLIs: a path pins a version.
  claude:
    path: claude
    # args: [--permission-mode, acceptEdits]
  codex:
    path: codex
  # A session's spending limit when its task sets none (maxBudgetUsd), in USD.
  maxBudgetUsd: 5
  # An MCP configuration for Claude Code sessions (--mcp-config).
  # mcpConfig: .baton/mcp.json
  # Baton's own tools (docs/mcp.md) for every session, with a token scoped to its attempt.
  # mcp: true

# Model providers. Keys are best left in the environment (ANTHROPIC_API_KEY, OPENAI_API_KEY),
# which wins over the file; a key written here is never printed.
# llm:
#   anthropic:
#     baseUrl: https://api.anthropic.com/v1
#   openai:
#     baseUrl: https://api.openai.com/v1
`;

export const PLAN_TEMPLATE = `# An example plan (docs/agents.md): \`npx baton run baton.plan.yaml\`.
name: example
tasks:
  - key: hello
    command: echo
    args: [hello from baton]

  # A coding agent in this directory; needs the claude CLI (agents.claude.path).
  # - key: readme
  #   executor: agent
  #   kind: claude
  #   model: claude-sonnet-4-5
  #   title: Improve the README
  #   description: Add a short usage section to README.md.
  #   maxBudgetUsd: 1
  #   dependsOn: [hello]
`;

export const INIT_FILES = [
  { name: 'baton.config.yaml', text: CONFIG_TEMPLATE },
  { name: 'baton.plan.yaml', text: PLAN_TEMPLATE },
] as const;

export async function initCommand(
  io: CliIO,
  dir: string,
  options: { force: boolean },
): Promise<number> {
  const existing = INIT_FILES.filter((f) => existsSync(join(dir, f.name))).map((f) => f.name);
  if (existing.length > 0 && !options.force) {
    io.stderr.write(
      `error: ${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''} in ${dir}; nothing was written (npx baton init --force overwrites)\n`,
    );
    return 1;
  }
  for (const file of INIT_FILES) await writeFile(join(dir, file.name), file.text);
  io.stdout.write(
    `wrote ${INIT_FILES.map((f) => f.name).join(' and ')} in ${dir}\nnext: npx baton config, then npx baton run baton.plan.yaml\n`,
  );
  return 0;
}
