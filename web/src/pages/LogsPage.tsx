/**
 * Agent logs (`GET /v1/logs`): log lines across tasks, filtered by agent, least level and a time
 * range, oldest first, a page at a time. "Follow" reads on from the last line every 5 s.
 */
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';

import { api, type AgentRecord, type LogLine } from '../api.ts';

const PAGE = 200;

export function LogsPage() {
  const [agents, setAgents] = useState<AgentRecord[]>([]);
  const [filter, setFilter] = useState({ agent: '', level: '', since: '', until: '' });
  const [draft, setDraft] = useState(filter);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [more, setMore] = useState(false);
  const [follow, setFollow] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const cursor = useRef<number | undefined>(undefined);

  useEffect(() => {
    api.agents().then(
      (l) => setAgents(l.agents),
      () => undefined,
    );
  }, []);

  const query = useCallback(
    () => ({
      ...(filter.agent ? { agent: filter.agent } : {}),
      ...(filter.level ? { level: filter.level } : {}),
      ...(filter.since ? { since: new Date(filter.since).toISOString() } : {}),
      ...(filter.until ? { until: new Date(filter.until).toISOString() } : {}),
    }),
    [filter],
  );

  const readOn = useCallback(
    async (reset: boolean) => {
      try {
        const page = await api.agentLogs({
          ...query(),
          limit: PAGE,
          ...(reset || cursor.current === undefined ? {} : { after: cursor.current }),
        });
        cursor.current = page.cursor;
        setLines((l) => (reset ? page.lines : [...l, ...page.lines].slice(-5000)));
        setMore(page.more);
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    },
    [query],
  );

  useEffect(() => {
    cursor.current = undefined;
    void readOn(true);
  }, [readOn]);

  useEffect(() => {
    if (!follow) return;
    const timer = setInterval(() => void readOn(false), 5000);
    return () => clearInterval(timer);
  }, [follow, readOn]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilter(draft);
  };

  return (
    <section aria-labelledby="logs-title">
      <h1 id="logs-title">Agent logs</h1>
      <form className="filters" onSubmit={apply} role="search">
        <label>
          Agent{' '}
          <select
            value={draft.agent}
            onChange={(e) => setDraft({ ...draft, agent: e.target.value })}
          >
            <option value="">any</option>
            {agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Least level{' '}
          <select
            value={draft.level}
            onChange={(e) => setDraft({ ...draft, level: e.target.value })}
          >
            <option value="">any</option>
            {['debug', 'info', 'warn', 'error'].map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </label>
        <label>
          From{' '}
          <input
            type="datetime-local"
            value={draft.since}
            onChange={(e) => setDraft({ ...draft, since: e.target.value })}
          />
        </label>
        <label>
          Until{' '}
          <input
            type="datetime-local"
            value={draft.until}
            onChange={(e) => setDraft({ ...draft, until: e.target.value })}
          />
        </label>
        <button type="submit">Apply</button>
        <label>
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />{' '}
          Follow (every 5 s)
        </label>
      </form>
      {error !== null && <p role="alert">{error}</p>}
      <pre className="log tall" data-testid="agent-log" tabIndex={0} aria-label="Log lines">
        {lines.length === 0
          ? 'No lines.'
          : lines.map((l) => (
              <span key={`${l.taskId}:${l.seq}`} className={`line ${l.stream} lvl-${l.level}`}>
                <span className="muted">
                  {new Date(l.at).toLocaleTimeString()} {l.level} {l.agentId} {l.taskId}#{l.attempt}
                </span>{' '}
                {l.text}
                {'\n'}
              </span>
            ))}
      </pre>
      {more && (
        <button type="button" onClick={() => void readOn(false)}>
          Load more
        </button>
      )}
    </section>
  );
}
