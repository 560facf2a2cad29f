/**
 * The runs, newest first, a page at a time: state, progress, start, duration, cost and budget
 * used (each run of `GET /v1/runs` carries its budget: no request per run). Live: a
 * run or task event of a run on the page refetches the page (at most once a second).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';

import { api, type CostReport, type RunPage } from '../api.ts';
import { Throttled, useEvents } from '../events.ts';
import { STATE_ICON, duration, time, usd } from '../format.ts';
import { CostBar, ProgressBar } from '../widgets.tsx';

const PAGE_SIZE = 25;
const RUN_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;

export function RunsPage() {
  const [runs, setRuns] = useState<RunPage['runs'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [next, setNext] = useState<string | null>(null);
  const [costs, setCosts] = useState<Map<string, number>>(new Map());
  const [stateFilter, setStateFilter] = useState('');
  const [nameFilter, setNameFilter] = useState('');
  const cursor = cursors[cursors.length - 1];

  const load = useCallback(async () => {
    try {
      const [page, report] = await Promise.all([
        api.runs({ cursor, limit: PAGE_SIZE }),
        api.costs({ by: 'run' }).catch(() => null as CostReport | null),
      ]);
      setRuns(page.runs);
      setNext(page.nextCursor);
      if (report !== null) {
        setCosts(new Map(report.groups.map((g) => [g.key ?? '', g.costUsd])));
      }
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [cursor]);

  const throttle = useRef<Throttled | null>(null);
  useEffect(() => {
    throttle.current = new Throttled(() => void load(), 1000);
    void load();
    // Durations of running runs move with the clock; also catches what no event announces.
    const timer = setInterval(() => void load(), 5000);
    return () => {
      clearInterval(timer);
      throttle.current?.cancel();
    };
  }, [load]);

  useEvents((event) => {
    if (event.type.startsWith('run.')) throttle.current?.request();
    else if (event.runId !== null && runs?.some((r) => r.id === event.runId)) {
      throttle.current?.request();
    }
  });

  const shown = useMemo(
    () =>
      (runs ?? []).filter(
        (r) =>
          (stateFilter === '' || r.state === stateFilter) &&
          (nameFilter === '' ||
            r.name.toLowerCase().includes(nameFilter.toLowerCase()) ||
            r.id.includes(nameFilter)),
      ),
    [runs, stateFilter, nameFilter],
  );

  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Runs</h1>
      <div className="filters" role="search">
        <label>
          State{' '}
          <select value={stateFilter} onChange={(e) => setStateFilter(e.target.value)}>
            <option value="">any</option>
            {RUN_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name or id{' '}
          <input type="search" value={nameFilter} onChange={(e) => setNameFilter(e.target.value)} />
        </label>
      </div>
      {error !== null && <p role="alert">Could not load the runs: {error}</p>}
      {runs === null ? (
        <p>Loading…</p>
      ) : shown.length === 0 ? (
        <p>
          No runs{stateFilter || nameFilter ? ' match the filter' : ' yet'}.{' '}
          <a href="#/submit">Submit a plan</a>.
        </p>
      ) : (
        <table className="grid" data-testid="runs">
          <caption className="sr-only">Runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">State</th>
              <th scope="col">Progress</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Cost</th>
              <th scope="col">Budget</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((run) => (
              <tr key={run.id} data-run-id={run.id} data-state={run.state}>
                <th scope="row">
                  <a href={`#/runs/${run.id}`}>{run.name}</a>
                  <div className="muted mono">{run.id}</div>
                </th>
                <td>
                  <span className={`badge s-${run.state}`}>
                    <span aria-hidden="true">{STATE_ICON[run.state] ?? '•'}</span> {run.state}
                  </span>
                </td>
                <td>
                  <ProgressBar progress={run.progress} />
                </td>
                <td>{time(run.createdAt)}</td>
                <td>{duration((run.finishedAt ?? Date.now()) - run.createdAt)}</td>
                <td>{usd(costs.get(run.id) ?? 0)}</td>
                <td data-testid="run-budget">
                  {run.budget === null ? (
                    <>
                      <span aria-hidden="true">—</span>
                      <span className="sr-only">no budget</span>
                    </>
                  ) : (
                    <div className="budget-cell">
                      <span>
                        {usd(run.budget.spentUsd)} of {usd(run.budget.limitUsd)}
                      </span>
                      <CostBar
                        spent={run.budget.spentUsd}
                        reserved={run.budget.reservedUsd}
                        limit={run.budget.limitUsd}
                      />
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages of runs">
        <button
          type="button"
          disabled={cursors.length === 1}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          Newer
        </button>
        <span>Page {cursors.length}</span>
        <button
          type="button"
          disabled={next === null}
          onClick={() => next !== null && setCursors((c) => [...c, next])}
        >
          Older
        </button>
      </nav>
    </section>
  );
}
