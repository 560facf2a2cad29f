/**
 * One run: its graph (or a list), progress, elapsed time, ETA and speed-up, the cost against the
 * budget, the run's events as they happen, and the task drawer. Events move cards at once (the
 * state a task event implies); the run is refetched behind them, at most once a second (every 5 s
 * for runs over 500 tasks), to fill in timings and attempts.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';

import {
  ApiError,
  api,
  can,
  type BatonEvent,
  type CostReport,
  type RunDetail,
  type RunRecord,
  type Scope,
  type TaskRecord,
} from '../api.ts';
import { Throttled, useEvents } from '../events.ts';
import { STATE_ICON, TASK_STATES, TERMINAL, duration, stateAfter, usd } from '../format.ts';
import { expectedDurations, modelOf, remainingMs, type EtaTask } from '../layout.ts';
import { CostBar, ProgressBar, StateBadge } from '../widgets.tsx';
import { TaskStore } from '../task-store.ts';
import { MergeRun } from './MergeRun.tsx';
import { RunGraph } from './RunGraph.tsx';
import { TaskDrawer } from './TaskDrawer.tsx';

/** Runs larger than this open with their epics collapsed. */
const COLLAPSE_OVER = 300;
const FEED_MAX = 300;
const LIST_PAGE = 100;

interface Model {
  run: RunRecord;
  tasks: Map<string, TaskRecord>;
  levels: string[][];
  criticalPath: string[];
  structure: number;
}

