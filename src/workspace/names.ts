/**
 * Names a task's key, an epic or a run turns into: branch components and directory names. git's
 * rules (`git check-ref-format`) and the file system's are both met by keeping to
 * `[A-Za-z0-9._-]`, never starting with `.` or `-`, never holding `..`, never ending in `.lock`
 * or `.`; anything else is replaced by `-`. A name that leaves nothing usable is an error.
 */
import { WorkspaceError } from '../core/errors.ts';

/** Longest component Baton makes; longer names are cut and keep a hash of the whole. */
const MAX_COMPONENT = 80;

/**
 * `name` as one safe branch component / directory name.
 * @throws WorkspaceError when nothing usable is left (`what` says whose name it is).
 */
export function safeComponent(name: string, what: string): string {
  let out = name
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/-{2,}/g, '-')
    .replace(/^[.-]+/, '')
    .replace(/[.-]+$/, '');
  while (out.toLowerCase().endsWith('.lock'))
    out = out.slice(0, -'.lock'.length).replace(/[.-]+$/, '');
  if (out === '') {
    throw new WorkspaceError(
      `${what} '${name}' cannot name a git branch or a directory: nothing is left once characters outside A-Z, a-z, 0-9, '.', '_' and '-' are removed; rename it`,
      { details: { name } },
    );
  }
  if (out.length > MAX_COMPONENT) out = `${out.slice(0, MAX_COMPONENT - 9)}-${shortHash(name)}`;
  return out;
}

/** Eight hex digits of FNV-1a: enough to keep cut names apart. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The short id of a run in its branch names: the last 8 characters of its id, lower-cased. */
export function shortRunId(runId: string): string {
  return safeComponent(runId.slice(-8).toLowerCase(), 'run id');
}

/** Where a run's branches, worktrees and records are, by its name slug and id. */
export interface RunLayout {
  /** `<name>-<short>`: the run's directory under `.baton/worktrees/` and its records' prefix. */
  dir: string;
  /** `refs/heads/baton/<name>-<short>`. */
  integrationRef: string;
  /** `baton/<name>-<short>`. */
  integrationBranch: string;
  /** The branch of a worktree slot (a task key or an epic): `baton/<name>/<short>/<slot>`. */
  slotBranch(slot: string): string;
  /** The ref recording a task's merge, by its key slug. */
  mergedRef(keySlug: string): string;
  /** The ref recording a task's conflict waiting for resolve-conflict. */
  conflictRef(keySlug: string): string;
  /** The ref recording that a task's resolve-conflict failed for good. */
  resolveFailedRef(keySlug: string): string;
}

export function runLayout(nameSlug: string, runId: string): RunLayout {
  const short = shortRunId(runId);
  const dir = `${nameSlug}-${short}`;
  return {
    dir,
    integrationRef: `refs/heads/baton/${dir}`,
    integrationBranch: `baton/${dir}`,
    slotBranch: (slot) => `baton/${nameSlug}/${short}/${slot}`,
    mergedRef: (key) => `refs/baton/${dir}/${key}/merged`,
    conflictRef: (key) => `refs/baton/${dir}/${key}/conflict`,
    resolveFailedRef: (key) => `refs/baton/${dir}/${key}/resolve-failed`,
  };
}
