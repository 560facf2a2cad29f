/**
 * A coding task's branch and merge (docs/worktrees.md): its branch, the run's integration branch,
 * and whether it merged (the merge commit, after a conflict who resolved it), conflicts (the
 * files, from its resolve-conflict task) or has not merged yet. The shapes are the workspace
 * module's own (type imports); the branch names before a merge come from its naming rule.
 */
import type { TaskRecord } from '../api.ts';
import type { WorkspaceResult } from '../../../src/workspace/handler.ts';
import { runLayout } from '../../../src/workspace/names.ts';
import type { WorkspaceSpec } from '../../../src/workspace/spec.ts';

function record(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** The workspace spec a coding task carries in its payload; null for other tasks. */
export function workspaceSpec(task: TaskRecord): WorkspaceSpec | null {
  const spec = record(record(task.payload)?.['workspace']);
  return spec !== null && spec['v'] === 1 && typeof spec['run'] === 'string'
    ? (spec as unknown as WorkspaceSpec)
    : null;
}

/** What the task's (last successful attempt's) result says of its merge. */
function workspaceResult(task: TaskRecord): WorkspaceResult | null {
  const ws = record(record(task.result)?.['workspace']);
  return ws !== null && typeof ws['merge'] === 'string' ? (ws as unknown as WorkspaceResult) : null;
}

const short = (sha: string) => sha.slice(0, 12);

export function CodeFacts({
  task,
  runTasks,
}: {
  task: TaskRecord;
  /** The run's tasks, where its resolve-conflict task (if any) is found. */
  runTasks: ReadonlyMap<string, TaskRecord>;
}) {
  const spec = workspaceSpec(task);
  if (spec === null || task.runId === null) return null;
  const done = workspaceResult(task);
  const layout = runLayout(spec.run, task.runId);
  const branch = done?.branch ?? layout.slotBranch(spec.slot);
  const integration = done?.integrationBranch ?? layout.integrationBranch;
  let resolver: { task: TaskRecord; files: string[] } | null = null;
  for (const t of runTasks.values()) {
    const target = workspaceSpec(t)?.target;
    if (target !== undefined && target.taskId === task.id)
      resolver = { task: t, files: target.files };
  }
  const conflictFailed = task.error?.code === 'BATON_MERGE_CONFLICT';

  let status: 'merged' | 'conflict' | 'conflict-failed' | 'not-merged';
  if (done !== null) status = 'merged';
  else if (conflictFailed) status = 'conflict-failed';
  else if (resolver !== null) status = 'conflict';
  else status = 'not-merged';

  return (
    <section aria-labelledby="code-title" data-testid="code-facts" data-merge-status={status}>
      <h3 id="code-title">Code</h3>
      <dl className="facts">
        <div>
          <dt>Branch</dt>
          <dd className="mono" data-testid="code-branch">
            {branch}
          </dd>
        </div>
        <div>
          <dt>Integration branch</dt>
          <dd className="mono" data-testid="code-integration">
            {integration}
          </dd>
        </div>
        <div>
          <dt>Repository</dt>
          <dd className="mono">{spec.repo}</dd>
        </div>
        <div>
          <dt>Merge</dt>
          <dd data-testid="code-merge">
            {status === 'merged' && done !== null && (
              <>
                <span aria-hidden="true">✓ </span>merged ({done.mode}) as{' '}
                <code data-testid="code-merge-sha" title={done.merge}>
                  {short(done.merge)}
                </code>{' '}
                onto <code title={done.onto}>{short(done.onto)}</code>, head{' '}
                <code title={done.head}>{short(done.head)}</code>
                {done.resolvedBy !== undefined && (
                  <>, after a conflict resolved by {done.resolvedBy}</>
                )}
                {done.recovered === true && <>, recovered from an earlier attempt</>}
              </>
            )}
            {status === 'conflict' && resolver !== null && (
              <>
                <span aria-hidden="true">⚠ </span>conflict: waiting for {resolver.task.key} (
                {resolver.task.state})
              </>
            )}
            {status === 'conflict-failed' && (
              <>
                <span aria-hidden="true">✗ </span>conflict, not merged: {task.error?.message}
              </>
            )}
            {status === 'not-merged' && <>not merged yet ({task.state})</>}
          </dd>
        </div>
        {resolver !== null && (
          <div>
            <dt>Conflicting files</dt>
            <dd className="mono" data-testid="code-conflict-files">
              {resolver.files.join(', ')}
            </dd>
          </div>
        )}
        {spec.target !== undefined && (
          <div>
            <dt>Resolves</dt>
            <dd>
              the conflict of {spec.target.key} in{' '}
              <span className="mono">{spec.target.files.join(', ')}</span>
            </dd>
          </div>
        )}
      </dl>
    </section>
  );
}
