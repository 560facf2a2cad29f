/**
 * Merging a branch into a run's integration branch without touching any checkout:
 * `git merge-tree --write-tree` computes the merged tree in the object store, `git commit-tree`
 * makes the commit, and one `git update-ref --stdin` transaction moves the integration branch
 * from the value it was read at (a compare-and-swap: the merge's fence) and creates the task's
 * merge record in the same step. Two merges finishing at once cannot lose one another: the loser
 * reads the new tip and merges again. A task whose record exists is never merged again, whatever
 * attempt asks.
 */
import { performance } from 'node:perf_hooks';

import { git, gitText, readRef, ZERO_OID } from './git.ts';

/** What a merge did. */
export type MergeOutcome =
  | {
      status: 'merged';
      /** The integration branch's tip the merge was made onto. */
      onto: string;
      /** The new tip: the merge (or squash) commit; `onto` itself when there was nothing to add. */
      merge: string;
      /** This call found the record of an earlier merge and did nothing. */
      already: boolean;
      /** Rounds lost to a concurrent merge (compare-and-swap retries). */
      retries: number;
      ms: number;
    }
  | { status: 'conflict'; onto: string; files: string[]; ms: number };

export interface MergeRequest {
  repo: string;
  /** The integration branch's full ref. */
  integrationRef: string;
  /** The commit to merge in. */
  head: string;
  mode: 'merge' | 'squash';
  /** Records created in the same transaction (each must not exist yet): the task's merge record. */
  records: string[];
  /** Commit message (its trailers name the task and head). */
  message: string;
  /** Most compare-and-swap rounds. @default 50 */
  maxRounds?: number;
  /**
   * The caller found the records absent just now: the first round does not read them again
   * (the transaction's `create` still refuses one that appeared meanwhile).
   * @default false
   */
  recordsChecked?: boolean;
  /**
   * Refs deleted in the same transaction, each only if it still names `old` (the task's branch,
   * which is merged once the transaction commits).
   * @default []
   */
  alsoDelete?: { ref: string; old: string }[];
}

/** The merge commit a record names, if the task was merged. */
export async function mergedAt(repo: string, record: string): Promise<string | null> {
  return readRef(repo, record);
}

/**
 * Merge `head` into the integration branch (see the module comment).
 * @throws GitError when git fails for another reason than a conflict or a lost race
 */
export async function mergeIntoIntegration(request: MergeRequest): Promise<MergeOutcome> {
  // Merges of one process into one branch take turns: racing each other would only make the
  // losers compute their merge again (CPU that the agents need). Across processes the
  // compare-and-swap below still decides.
  const key = `${request.repo}\u0000${request.integrationRef}`;
  const previous = turns.get(key) ?? Promise.resolve();
  const mine = previous.then(() => mergeOnce(request));
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  turns.set(key, settled);
  try {
    return await mine;
  } finally {
    if (turns.get(key) === settled) turns.delete(key);
  }
}

/** The last merge queued per repository and integration branch in this process. */
const turns = new Map<string, Promise<void>>();

/**
 * The tip this process last moved each integration branch to: the next merge's first guess,
 * which saves reading it. A guess another process made stale costs one lost compare-and-swap.
 */
const lastTips = new Map<string, Tip>();

/**
 * The merge itself, without taking turns with this process's other merges: what merges from
 * different processes do. Exported for the test that races them.
 */
export async function mergeOnce(request: MergeRequest): Promise<MergeOutcome> {
  const started = performance.now();
  const { repo, integrationRef, head } = request;
  const rounds = request.maxRounds ?? 50;
  for (let round = 0; ; round++) {
    if (round > 0 || request.recordsChecked !== true) {
      for (const record of request.records) {
        const done = await mergedAt(repo, record);
        if (done !== null) {
          return {
            status: 'merged',
            onto: done,
            merge: done,
            already: true,
            retries: round,
            ms: performance.now() - started,
          };
        }
      }
    }
    const tipKey = `${repo}\u0000${integrationRef}`;
    const guess = round === 0 ? lastTips.get(tipKey) : undefined;
    const tip = guess ?? (await readTip(repo, integrationRef));
    if (tip === null) throw new Error(`the integration branch ${integrationRef} does not exist`);
    const { commit: onto, tree: ontoTree } = tip;
    const tree = await git(
      repo,
      ['merge-tree', '--write-tree', '--name-only', '--no-messages', onto, head],
      { okCodes: [1] },
    );
    const [treeId = '', ...rest] = tree.stdout.split('\n');
    if (tree.exitCode === 1) {
      // A conflict with a guessed tip counts only if the guess was the tip.
      if (guess !== undefined && (await readTip(repo, integrationRef))?.commit !== onto) {
        lastTips.delete(tipKey);
        continue;
      }
      const files = [...new Set(rest.filter((line) => line !== ''))].sort();
      return { status: 'conflict', onto, files, ms: performance.now() - started };
    }
    let merge = onto;
    if (treeId !== ontoTree) {
      const parents = request.mode === 'squash' ? ['-p', onto] : ['-p', onto, '-p', head];
      merge = await gitText(repo, ['commit-tree', treeId, ...parents, '-F', '-'], {
        input: request.message,
        asBaton: true,
      });
    }
    const lines = ['start', `update ${integrationRef} ${merge} ${onto}`];
    for (const record of request.records) lines.push(`create ${record} ${merge}`);
    for (const { ref, old } of request.alsoDelete ?? []) lines.push(`delete ${ref} ${old}`);
    lines.push('prepare', 'commit', '');
    const moved = await git(repo, ['update-ref', '--stdin'], {
      input: lines.join('\n'),
      okCodes: [128],
    });
    if (moved.exitCode === 0) {
      lastTips.set(tipKey, { commit: merge, tree: treeId });
      return {
        status: 'merged',
        onto,
        merge,
        already: false,
        retries: round,
        ms: performance.now() - started,
      };
    }
    if (round + 1 >= rounds) {
      throw new Error(
        `could not move ${integrationRef} after ${rounds} rounds of concurrent merges`,
      );
    }
    // Lost the race (or a record appeared): read again and merge onto the new tip.
  }
}

/** A branch's commit and tree, in one call. */
export interface Tip {
  commit: string;
  tree: string;
}

export async function readTip(repo: string, ref: string): Promise<Tip | null> {
  const text = await gitText(repo, ['for-each-ref', '--format=%(objectname) %(tree)', ref]);
  const [commit, tree] = text.split(' ');
  return commit === undefined || tree === undefined || commit === '' ? null : { commit, tree };
}

/** Create `ref` at `value` only if it does not exist yet; false when it already did. */
export async function createRef(repo: string, ref: string, value: string): Promise<boolean> {
  const result = await git(repo, ['update-ref', ref, value, ZERO_OID], { okCodes: [128] });
  return result.exitCode === 0;
}

/** A blob holding `text`, to hang a record ref on. */
export async function writeBlob(repo: string, text: string): Promise<string> {
  return gitText(repo, ['hash-object', '-w', '--stdin'], { input: text });
}

export async function readBlob(repo: string, id: string): Promise<string> {
  return (await git(repo, ['cat-file', 'blob', id])).stdout;
}
