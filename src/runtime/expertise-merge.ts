/**
 * Merging what a task's learn step found into its domain's expertise file (issue 14 §4): each
 * new entry carries its provenance (`from: <task id>#<attempt>`, `at: <date>`); an entry found
 * again is not repeated, its `uses` grows instead; the file is cut back to `maxLines` by dropping
 * learned entries, least used first and oldest among equals (entries written by hand are kept).
 *
 * Concurrent learners (tasks of one domain finishing together, in one process or many) each take
 * the file's lease — a lock file created exclusively next to it, taken over once older than
 * `staleMs` (its holder died) — read, merge and write (a temporary file renamed over it) under
 * it, so no learner's entries are lost.
 */
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { parse, stringify } from 'yaml';

import { expertisePath, parseExpertise } from './expertise.ts';

/** The lists a learn step adds to. */
export const LEARNED_LISTS = ['patterns', 'best_practices', 'effective_patterns'] as const;

/** What one learn step found. */
export interface Learnings {
  patterns?: string[];
  best_practices?: string[];
  effective_patterns?: string[];
  learned_from_failures?: { issue: string; error?: string; solution: string }[];
}

/** A learned entry as the file keeps it. */
interface LearnedEntry {
  text?: string;
  issue?: string;
  error?: string;
  solution?: string;
  from: string;
  at: string;
  uses: number;
}

export interface MergeOptions {
  /** Lines the file may hold after the merge. @default 1000 */
  maxLines?: number;
  /** A lease older than this is taken over (its holder is gone), in ms. @default 30000 */
  staleMs?: number;
  /** How long to wait for the lease before giving up, in ms. @default 10000 */
  waitMs?: number;
  /** @default new Date() */
  now?: Date;
  /**
   * Called with the file as written, still under the lease (so versions are kept in the order
   * the file took them): the store's version history (`Backend.addExpertiseVersion`).
   */
  onWrite?: (text: string) => Promise<void>;
}

export interface MergeOutcome {
  file: string;
  added: number;
  /** Entries found again: their `uses` grew. */
  reused: number;
  /** Learned entries dropped to stay within `maxLines`. */
  pruned: number;
  lines: number;
  /** The file as written. */
  text: string;
}

/**
 * Merge `learnings` of attempt `from` (`tsk_…#2`) into `<root>/.baton/expertise/<domain>.yaml`,
 * creating it if needed, under the file's lease.
 * @throws Error when the lease cannot be had within `waitMs`; PlanError for a malformed file.
 */
export async function mergeLearnings(
  root: string,
  domain: string,
  learnings: Learnings,
  from: string,
  options: MergeOptions = {},
): Promise<MergeOutcome> {
  const file = expertisePath(root, domain);
  await mkdir(dirname(file), { recursive: true });
  const release = await takeLease(
    `${file}.lock`,
    options.staleMs ?? 30_000,
    options.waitMs ?? 10_000,
  );
  try {
    let data: Record<string, unknown> = { domain };
    try {
      const text = await readFile(file, 'utf8');
      parseExpertise(text, file, domain);
      data = (parse(text) as Record<string, unknown> | null) ?? { domain };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const at = (options.now ?? new Date()).toISOString();
    let added = 0;
    let reused = 0;
    const merge = (
      list: string,
      incoming: Record<string, string>[],
      key: (e: object) => string,
    ) => {
      const current = Array.isArray(data[list]) ? (data[list] as unknown[]) : [];
      for (const entry of incoming) {
        const k = key(entry);
        if (k === '') continue;
        const same = current.find(
          (c) => key(typeof c === 'string' ? { text: c } : (c as object)) === k,
        );
        if (same !== undefined) {
          if (typeof same === 'object' && same !== null && 'from' in same) {
            (same as LearnedEntry).uses = ((same as LearnedEntry).uses ?? 0) + 1;
          }
          reused++;
          continue;
        }
        current.push({ ...entry, from, at, uses: 0 });
        added++;
      }
      if (current.length > 0) data[list] = current;
    };
    const norm = (s: unknown): string => (typeof s === 'string' ? s.trim().toLowerCase() : '');
    for (const list of LEARNED_LISTS) {
      merge(
        list,
        (learnings[list] ?? []).map((text) => ({ text })),
        (e) => norm((e as { text?: unknown }).text),
      );
    }
    merge(
      'learned_from_failures',
      (learnings.learned_from_failures ?? []).map((f) => ({ ...f })),
      (e) => norm((e as { issue?: unknown }).issue),
    );
    const pruned = prune(data, options.maxLines ?? 1000);
    const text = stringify(data, { lineWidth: 0 });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, file);
    await options.onWrite?.(text);
    return { file, added, reused, pruned, lines: lineCount(text), text };
  } finally {
    await release();
  }
}

/** Drop learned entries, least used and then oldest first, until the file fits `maxLines`. */
function prune(data: Record<string, unknown>, maxLines: number): number {
  let pruned = 0;
  while (lineCount(stringify(data, { lineWidth: 0 })) > maxLines) {
    let victim: { list: unknown[]; index: number; entry: LearnedEntry } | null = null;
    for (const name of [...LEARNED_LISTS, 'learned_from_failures']) {
      const list = data[name];
      if (!Array.isArray(list)) continue;
      list.forEach((entry: unknown, index) => {
        if (entry === null || typeof entry !== 'object' || !('from' in entry)) return;
        const e = entry as LearnedEntry;
        if (
          victim === null ||
          (e.uses ?? 0) < (victim.entry.uses ?? 0) ||
          ((e.uses ?? 0) === (victim.entry.uses ?? 0) && e.at < victim.entry.at)
        ) {
          victim = { list, index, entry: e };
        }
      });
    }
    if (victim === null) return pruned; // only entries written by hand are left
    const { list, index } = victim as { list: unknown[]; index: number };
    list.splice(index, 1);
    pruned++;
  }
  return pruned;
}

/**
 * Replace a domain's file with `text` (a version from the store: `baton expertise rollback`),
 * under the same lease as the learners, after checking it is valid expertise; `onWrite` runs
 * under the lease once it is written.
 * @throws PlanError for text that is not valid expertise (the file is left as it was).
 */
export async function restoreExpertise(
  root: string,
  domain: string,
  text: string,
  options: Pick<MergeOptions, 'staleMs' | 'waitMs' | 'onWrite'> = {},
): Promise<{ file: string; lines: number }> {
  const file = expertisePath(root, domain);
  parseExpertise(text, file, domain);
  await mkdir(dirname(file), { recursive: true });
  const release = await takeLease(
    `${file}.lock`,
    options.staleMs ?? 30_000,
    options.waitMs ?? 10_000,
  );
  try {
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, file);
    await options.onWrite?.(text);
    return { file, lines: lineCount(text) };
  } finally {
    await release();
  }
}

function lineCount(text: string): number {
  return text.replace(/\n$/, '').split('\n').length;
}

/** Take the lease of a lock file: create it exclusively, or take it over once stale. */
async function takeLease(
  lock: string,
  staleMs: number,
  waitMs: number,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(token);
      await handle.close();
      return async () => {
        // Only our own lease is removed: one taken over meanwhile belongs to someone else.
        const held = await readFile(lock, 'utf8').catch(() => '');
        if (held === token) await rm(lock, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const age = await stat(lock).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > staleMs) {
      await rm(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the expertise file is being updated by another learner (lease ${lock} held for ${Math.round(age)} ms); try again, or remove the lock file if no baton process is running`,
      );
    }
    await sleep(10 + Math.random() * 20);
  }
}