export function RunPage({
  runId,
  taskId,
  scopes,
}: {
  runId: string;
  taskId: string | null;
  scopes: Scope[];
}) {
  const [model, setModel] = useState<Model | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [view, setView] = useState<'graph' | 'list'>('graph');
  const [feed, setFeed] = useState<BatonEvent[]>([]);
  const [costVersion, setCostVersion] = useState(0);
  const [actionError, setActionError] = useState<string | null>(null);
  const structure = useRef(0);
  const firstLoad = useRef(true);
  // The live records the graph's cards read (each its own): kept in step with `model.tasks`.
  const [store] = useState(() => new TaskStore());

  const load = useCallback(async () => {
    try {
      const detail: RunDetail = await api.run(runId);
      store.replace(new Map(detail.tasks.map((t) => [t.id, t])));
      setModel((prev) => {
        const tasks = new Map(detail.tasks.map((t) => [t.id, t]));
        const same =
          prev !== null &&
          prev.tasks.size === tasks.size &&
          [...tasks.keys()].every((id) => prev.tasks.has(id));
        if (!same) structure.current++;
        return {
          run: detail.run,
          tasks,
          levels: same ? prev.levels : detail.levels,
          criticalPath: same ? prev.criticalPath : detail.criticalPath,
          structure: structure.current,
        };
      });
      if (firstLoad.current) {
        firstLoad.current = false;
        if (detail.tasks.length > COLLAPSE_OVER) {
          setCollapsed(new Set(detail.tasks.map((t) => t.epic ?? '(no epic)')));
        }
      }
      setError(null);
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 404 ? `No run ${runId}.` : (e as Error).message,
      );
    }
  }, [runId, store]);

  const refetch = useRef<Throttled | null>(null);
  const size = model?.tasks.size ?? 0;
  useEffect(() => {
    refetch.current = new Throttled(() => void load(), size > 500 ? 5000 : 1000);
    return () => refetch.current?.cancel();
  }, [load, size]);
  useEffect(() => {
    void load();
  }, [load]);

  const costRefetch = useRef(new Throttled(() => setCostVersion((v) => v + 1), 1000));

  useEvents((event) => {
    if (event.runId !== runId) return;
    setFeed((f) => [event, ...f].slice(0, FEED_MAX));
    if (event.type === 'usage.recorded') {
      costRefetch.current.request();
      return;
    }
    const next = event.taskId === null ? null : stateAfter(event.type, event.data);
    // The card first, in this handler: the graph's nodes do not change for it.
    const current = event.taskId === null ? undefined : store.get(event.taskId);
    let moved: TaskRecord | undefined;
    if (current !== undefined && next !== null && current.state !== next) {
      moved = {
        ...current,
        state: next,
        updatedAt: event.at,
        ...(next === 'running'
          ? { startedAt: current.startedAt ?? event.at, agentId: event.agentId }
          : {}),
        ...(TERMINAL.has(next) ? { finishedAt: event.at } : {}),
      };
      store.set(moved);
    }
    setModel((prev) => {
      if (prev === null) return prev;
      let run = prev.run;
      if (event.type.startsWith('run.') && typeof event.data.state === 'string') {
        run = { ...run, state: event.data.state as RunRecord['state'] };
        if (event.type === 'run.completed' || event.type === 'run.cancelled') {
          run = { ...run, finishedAt: event.at };
        } else if (event.type === 'run.reopened') {
          run = { ...run, finishedAt: null };
        }
      }
      let tasks = prev.tasks;
      if (moved !== undefined) {
        const task = prev.tasks.get(moved.id);
        if (task !== undefined && task.state !== moved.state) {
          tasks = new Map(prev.tasks);
          tasks.set(task.id, moved);
        }
      }
      return run === prev.run && tasks === prev.tasks ? prev : { ...prev, run, tasks };
    });
    refetch.current?.request();
  });

  const toggle = useCallback((epic: string) => {
    setCollapsed((c) => {
      const n = new Set(c);
      if (n.has(epic)) n.delete(epic);
      else n.add(epic);
      return n;
    });
  }, []);
  const open = useCallback(
    (id: string) => {
      window.location.hash = `#/runs/${runId}/tasks/${id}`;
    },
    [runId],
  );

  const progress = useMemo(() => {
    const byState: Record<string, number> = {};
    let done = 0;
    for (const t of model?.tasks.values() ?? []) {
      byState[t.state] = (byState[t.state] ?? 0) + 1;
      if (TERMINAL.has(t.state)) done++;
    }
    return { total: model?.tasks.size ?? 0, byState, done };
  }, [model?.tasks]);

  // The graph's structure: a new array only when tasks are added or removed.
  const layoutTasks = useMemo(() => [...(model?.tasks.values() ?? [])], [model?.structure]);

  if (error !== null && model === null) {
    return (
      <section>
        <h1>Run</h1>
        <p role="alert">{error}</p>
        <a href="#/runs">All runs</a>
      </section>
    );
  }
  if (model === null) return <p>Loading the run…</p>;
  const { run } = model;
  const epics = [...new Set([...model.tasks.values()].map((t) => t.epic ?? '(no epic)'))];
  const mayAct = can(scopes, 'submit');

  return (
    <section
      aria-labelledby="run-title"
      className="run"
      data-run-id={run.id}
      data-state={run.state}
    >
      <div className="run-head">
        <div>
          <p className="crumbs">
            <a href="#/runs">Runs</a> /
          </p>
          <h1 id="run-title">{run.name}</h1>
          <span className="mono muted">{run.id}</span> <StateBadge state={run.state} />
        </div>
        {mayAct && run.state === 'running' && (
          <button
            type="button"
            className="danger"
            onClick={() => {
              if (!window.confirm(`Cancel every unfinished task of ${run.name}?`)) return;
              api.cancelRun(run.id).then(
                () => refetch.current?.request(),
                (e: Error) => setActionError(e.message),
              );
            }}
          >
            Cancel run
          </button>
        )}
      </div>
      {actionError !== null && <p role="alert">{actionError}</p>}
      <MergeRun run={run} tasks={model.tasks} scopes={scopes} />
      <div className="panels">
        <RunStats model={model} progress={progress} />
        <CostPanel runId={run.id} version={costVersion} running={run.state === 'running'} />
      </div>
      <div className="toolbar">
        <fieldset className="segmented">
          <legend className="sr-only">View</legend>
          <label>
            <input
              type="radio"
              name="view"
              checked={view === 'graph'}
              onChange={() => setView('graph')}
            />{' '}
            Graph
          </label>
          <label>
            <input
              type="radio"
              name="view"
              checked={view === 'list'}
              onChange={() => setView('list')}
            />{' '}
            List
          </label>
        </fieldset>
        {view === 'graph' && epics.length > 0 && (
          <>
            <button type="button" onClick={() => setCollapsed(new Set())}>
              Expand all epics
            </button>
            <button type="button" onClick={() => setCollapsed(new Set(epics))}>
              Collapse all epics
            </button>
          </>
        )}
        <Legend />
      </div>
      {view === 'graph' ? (
        <RunGraph
          tasks={layoutTasks}
          store={store}
          levels={model.levels}
          criticalPath={model.criticalPath}
          collapsed={collapsed}
          toggle={toggle}
          open={open}
        />
      ) : (
        <TaskList tasks={model.tasks} critical={model.criticalPath} open={open} />
      )}
      <EventFeed events={feed} />
      {taskId !== null && (
        <TaskDrawer
          taskId={taskId}
          runId={run.id}
          runTasks={model.tasks}
          scopes={scopes}
          live={model.tasks.get(taskId)?.state ?? null}
          onClose={() => {
            window.location.hash = `#/runs/${runId}`;
          }}
          onChanged={() => refetch.current?.request()}
        />
      )}
    </section>
  );
}

