/**
 * The worktree side of the CLI (docs/worktrees.md): what `baton run` and `baton submit` do
 * around a run with worktrees, `baton worktrees [list|prune]` and `baton merge <runId>`.
 */
import { dirname, resolve } from 'node:path';

import { NotFoundError, WorkspaceError } from '../../core/errors.ts';
import type { Baton } from '../../runtime/baton.ts';
import { gitText } from '../../workspace/git.ts';
import { ensureIntegrationBranch } from '../../workspace/handler.ts';
import { runLayout } from '../../workspace/names.ts';
import {
  prepareWorkspaceRun,
  type PreparedRun,
  type WorkspaceDefaults,
} from '../../workspace/prepare.ts';
import type { Plan } from '../../runtime/plan.ts';
import {
  describeWorktrees,
  mergeRun,
  pruneWorktrees,
  runWorkspace,
  type RunMergeOutcome,
} from '../../workspace/runs.ts';
import { mergeIntoTarget } from '../../workspace/target.ts';
import { withBaton, type CliContext } from '../context.ts';

/** The run started: cut its integration branch from the base commit, and say where it is. */
export async function startRunWorkspace(
  ctx: CliContext,
  prepared: PreparedRun,
  runId: string,
): Promise<void> {
  const first = prepared.run.tasks.find((t) => {
    const p = t.payload as { workspace?: { run?: string } } | null | undefined;
    return typeof p?.workspace?.run === 'string';
  });
  const slug = (first?.payload as { workspace: { run: string } } | undefined)?.workspace.run;
  if (slug === undefined) return;
  const layout = runLayout(slug, runId);
  await ensureIntegrationBranch(prepared.repo.root, layout, prepared.repo.baseSha);
  ctx.logger.info(
    {
      runId,
      integrationBranch: layout.integrationBranch,
      base: prepared.repo.base,
      repo: prepared.repo.root,
    },
    'integration branch cut',
  );
  if (!ctx.json) {
    ctx.note(
      `worktrees in ${prepared.repo.root}/.baton/worktrees/${layout.dir}; tasks merge into ${layout.integrationBranch} (from ${prepared.repo.base} at ${prepared.repo.baseSha.slice(0, 10)})`,
    );
  }
}

/**
 * The run ended: remove the worktrees that can go (failed tasks keep theirs), and when it
 * succeeded, put its integration branch into `merge.into` if the plan asked (fast-forward only;
 * anything else is said, not done).
 */
export async function finishRunWorkspace(
  ctx: CliContext,
  baton: Baton,
  runId: string,
): Promise<void> {
  const workspace = await runWorkspace(baton, runId);
  if (workspace === null) return;
  const { repo } = workspace.spec;
  const removed = await pruneWorktrees(baton, repo, { runId });
  const kept = (await describeWorktrees(baton, repo)).filter((w) => w.runId === runId);
  const branch = workspace.layout.integrationBranch;
  const lines: string[] = [];
  if (removed.length > 0)
    lines.push(
      `removed ${removed.length} worktree${removed.length === 1 ? '' : 's'} of finished tasks`,
    );
  for (const w of kept)
    lines.push(`kept ${w.path} (${w.tasks.map((t) => `${t.key} ${t.state}`).join(', ')})`);
  if (workspace.runState === 'succeeded') {
    if (workspace.spec.into !== null) {
      try {
        const outcome = await mergeIntoTarget({
          repo,
          integrationBranch: branch,
          target: workspace.spec.into,
        });
        lines.push(outcome.done ? outcome.message : outcome.message.replace('<runId>', runId));
      } catch (error) {
        if (!(error instanceof WorkspaceError)) throw error;
        lines.push(`not merged into ${workspace.spec.into}: ${error.message}`);
      }
    } else {
      lines.push(
        `the run's work is on ${branch}; \`npx baton merge ${runId} --into ${workspace.spec.base}\` puts it on ${workspace.spec.base}`,
      );
    }
  } else {
    lines.push(`the merged work of its succeeded tasks is on ${branch}`);
  }
  if (!ctx.json) for (const line of lines) ctx.note(line);
}

