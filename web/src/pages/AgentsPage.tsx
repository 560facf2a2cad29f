/**
 * The agents: capabilities, labels, health, load against slots, CPU and memory, tasks completed
 * and failed, current tasks, last heartbeat; filtered by capability and health. Refetched on
 * agent events (at most once a second) and every 5 s, since heartbeats make no events. Below, the
 * last 50 pool scaling events: the history read once when the page opens
 * (`GET /v1/events/recent`), then the live ones from the event stream.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';

import { api, type AgentRecord, type BatonEvent } from '../api.ts';
import { Throttled, useEvents } from '../events.ts';
import { ago, bytes } from '../format.ts';

const POOL_TYPES = 'pool.scaled_up,pool.scaled_down,pool.restarted';
const POOL_SHOWN = 50;

const HEALTH_ICON: Record<string, string> = {
  ok: '✓',
  stalled: '⚠',
  degraded: '⚠',
  lost: '✗',
  stopped: '■',
};

export function AgentsPage() {
  const [agents, setAgents] = useState<AgentRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [capability, setCapability] = useState('');
  const [health, setHealth] = useState('');
  // Live pool events (newest first) and the history read when the page opened.
  const [livePool, setLivePool] = useState<BatonEvent[]>([]);
  const [history, setHistory] = useState<BatonEvent[] | null>(null);
  const [historyError, setHistoryError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());

  const load = useCallback(async () => {
    try {
      setAgents((await api.agents()).agents);
      setNow(Date.now());
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);
  const throttle = useRef(new Throttled(() => void load(), 1000));
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 5000);
    const t = throttle.current;
    return () => {
      clearInterval(timer);
      t.cancel();
    };
  }, [load]);
  useEffect(() => {
    let live = true;
    api.recentEvents({ type: POOL_TYPES, limit: POOL_SHOWN }).then(
      (r) => live && setHistory(r.events),
      (e: unknown) => live && setHistoryError((e as Error).message),
    );
    return () => {
      live = false;
    };
  }, []);
  useEvents((event) => {
    if (event.type.startsWith('pool.')) setLivePool((p) => [event, ...p].slice(0, POOL_SHOWN));
    if (
      event.type.startsWith('agent.') ||
      event.type === 'task.claimed' ||
      event.type === 'task.succeeded' ||
      event.type === 'task.failed'
    ) {
      throttle.current.request();
    }
  });

  // The stream started when the page opened, so every history event not seen live is older.
  const pool = useMemo(() => {
    const seen = new Set(livePool.map((e) => e.id));
    return [...livePool, ...(history ?? []).filter((e) => !seen.has(e.id))].slice(0, POOL_SHOWN);
  }, [livePool, history]);

  const capabilities = useMemo(
    () => [...new Set((agents ?? []).flatMap((a) => a.capabilities))].sort(),
    [agents],
  );
  const shown = (agents ?? []).filter(
    (a) =>
      (capability === '' || a.capabilities.includes(capability)) &&
      (health === '' || a.health === health),
  );

  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Agents</h1>
      <div className="filters" role="search">
        <label>
          Capability{' '}
          <select value={capability} onChange={(e) => setCapability(e.target.value)}>
            <option value="">any</option>
            {capabilities.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          Health{' '}
          <select value={health} onChange={(e) => setHealth(e.target.value)}>
            <option value="">any</option>
            {Object.keys(HEALTH_ICON).map((h) => (
              <option key={h}>{h}</option>
            ))}
          </select>
        </label>
      </div>
      {error !== null && <p role="alert">Could not load the agents: {error}</p>}
      {agents === null ? (
        <p>Loading…</p>
      ) : shown.length === 0 ? (
        <p>
          No agents
          {capability || health ? ' match the filter' : ' yet: start one with npx baton worker'}.
        </p>
      ) : (
        <div className="scroll">
          <table className="grid" data-testid="agents">
            <caption className="sr-only">Agents</caption>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Health</th>
                <th scope="col">Capabilities</th>
                <th scope="col">Labels</th>
                <th scope="col">Load</th>
                <th scope="col">CPU</th>
                <th scope="col">Memory</th>
                <th scope="col">Succeeded</th>
                <th scope="col">Failed</th>
                <th scope="col">Current tasks</th>
                <th scope="col">Last heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((a) => {
                const stats = Object.values(a.stats);
                const ok = stats.reduce((n, s) => n + s.succeeded, 0);
                const failed = stats.reduce((n, s) => n + s.failed, 0);
                return (
                  <tr key={a.id} data-agent-id={a.id} data-health={a.health}>
                    <th scope="row">
                      {a.name}
                      <div className="muted mono">
                        {a.id}
                        {a.host !== null && ` · ${a.host}`}
                        {a.pid !== null && ` · pid ${a.pid}`}
                      </div>
                    </th>
                    <td>
                      <span className={`badge h-${a.health}`}>
                        <span aria-hidden="true">{HEALTH_ICON[a.health] ?? '•'}</span> {a.health}
                      </span>
                    </td>
                    <td>{a.capabilities.join(', ') || '—'}</td>
                    <td>
                      {Object.entries(a.labels)
                        .map(([k, v]) => `${k}=${v}`)
                        .join(', ') || '—'}
                    </td>
                    <td>
                      <meter
                        min={0}
                        max={a.concurrency}
                        value={a.inFlight.length}
                        aria-label={`${a.inFlight.length} of ${a.concurrency} slots busy`}
                      />{' '}
                      {a.inFlight.length}/{a.concurrency}
                    </td>
                    <td>
                      {a.process.cpuPercent === null ? '—' : `${a.process.cpuPercent.toFixed(0)}%`}
                    </td>
                    <td>{bytes(a.process.rssBytes)}</td>
                    <td>{ok}</td>
                    <td>{failed}</td>
                    <td className="mono">{a.inFlight.join(', ') || '—'}</td>
                    <td>{ago(a.lastHeartbeatAt, Math.max(now, a.lastHeartbeatAt))}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <section aria-labelledby="pool-title">
        <h2 id="pool-title">Pool scaling</h2>
        {historyError !== null && (
          <p role="alert">Could not load the earlier pool events: {historyError}</p>
        )}
        {pool.length === 0 ? (
          <p className="muted">{history === null ? 'Loading…' : 'No pool scaling events yet.'}</p>
        ) : (
          <ul data-testid="pool-events">
            {pool.map((e) => (
              <li key={e.id} data-type={e.type} data-worker={e.agentId ?? undefined}>
                {new Date(e.at).toLocaleTimeString()} {e.type} {JSON.stringify(e.data)}
              </li>
            ))}
          </ul>
        )}
      </section>
    </section>
  );
}
