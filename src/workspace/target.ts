/**
 * Putting a run's integration branch into the user's branch (`merge: { into: main }`,
 * `baton merge <runId>`). A fast-forward moves the branch; anything else needs the user's yes.
 * A branch no checkout has is moved with a compare-and-swap `update-ref`. A branch checked out
 * somewhere is only moved by git itself in that checkout (`git merge --ff-only`, or with yes
 * `git merge --no-ff`), and only when that checkout is clean: uncommitted work is never put at
 * risk.
 */
import { WorkspaceError } from '../core/errors.ts';
import { git, gitText, resolveRef } from './git.ts';

export type TargetAction = 'up-to-date' | 'fast-forward' | 'merge';

export interface TargetOutcome {
  /** What was done, or (`done: false`) what would be done. */
  action: TargetAction;
  done: boolean;
  /** One or two sentences for the user. */
  message: string;
  /** The target's commit after. */
  tip: string;
}

export interface TargetRequest {
  repo: string;
  integrationBranch: string;
  target: string;
  /** Allow a merge commit when a fast-forward is not possible. @default false */
  yes?: boolean;
  /** How the message tells the user to allow a merge commit. @default `npx baton merge <runId> --yes` */
  confirm?: string;
}

/** Where `branch` is checked out, if anywhere. */
async function checkedOutAt(repo: string, branch: string): Promise<string | null> {
  const text = await gitText(repo, ['worktree', 'list', '--porcelain']);
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n');
    if (lines.includes(`branch refs/heads/${branch}`)) {
      return lines.find((l) => l.startsWith('worktree '))?.slice('worktree '.length) ?? null;
    }
  }
  return null;
}

/** @throws WorkspaceError when the branches are missing, or the target's checkout is dirty, or the merge conflicts */
export async function mergeIntoTarget(request: TargetRequest): Promise<TargetOutcome> {
  const { repo, integrationBranch, target } = request;
  const tip = await resolveRef(repo, `refs/heads/${integrationBranch}`);
  if (tip === null)
    throw new WorkspaceError(`integration branch ${integrationBranch} does not exist in ${repo}`);
  const current = await resolveRef(repo, `refs/heads/${target}`);
  if (current === null) {
    throw new WorkspaceError(
      `target branch '${target}' does not exist in ${repo}; name an existing branch with --into`,
    );
  }
  const contains = async (ancestor: string, of: string): Promise<boolean> =>
    (await git(repo, ['merge-base', '--is-ancestor', ancestor, of], { okCodes: [1] })).exitCode ===
    0;
  if (await contains(tip, current)) {
    return {
      action: 'up-to-date',
      done: true,
      message: `${target} already has everything in ${integrationBranch}`,
      tip: current,
    };
  }
  const ff = await contains(current, tip);
  const count = (await gitText(repo, ['rev-list', '--count', `${current}..${tip}`])).trim();
  const checkout = await checkedOutAt(repo, target);
  if (!ff && request.yes !== true) {
    return {
      action: 'merge',
      done: false,
      tip: current,
      message:
        `${target} has moved on since the run started, so ${integrationBranch} (${count} commits) cannot fast-forward it. ` +
        `${request.confirm ?? '`npx baton merge <runId> --yes`'} would make a merge commit of ${integrationBranch} on ${target}${checkout === null ? '' : ` (in ${checkout})`}; nothing was changed`,
    };
  }
  if (checkout !== null) {
    const dirty = (
      await gitText(checkout, [
        '--no-optional-locks',
        'status',
        '--porcelain',
        '--untracked-files=no',
      ])
    ).trim();
    if (dirty !== '') {
      throw new WorkspaceError(
        `${target} is checked out in ${checkout} with uncommitted changes; Baton does not touch them. Commit or stash them and run \`npx baton merge\` again, or run \`git merge ${ff ? '--ff-only ' : ''}${integrationBranch}\` there yourself`,
      );
    }
    const args = ff
      ? ['merge', '--ff-only', '--quiet', tip]
      : ['merge', '--no-ff', '--no-edit', '--quiet', tip];
    const merged = await git(checkout, args, { okCodes: [1], asBaton: true });
    if (merged.exitCode !== 0) {
      await git(checkout, ['merge', '--abort'], { okCodes: [128] });
      throw new WorkspaceError(
        `merging ${integrationBranch} into ${target} conflicts; nothing was changed. Merge it by hand: git merge ${integrationBranch}`,
      );
    }
  } else if (ff) {
    await git(repo, ['update-ref', `refs/heads/${target}`, tip, current]);
  } else {
    const tree = await git(
      repo,
      ['merge-tree', '--write-tree', '--name-only', '--no-messages', current, tip],
      { okCodes: [1] },
    );
    const [treeId = '', ...files] = tree.stdout.split('\n').filter((l) => l !== '');
    if (tree.exitCode === 1) {
      throw new WorkspaceError(
        `merging ${integrationBranch} into ${target} conflicts in ${files.join(', ')}; nothing was changed. Merge it by hand: git merge ${integrationBranch}`,
      );
    }
    const commit = await gitText(
      repo,
      ['commit-tree', treeId, '-p', current, '-p', tip, '-F', '-'],
      {
        input: `Merge ${integrationBranch} into ${target}\n`,
        asBaton: true,
      },
    );
    await git(repo, ['update-ref', `refs/heads/${target}`, commit, current]);
  }
  const after = (await resolveRef(repo, `refs/heads/${target}`)) ?? tip;
  return {
    action: ff ? 'fast-forward' : 'merge',
    done: true,
    tip: after,
    message: ff
      ? `fast-forwarded ${target} to ${integrationBranch} (${count} commits, now ${after.slice(0, 10)})`
      : `merged ${integrationBranch} into ${target} (${count} commits) with a merge commit ${after.slice(0, 10)}`,
  };
}
