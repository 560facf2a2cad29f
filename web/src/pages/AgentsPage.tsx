/**
 * The agents: capabilities, labels, health, load against slots, CPU and memory, tasks completed
 * and failed, current tasks, last heartbeat; filtered by capability and health. Refetched on
 * agent events (at most once a second) and every 5 s, since heartbeats make no events. Pool
 * scaling events seen since the page opened are listed below.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';

import { api, type AgentRecord, type BatonEvent } from '../api.ts';
import { Throttled, useEvents } from '../events.ts';
import { ago, bytes } from '../format.ts';

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
  const [pool, setPool] = useState<BatonEvent[]>([]);
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
  useEvents((event) => {
    if (event.type.startsWith('pool.')) setPool((p) => [event, ...p].slice(0, 50));
    if (
      event.type.startsWith('agent.') ||
      event.type === 'task.claimed' ||
      event.type === 'task.succeeded' ||
      event.type === 'task.failed'
    ) {
      throttle.current.request();
    }
  });

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
        {pool.length === 0 ? (
          <p className="muted">No pool events since this page opened.</p>
        ) : (
          <ul>
            {pool.map((e) => (
              <li key={e.id}>
                {new Date(e.at).toLocaleTimeString()} {e.type} {JSON.stringify(e.data)}
              </li>
            ))}
          </ul>
        )}
      </section>
    </section>
  );
}
