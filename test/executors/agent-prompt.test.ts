/**
 * The prompt of an agent task: a `resolve-conflict` task's puts the conflict first (its files and
 * both sides' diffs, fenced so a diff cannot close its fence), then what the conflicting task was
 * asked to do; a task without a conflict is unchanged.
 */
import { describe, expect, it } from 'vitest';

import type { AgentPayload } from '../../src/core/agent.ts';
import { buildAgentPrompt, type AgentConflict } from '../../src/executors/agent/index.ts';

const integrationDiff = [
  'diff --git a/a.txt b/a.txt',
  '--- a/a.txt',
  '+++ b/a.txt',
  '@@ -1 +1 @@',
  '-base',
  '+left',
  '',
].join('\n');
const taskDiff = integrationDiff.replace('+left', '+right');

const conflict: AgentConflict = {
  task: 'right',
  files: ['a.txt', 'src/b.ts'],
  integrationDiff,
  taskDiff,
};

const payload: AgentPayload = { kind: 'claude', description: 'Make a.txt say right' };

describe('the prompt of a resolve-conflict agent task', () => {
  it('lists the conflicting files and both diffs, then the task it resolves', () => {
    const prompt = buildAgentPrompt({
      title: 'Resolve the merge conflict of right in a.txt, src/b.ts',
      payload,
      dependencies: {},
      expertise: null,
      conflict,
    });
    expect(prompt.startsWith('# Resolve the merge conflict of right\n')).toBe(true);
    expect(prompt).toContain('## Conflicting files\n\n- a.txt\n- src/b.ts\n');
    const ours = prompt.indexOf("## The integration branch's changes to them");
    const theirs = prompt.indexOf("## right's own changes to them");
    const asked = prompt.indexOf('## What right was asked to do\n\nMake a.txt say right');
    expect(ours).toBeGreaterThan(0);
    expect(theirs).toBeGreaterThan(ours);
    expect(asked).toBeGreaterThan(theirs);
    expect(prompt.slice(ours, theirs)).toContain('```diff\ndiff --git a/a.txt b/a.txt');
    expect(prompt.slice(ours, theirs)).toContain('-base\n+left\n```');
    expect(prompt.slice(theirs, asked)).toContain('-base\n+right\n```');
    // Baton's title for the resolver is not repeated as the task's own.
    expect(prompt.match(/Resolve the merge conflict/g)).toHaveLength(1);
  });

  it('fences a diff that holds backticks with a longer fence', () => {
    const prompt = buildAgentPrompt({
      title: null,
      payload,
      dependencies: {},
      expertise: null,
      conflict: { ...conflict, taskDiff: '+```ts\n+const a = 1;\n+```\n' },
    });
    expect(prompt).toContain('````diff\n+```ts\n+const a = 1;\n+```\n````');
  });

  it('says so when a side changed nothing, and cuts a huge diff', () => {
    const prompt = buildAgentPrompt({
      title: null,
      payload: { kind: 'claude', prompt: 'Fix it' },
      dependencies: {},
      expertise: null,
      conflict: { ...conflict, integrationDiff: '', taskDiff: `+${'x'.repeat(50_000)}\n` },
    });
    expect(prompt).toContain('```diff\n(no changes)\n```');
    expect(prompt.length).toBeLessThan(25_000);
    expect(prompt.endsWith('## What right was asked to do\n\nFix it')).toBe(true);
  });

  it("quotes the task's text as written when it names dependencies the resolver does not have", () => {
    const prompt = buildAgentPrompt({
      title: null,
      payload: { kind: 'claude', description: 'Extend {{ deps.schema.result }}' },
      dependencies: {},
      expertise: null,
      conflict,
    });
    expect(
      prompt.endsWith('## What right was asked to do\n\nExtend {{ deps.schema.result }}'),
    ).toBe(true);
  });

  it('leaves the prompt of a task without a conflict as it was', () => {
    const parts = { title: 'Do it', payload, dependencies: {}, expertise: null };
    expect(buildAgentPrompt({ ...parts, conflict: null })).toBe(buildAgentPrompt(parts));
    expect(buildAgentPrompt(parts)).toBe('# Do it\n\nMake a.txt say right');
  });
});
