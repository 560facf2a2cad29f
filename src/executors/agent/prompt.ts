/**
 * The prompt an agent task's session starts with: the task's own `prompt` template, filled; or,
 * without one, a prompt built from the task's title and `description`, the results of its
 * dependencies, and its domain's expertise (docs/agents.md#prompt). A `resolve-conflict` task's
 * prompt puts the conflict first: its files and both sides' diffs, then what the conflicting
 * task was asked to do.
 */
import type { AgentPayload } from '../../core/agent.ts';
import { truncate } from '../../core/text.ts';
import { renderTemplate, TemplateError } from '../../core/template.ts';
import type { DependencyOutcome, Json } from '../../core/types.ts';

/** Characters of one dependency's result quoted in a built prompt. */
const DEPENDENCY_RESULT_LIMIT = 4000;
/** Characters of each side's diff quoted in a conflict prompt. */
const CONFLICT_DIFF_LIMIT = 20_000;

/**
 * The merge conflict a `resolve-conflict` task resolves, as the worktree wrapper gives it
 * (`ctx.workspace.conflict`, src/workspace/handler.ts).
 */
export interface AgentConflict {
  /** The key of the task whose merge conflicted. */
  task: string;
  /** Files with conflict markers in the worktree. */
  files: string[];
  /** The integration branch's changes to those files since the task's branch was cut. */
  integrationDiff: string;
  /** The task's own changes to those files. */
  taskDiff: string;
}

export interface PromptParts {
  title: string | null;
  payload: AgentPayload;
  dependencies: Record<string, DependencyOutcome>;
  /** The domain's expertise, as text (YAML), or null. */
  expertise: string | null;
  /** The domain the expertise is of. */
  domain?: string | null;
  /** Set for a `resolve-conflict` task: the conflict, put before the task's own prompt. */
  conflict?: AgentConflict | null;
}

/** @throws TemplateError when a template names something the task does not have. */
export function buildAgentPrompt(parts: PromptParts): string {
  const { conflict } = parts;
  if (conflict === undefined || conflict === null) return taskPrompt(parts);
  // A resolver's title is Baton's ("Resolve the merge conflict of …"), not the task's own.
  let own: string;
  try {
    own = taskPrompt({ ...parts, title: null }).trim();
  } catch (error) {
    // The resolver does not have the conflicting task's dependencies: quote its text as written.
    if (!(error instanceof TemplateError)) throw error;
    own = (parts.payload.prompt ?? parts.payload.description ?? '').trim();
  }
  const header = conflictPrompt(conflict);
  return own === '' ? header : `${header}\n\n## What ${conflict.task} was asked to do\n\n${own}`;
}

/**
 * The conflict part of a `resolve-conflict` task's prompt: what to do, the files, and each
 * side's diff (each cut at {@link CONFLICT_DIFF_LIMIT} characters).
 */
export function conflictPrompt(conflict: AgentConflict): string {
  const files = conflict.files.map((f) => `- ${f}`).join('\n');
  return [
    `# Resolve the merge conflict of ${conflict.task}`,
    `The work of task ${conflict.task} does not merge into the run's integration branch. This ` +
      `working directory holds both sides: the task's branch with the integration branch merged ` +
      `in, and conflict markers (<<<<<<<, =======, >>>>>>>) in the files below. Edit each file so ` +
      `that it keeps what both sides meant, remove every marker, and do not commit: Baton commits ` +
      `your work and merges it.`,
    `## Conflicting files\n\n${files === '' ? '(none listed)' : files}`,
    `## The integration branch's changes to them (since ${conflict.task}'s branch was cut)\n\n${fenced(conflict.integrationDiff)}`,
    `## ${conflict.task}'s own changes to them\n\n${fenced(conflict.taskDiff)}`,
  ].join('\n\n');
}

/** A diff in a fence longer than any run of backticks inside it. */
function fenced(diff: string): string {
  const text = truncate(diff.replace(/\s+$/, ''), CONFLICT_DIFF_LIMIT);
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}diff\n${text === '' ? '(no changes)' : text}\n${fence}`;
}

function taskPrompt(parts: PromptParts): string {
  const { payload, dependencies } = parts;
  const values = { payload: payload as Json, dependencies };
  const sections: string[] = [];
  if (parts.expertise !== null && parts.expertise.trim() !== '') {
    sections.push(
      `## Expertise of the ${parts.domain ?? payload.domain ?? ''} domain (what earlier sessions learned)\n\n${parts.expertise.trim()}`,
    );
  }
  if (payload.prompt !== undefined) {
    sections.push(renderTemplate(payload.prompt, values));
    return sections.join('\n\n');
  }
  const task: string[] = [];
  if (parts.title !== null && parts.title.trim() !== '') task.push(`# ${parts.title.trim()}`);
  if (payload.description !== undefined) task.push(renderTemplate(payload.description, values));
  const deps = Object.values(dependencies);
  if (deps.length > 0) {
    const lines = ['## What the tasks this one depends on produced'];
    for (const dep of deps) {
      const result =
        dep.result === null
          ? dep.error !== null
            ? `(${dep.state}: ${dep.error.message})`
            : `(${dep.state}, no result)`
          : typeof dep.result === 'string'
            ? dep.result
            : JSON.stringify(dep.result, null, 2);
      lines.push(`### ${dep.key}\n\n${truncate(result, DEPENDENCY_RESULT_LIMIT)}`);
    }
    task.push(lines.join('\n\n'));
  }
  sections.push(task.join('\n\n'));
  return sections.join('\n\n');
}