function Legend() {
  return (
    <ul className="legend" aria-label="States">
      {TASK_STATES.map((s) => (
        <li key={s} className={`badge s-${s}`}>
          <span aria-hidden="true">{STATE_ICON[s]}</span> {s}
        </li>
      ))}
      <li className="badge critical-key">critical path</li>
    </ul>
  );
}

/** Progress, elapsed, ETA and speed-up, recomputed each second from the run's tasks. */
function RunStats({ model, progress }: { model: Model; progress: RunRecord['progress'] }) {
  const [now, setNow] = useState(Date.now());
  const [history, setHistory] = useState<{ type: string; model: string | null; runMs: number }[]>(
    [],
  );
  const running = model.run.state === 'running';
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);

  // Past run times of the run's task types (the last 500 succeeded tasks of each), once.
  const types = useMemo(
    () => [...new Set([...model.tasks.values()].map((t) => t.type))].sort().join(','),
    [model.tasks],
  );
  useEffect(() => {
    let cancelled = false;
    void Promise.all(
      types
        .split(',')
        .filter((t) => t !== '')
        .map((type) =>
          api.tasks({ type, state: 'succeeded', limit: 500 }).then(
            (page) => page.tasks,
            () => [] as TaskRecord[],
          ),
        ),
    ).then((pages) => {
      if (cancelled) return;
      setHistory(
        pages
          .flat()
          .flatMap((t) =>
            t.startedAt !== null && t.finishedAt !== null && t.runId !== model.run.id
              ? [{ type: t.type, model: modelOf(t.payload), runMs: t.finishedAt - t.startedAt }]
              : [],
          ),
      );
    });
    return () => {
      cancelled = true;
    };
  }, [types, model.run.id]);

  const tasks: (EtaTask & { finishedAt: number | null })[] = [...model.tasks.values()];
  const own = tasks.flatMap((t) =>
    t.state === 'succeeded' && t.startedAt !== null && t.finishedAt !== null
      ? [{ type: t.type, model: modelOf(t.payload), runMs: t.finishedAt - t.startedAt }]
      : [],
  );
  const { byTask, sources } = expectedDurations(tasks, [...history, ...own]);
  const end = model.run.finishedAt ?? (running ? now : model.run.createdAt);
  const elapsed = Math.max(0, end - model.run.createdAt);
  const eta = running ? remainingMs(tasks, model.levels, byTask, now) : 0;
  const defaults = [...sources.values()].filter((s) => s === 'default').length;
  let busy = 0;
  for (const t of tasks) {
    if (t.startedAt === null) continue;
    if (t.finishedAt !== null && TERMINAL.has(t.state)) busy += t.finishedAt - t.startedAt;
    else if (t.state === 'running') busy += now - t.startedAt;
  }
  const speedup = elapsed > 0 ? busy / elapsed : 0;

  return (
    <section className="panel" aria-labelledby="progress-title">
      <h2 id="progress-title">Progress</h2>
      <ProgressBar progress={progress} />
      <dl className="facts">
        <div>
          <dt>Elapsed</dt>
          <dd data-testid="elapsed">{duration(elapsed)}</dd>
        </div>
        <div>
          <dt>ETA</dt>
          <dd data-testid="eta">
            {running ? duration(eta) : '—'}
            {running && defaults > 0 && (
              <span className="muted">
                {' '}
                ({defaults} task{defaults === 1 ? '' : 's'} without history counted at 30s)
              </span>
            )}
          </dd>
        </div>
        <div>
          <dt>Speed-up so far</dt>
          <dd>×{speedup.toFixed(1)}</dd>
        </div>
        <div>
          <dt>Critical path</dt>
          <dd>{model.criticalPath.length} tasks</dd>
        </div>
      </dl>
    </section>
  );
}

