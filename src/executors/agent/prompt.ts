/**
 * The prompt an agent task's session starts with: the task's own `prompt` template, filled; or,
 * without one, a prompt built from the task's title and `description`, the results of its
 * dependencies, and its domain's expertise (docs/agents.md#prompt).
 */
import type { AgentPayload } from '../../core/agent.ts';
import { truncate } from '../../core/text.ts';
import { renderTemplate } from '../../core/template.ts';
import type { DependencyOutcome, Json } from '../../core/types.ts';

/** Characters of one dependency's result quoted in a built prompt. */
const DEPENDENCY_RESULT_LIMIT = 4000;

export interface PromptParts {
  title: string | null;
  payload: AgentPayload;
  dependencies: Record<string, DependencyOutcome>;
  /** The domain's expertise, as text (YAML), or null. */
  expertise: string | null;
  /** The domain the expertise is of. */
  domain?: string | null;
}

/** @throws TemplateError when a template names something the task does not have. */
export function buildAgentPrompt(parts: PromptParts): string {
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
