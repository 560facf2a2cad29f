/**
 * "Merge into <branch>" on a finished coding run (docs/worktrees.md, `POST /v1/runs/:id/merge`):
 * a fast-forward is done at once; when the branch moved on, the server answers what a merge
 * commit would do and nothing changes until the person confirms here, which sends
 * `confirm: true`. Shown only to a token with the route's scope (`admin`), for a run that
 * succeeded and whose tasks ran in worktrees.
 */
import { useState } from 'react';

import { api, can, type RunMerged, type RunRecord, type Scope, type TaskRecord } from '../api.ts';
import { runLayout } from '../../../src/workspace/names.ts';
import { workspaceSpec } from './CodeFacts.tsx';

type Step =
  | { kind: 'idle' }
  | { kind: 'busy' }
  | { kind: 'asked'; answer: RunMerged }
  | { kind: 'done'; answer: RunMerged }
  | { kind: 'failed'; message: string };

export function MergeRun({
  run,
  tasks,
  scopes,
}: {
  run: RunRecord;
  tasks: ReadonlyMap<string, TaskRecord>;
  scopes: Scope[];
}) {
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  let spec = null;
  for (const t of tasks.values()) {
    spec = workspaceSpec(t);
    if (spec !== null) break;
  }
  if (spec === null || run.state !== 'succeeded' || !can(scopes, 'admin')) return null;
  const into = spec.into ?? spec.base;
  const from = runLayout(spec.run, run.id).integrationBranch;

  const send = (confirm: boolean) => {
    setStep({ kind: 'busy' });
    api.mergeRun(run.id, { into, ...(confirm ? { confirm: true } : {}) }).then(
      (answer) =>
        setStep(
          answer.outcome === 'would-merge' ? { kind: 'asked', answer } : { kind: 'done', answer },
        ),
      (e: Error) => setStep({ kind: 'failed', message: e.message }),
    );
  };

  return (
    <section
      aria-labelledby="merge-title"
      className="panel merge"
      data-testid="merge-run"
      data-step={step.kind}
      data-outcome={step.kind === 'asked' || step.kind === 'done' ? step.answer.outcome : ''}
    >
      <h2 id="merge-title">Code</h2>
      <p>
        The run&apos;s work is on <code>{from}</code> in <span className="mono">{spec.repo}</span>.
      </p>
      {step.kind !== 'asked' && (
        <button type="button" disabled={step.kind === 'busy'} onClick={() => send(false)}>
          {step.kind === 'busy' ? `Merging into ${into}…` : `Merge into ${into}`}
        </button>
      )}
      {step.kind === 'asked' && (
        <div role="group" aria-labelledby="merge-question">
          <p id="merge-question" data-testid="merge-message">
            <span aria-hidden="true">⚠ </span>
            {step.answer.message}
          </p>
          <button type="button" className="danger" onClick={() => send(true)}>
            Make the merge commit on {into}
          </button>{' '}
          <button type="button" onClick={() => setStep({ kind: 'idle' })}>
            Don&apos;t merge
          </button>
        </div>
      )}
      {step.kind === 'done' && (
        <p role="status" data-testid="merge-message" data-sha={step.answer.sha ?? ''}>
          <span aria-hidden="true">✓ </span>
          {step.answer.message}
        </p>
      )}
      {step.kind === 'failed' && (
        <p role="alert" data-testid="merge-message">
          <span aria-hidden="true">✗ </span>
          {step.message}
        </p>
      )}
    </section>
  );
}
