/**
 * A task's drawer: its state, attempts (agent, timings, outcome, error), result, cost, and its
 * log, followed live as `baton logs -f` does (the log's SSE route, resumed by line). Cancel and
 * retry where the token may submit.
 */
import { useEffect, useRef, useState } from 'react';

import {
  api,
  apiUrl,
  can,
  type LogLine,
  type Scope,
  type TaskDetail,
  type TaskRecord,
} from '../api.ts';
import { duration, prettyJson, time, usd } from '../format.ts';
import { modelOf } from '../layout.ts';
import { followSse } from '../sse.ts';
import { StateBadge } from '../widgets.tsx';
import { CodeFacts } from './CodeFacts.tsx';

const MAX_LOG_LINES = 5000;

export function TaskDrawer({
  taskId,
  runId,
  runTasks,
  scopes,
  live,
  onClose,
  onChanged,
}: {
  taskId: string;
  runId: string;
  /** The run's tasks as the run page knows them (a coding task's resolve-conflict task). */
  runTasks: ReadonlyMap<string, TaskRecord>;
  scopes: Scope[];
  /** The task's state as the run page knows it: a change refetches the details. */
  live: string | null;
  onClose: () => void;
  onChanged: () => void;
}) {
  const [detail, setDetail] = useState<TaskDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [cost, setCost] = useState<{ costUsd: number; calls: number } | null>(null);
  /** Each attempt's calls and cost, summed from the task's recorded calls. */
  const [byAttempt, setByAttempt] = useState<Map<number, { costUsd: number; calls: number }>>(
    new Map(),
  );
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    let cancelled = false;
    api.task(taskId).then(
      (d) => !cancelled && (setDetail(d), setError(null)),
      (e: Error) => !cancelled && setError(e.message),
    );
    api.costs({ run: runId, by: 'task' }).then(
      (r) => {
        const g = r.groups.find((x) => x.key === taskId);
        if (!cancelled) setCost(g === undefined ? { costUsd: 0, calls: 0 } : g);
      },
      () => undefined,
    );
    api.taskUsage(taskId).then(
      ({ usage }) => {
        const sums = new Map<number, { costUsd: number; calls: number }>();
        for (const call of usage) {
          const sum = sums.get(call.attempt) ?? { costUsd: 0, calls: 0 };
          // In whole nano-dollars, as the ledger sums, so the total is exact.
          sum.costUsd = (Math.round(sum.costUsd * 1e9) + Math.round(call.costUsd * 1e9)) / 1e9;
          sum.calls += 1;
          sums.set(call.attempt, sum);
        }
        if (!cancelled) setByAttempt(sums);
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [taskId, runId, live]);

  useEffect(() => {
    heading.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [taskId, onClose]);

  const act = (what: 'cancel' | 'retry') => {
    setBusy(true);
    (what === 'cancel' ? api.cancelTask(taskId) : api.retryTask(taskId))
      .then(
        ({ task }) => {
          setDetail((d) => (d === null ? d : { ...d, task }));
          setError(null);
          onChanged();
        },
        (e: Error) => setError(e.message),
      )
      .finally(() => setBusy(false));
  };

  const task = detail?.task;
  const mayAct = can(scopes, 'submit');
  return (
    <aside className="drawer" role="dialog" aria-modal="false" aria-labelledby="drawer-title">
      <div className="drawer-head">
        <h2 id="drawer-title" tabIndex={-1} ref={heading}>
          {task?.key ?? taskId}
        </h2>
        <button type="button" onClick={onClose} aria-label="Close the task details">
          ✕
        </button>
      </div>
      {error !== null && <p role="alert">{error}</p>}
      {task === undefined ? (
        <p>Loading…</p>
      ) : (
        <>
          <p>
            <StateBadge state={task.state} /> <span className="mono muted">{task.id}</span>
          </p>
          {mayAct && (
            <div className="actions">
              {!['succeeded', 'failed', 'skipped', 'cancelled'].includes(task.state) && (
                <button
                  type="button"
                  className="danger"
                  disabled={busy}
                  onClick={() => act('cancel')}
                >
                  Cancel task
                </button>
              )}
              {task.state === 'failed' && (
                <button type="button" disabled={busy} onClick={() => act('retry')}>
                  Retry task
                </button>
              )}
            </div>
          )}
          <dl className="facts">
            <div>
              <dt>Type</dt>
              <dd>{task.type}</dd>
            </div>
            {modelOf(task.payload) !== null && (
              <div>
                <dt>Model</dt>
                <dd>{modelOf(task.payload)}</dd>
              </div>
            )}
            <div>
              <dt>Epic</dt>
              <dd>{task.epic ?? '—'}</dd>
            </div>
            <div>
              <dt>Requires</dt>
              <dd>{task.requires.join(', ') || '—'}</dd>
            </div>
            <div>
              <dt>Depends on</dt>
              <dd>
                {task.dependsOn.map((d) => d.key + (d.soft ? ' (soft)' : '')).join(', ') || '—'}
              </dd>
            </div>
            <div>
              <dt>Attempts</dt>
              <dd>
                {task.attempts} of {task.maxAttempts}
              </dd>
            </div>
            <div>
              <dt>Created</dt>
              <dd>{time(task.createdAt)}</dd>
            </div>
            <div>
              <dt>Ran for</dt>
              <dd>
                {task.startedAt === null
                  ? '—'
                  : duration((task.finishedAt ?? Date.now()) - task.startedAt)}
              </dd>
            </div>
            <div>
              <dt>Cost</dt>
              <dd data-testid="task-cost">{cost === null ? '—' : callsCost(cost)}</dd>
            </div>
          </dl>
          {task.error !== null && (
            <section aria-labelledby="error-title">
              <h3 id="error-title">Error</h3>
              <pre className="error" data-testid="task-error">
                {task.error.code !== undefined ? `${task.error.code}: ` : ''}
                {task.error.message}
              </pre>
            </section>
          )}
          {detail !== null && detail.attempts.length > 0 && (
            <table className="grid small">
              <caption>Attempts</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Started</th>
                  <th scope="col">Ran for</th>
                  <th scope="col">Model</th>
                  <th scope="col">Cost</th>
                  <th scope="col">Outcome</th>
                </tr>
              </thead>
              <tbody>
                {detail.attempts.map((a) => (
                  <tr key={a.attempt}>
                    <th scope="row">{a.attempt}</th>
                    <td>{a.agentId}</td>
                    <td>{time(a.startedAt)}</td>
                    <td>{duration(a.runMs ?? (a.finishedAt ?? Date.now()) - a.startedAt)}</td>
                    <td data-testid="attempt-model">
                      {a.model === null ? (
                        '—'
                      ) : (
                        <>
                          <span className="mono">{a.model.model}</span>{' '}
                          <span className="muted">
                            ({a.model.tier} tier, {a.model.complexity} complexity)
                          </span>
                          <div className="muted" data-testid="attempt-model-reason">
                            {a.model.reason}
                          </div>
                        </>
                      )}
                    </td>
                    <td
                      data-testid="attempt-cost"
                      data-cost-usd={byAttempt.get(a.attempt)?.costUsd ?? 0}
                    >
                      {callsCost(byAttempt.get(a.attempt))}
                    </td>
                    <td>
                      {a.outcome}
                      {a.error !== null && <div className="muted">{a.error.message}</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <CodeFacts task={task} runTasks={runTasks} />
          {task.result !== null && (
            <section aria-labelledby="result-title">
              <h3 id="result-title">Result</h3>
              <pre className="result" data-testid="task-result">
                {prettyJson(task.result)}
              </pre>
            </section>
          )}
          <TaskLog taskId={task.id} />
        </>
      )}
    </aside>
  );
}

/** `$0.001200 in 2 calls`; `—` for none. */
function callsCost(sum: { costUsd: number; calls: number } | undefined): string {
  if (sum === undefined) return '—';
  return `${usd(sum.costUsd)} in ${sum.calls} call${sum.calls === 1 ? '' : 's'}`;
}

/** The task's log, live: every stored line, then new ones as they come, until the task ends. */
function TaskLog({ taskId }: { taskId: string }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [ended, setEnded] = useState(false);
  const [stream, setStream] = useState('');
  useEffect(() => {
    setLines([]);
    setEnded(false);
    return followSse({
      url: apiUrl(`/v1/tasks/${encodeURIComponent(taskId)}/logs/stream`),
      once: true,
      onMessage: (m) => {
        if (m.event === 'end') {
          setEnded(true);
          return;
        }
        if (m.event !== 'line') return;
        const line = JSON.parse(m.data) as LogLine;
        setLines((l) => (l.length >= MAX_LOG_LINES ? [...l.slice(1), line] : [...l, line]));
      },
    });
  }, [taskId]);
  const shown = stream === '' ? lines : lines.filter((l) => l.stream === stream);
  return (
    <section aria-labelledby="log-title">
      <h3 id="log-title">
        Log <span className="muted">{ended ? '(complete)' : '(following)'}</span>
      </h3>
      <label>
        Stream{' '}
        <select value={stream} onChange={(e) => setStream(e.target.value)}>
          <option value="">all</option>
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
          <option value="log">log</option>
        </select>
      </label>
      <pre className="log" data-testid="task-log" tabIndex={0} aria-label="Task log">
        {shown.length === 0
          ? 'No lines.'
          : shown.map((l) => (
              <span key={l.seq} className={`line ${l.stream}`} data-stream={l.stream}>
                <span className="muted">
                  #{l.attempt} {l.stream === 'cut' ? '…' : l.stream}
                </span>{' '}
                {l.text}
                {'\n'}
              </span>
            ))}
      </pre>
    </section>
  );
}