export interface MergeCommandOptions {
  into?: string;
  yes?: boolean;
}

/** `baton merge <runId>`: put a succeeded run's integration branch into a branch. */
export async function mergeCommand(
  ctx: CliContext,
  runId: string,
  options: MergeCommandOptions,
): Promise<number> {
  return withBaton(ctx, async (baton) => {
    let outcome: RunMergeOutcome;
    try {
      outcome = await mergeRun(baton, runId, {
        ...(options.into === undefined ? {} : { into: options.into }),
        yes: options.yes === true,
        unfinished: options.yes === true,
      });
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new WorkspaceError(
          `run ${runId} does not exist; only runs of plans with repo:/worktrees: have an integration branch`,
          { cause: error },
        );
      }
      if (error instanceof WorkspaceError && error.details['reason'] === 'unfinished') {
        ctx.note(error.message);
        return 1;
      }
      throw error;
    }
    const { runId: _id, from: _from, into: target, ...rest } = outcome;
    if (ctx.json) ctx.printJson({ runId, target, ...rest });
    else if (outcome.done) ctx.print(outcome.message);
    else ctx.note(outcome.message);
    return outcome.done ? 0 : 1;
  });
}

/** `baton worktrees [list|prune]` for the repository of `--repo` or the current directory. */
export async function worktreesCommand(
  ctx: CliContext,
  action: 'list' | 'prune',
  options: { repo?: string; failed?: boolean },
): Promise<number> {
  const dir = options.repo ?? process.cwd();
  let repo: string;
  try {
    repo = await gitText(dir, ['rev-parse', '--show-toplevel']);
  } catch (error) {
    throw new WorkspaceError(
      `${dir} is not inside a git repository; run this in the repository or pass --repo <path>`,
      { cause: error },
    );
  }
  return withBaton(ctx, async (baton) => {
    if (action === 'prune') {
      const removed = await pruneWorktrees(baton, repo, { failed: options.failed === true });
      if (ctx.json) ctx.printJson({ removed });
      else if (removed.length === 0) ctx.print('nothing to prune');
      else
        for (const w of removed)
          ctx.print(`removed ${w.path} (${w.verdict}${w.merged ? ', branch deleted' : ''})`);
      return 0;
    }
    const all = await describeWorktrees(baton, repo);
    if (ctx.json) {
      ctx.printJson({ worktrees: all });
      return 0;
    }
    if (all.length === 0) {
      ctx.print(`no Baton worktrees in ${repo}`);
      return 0;
    }
    for (const w of all) {
      const tasks = w.tasks.map((t) => `${t.key}=${t.state}`).join(' ') || '-';
      ctx.print(
        `${w.verdict.padEnd(6)} ${w.path}  ${w.branch ?? '(detached)'}  ${w.runId ?? '(no run)'}  ${tasks}${w.merged ? '  merged' : ''}`,
      );
    }
    return 0;
  });
}

/**
 * Check the repository of a plan with worktrees and stamp its tasks (null: the plan has none),
 * with the config file's `repo` (relative to the file's folder) and `parallel.strategy` where
 * the plan sets neither (docs/config.md).
 */
export function preparePlanWorkspace(ctx: CliContext, plan: Plan): Promise<PreparedRun | null> {
  const { config, sources, file } = ctx.config;
  const defaults: WorkspaceDefaults = {};
  if (config.repo !== null) {
    defaults.repo = resolve(file === null ? process.cwd() : dirname(file), config.repo);
  }
  if (sources.get('parallel.strategy')?.kind !== 'default') {
    defaults.strategy = config.parallel.strategy;
  }
  return prepareWorkspaceRun(plan, process.cwd(), defaults);
}