/** What the run's model calls cost: spent against the budget, by epic, agent and model. */
function CostPanel({
  runId,
  version,
  running,
}: {
  runId: string;
  version: number;
  running: boolean;
}) {
  const [reports, setReports] = useState<{
    epic: CostReport;
    agent: CostReport;
    model: CostReport;
  } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!running) return;
    // Reservations come and go without events: look again every 5 s while the run runs.
    const timer = setInterval(() => setTick((t) => t + 1), 5000);
    return () => clearInterval(timer);
  }, [running]);
  useEffect(() => {
    let cancelled = false;
    Promise.all([
      api.costs({ run: runId, by: 'epic' }),
      api.costs({ run: runId, by: 'agent' }),
      api.costs({ run: runId, by: 'model' }),
    ]).then(
      ([epic, agent, model]) => {
        if (!cancelled) {
          setReports({ epic, agent, model });
          setError(null);
        }
      },
      (e: Error) => !cancelled && setError(e.message),
    );
    return () => {
      cancelled = true;
    };
  }, [runId, version, tick]);

  if (error !== null) {
    return (
      <section className="panel" aria-labelledby="cost-title">
        <h2 id="cost-title">Cost</h2>
        <p role="alert">{error}</p>
      </section>
    );
  }
  if (reports === null) return <section className="panel">Loading costs…</section>;
  const { total, budget } = reports.epic;
  return (
    <section className="panel" aria-labelledby="cost-title" data-testid="cost">
      <h2 id="cost-title">Cost</h2>
      <p className="big">
        <span data-testid="cost-total" data-cost-usd={total.costUsd}>
          {usd(total.costUsd)}
        </span>{' '}
        <span className="muted">
          spent in {total.calls} model call{total.calls === 1 ? '' : 's'}
        </span>
      </p>
      {budget !== null ? (
        <>
          <CostBar spent={budget.spentUsd} reserved={budget.reservedUsd} limit={budget.limitUsd} />
          <p className="muted" data-testid="budget" data-limit-usd={budget.limitUsd}>
            {usd(budget.spentUsd)} of {usd(budget.limitUsd)} budget · {usd(budget.reservedUsd)}{' '}
            reserved by calls in flight · {usd(budget.leftUsd)} left
          </p>
        </>
      ) : (
        <p className="muted">No budget on this run.</p>
      )}
      {total.calls > 0 && (
        <div className="breakdowns">
          <Breakdown title="By epic" report={reports.epic} />
          <Breakdown title="By agent" report={reports.agent} />
          <Breakdown title="By model" report={reports.model} />
        </div>
      )}
    </section>
  );
}

function Breakdown({ title, report }: { title: string; report: CostReport }) {
  return (
    <table className="grid small" data-testid={`cost-by-${report.by ?? ''}`}>
      <caption>{title}</caption>
      <thead>
        <tr>
          <th scope="col">{report.by}</th>
          <th scope="col">Calls</th>
          <th scope="col">Cost</th>
        </tr>
      </thead>
      <tbody>
        {report.groups.map((g) => (
          <tr key={g.key ?? '-'}>
            <th scope="row">{g.key ?? '(none)'}</th>
            <td>{g.calls}</td>
            <td data-cost-usd={g.costUsd}>{usd(g.costUsd)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The run's tasks as a table, a page at a time: the accessible view of a large run. */
function TaskList({
  tasks,
  critical,
  open,
}: {
  tasks: ReadonlyMap<string, TaskRecord>;
  critical: string[];
  open: (id: string) => void;
}) {
  const [page, setPage] = useState(0);
  const [state, setState] = useState('');
  const onPath = useMemo(() => new Set(critical), [critical]);
  const all = [...tasks.values()].filter((t) => state === '' || t.state === state);
  const pages = Math.max(1, Math.ceil(all.length / LIST_PAGE));
  const shown = all.slice(page * LIST_PAGE, (page + 1) * LIST_PAGE);
  return (
    <div>
      <label>
        State{' '}
        <select
          value={state}
          onChange={(e) => {
            setState(e.target.value);
            setPage(0);
          }}
        >
          <option value="">any</option>
          {TASK_STATES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <table className="grid" data-testid="task-list">
        <caption className="sr-only">Tasks of the run</caption>
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Epic</th>
            <th scope="col">State</th>
            <th scope="col">Attempts</th>
            <th scope="col">Ran for</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((t) => (
            <tr key={t.id} data-task-key={t.key ?? ''} data-state={t.state}>
              <th scope="row">
                <button type="button" className="link" onClick={() => open(t.id)}>
                  {t.key ?? t.id}
                </button>
                {onPath.has(t.id) && <span className="muted"> (critical path)</span>}
              </th>
              <td>{t.epic ?? '—'}</td>
              <td>
                <StateBadge state={t.state} />
              </td>
              <td>{t.attempts}</td>
              <td>
                {t.startedAt === null ? '—' : duration((t.finishedAt ?? Date.now()) - t.startedAt)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav className="pager" aria-label="Pages of tasks">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Previous
        </button>
        <span>
          Page {page + 1} of {pages}
        </span>
        <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
          Next
        </button>
      </nav>
    </div>
  );
}

function EventFeed({ events }: { events: BatonEvent[] }) {
  return (
    <section aria-labelledby="feed-title" className="feed">
      <h2 id="feed-title">Events since this page opened</h2>
      {events.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <ol data-testid="feed" reversed>
          {events.map((e) => (
            <li key={e.id} data-event-id={e.id} data-type={e.type}>
              <time dateTime={new Date(e.at).toISOString()}>
                {new Date(e.at).toLocaleTimeString()}
              </time>{' '}
              <span className="mono">{e.type}</span>
              {e.taskId !== null && <span className="muted mono"> {e.taskId}</span>}
              {e.agentId !== null && <span className="muted"> by {e.agentId}</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
