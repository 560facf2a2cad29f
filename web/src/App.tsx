/**
 * The dashboard's shell: sign-in (a token, when the server has tokens), navigation, the live
 * indicator, and the page the URL's hash names (`#/runs/<id>`, `#/agents` …). Hash routes need no
 * server-side fallback: the server serves one index.html.
 */
import { useCallback, useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';

import { ApiError, api, can, storeToken, storedToken, type Scope } from './api.ts';
import { startEvents, stopEvents, useEventStatus } from './events.ts';
import { AgentsPage } from './pages/AgentsPage.tsx';
import { GoalPage } from './pages/GoalPage.tsx';
import { LogsPage } from './pages/LogsPage.tsx';
import { RunPage } from './pages/RunPage.tsx';
import { RunsPage } from './pages/RunsPage.tsx';
import { SubmitPage } from './pages/SubmitPage.tsx';

function useHash(): string {
  return useSyncExternalStore(
    (onChange) => {
      window.addEventListener('hashchange', onChange);
      return () => window.removeEventListener('hashchange', onChange);
    },
    () => window.location.hash,
  );
}

type Auth =
  | { state: 'checking' }
  | { state: 'needs-token'; error: string | null }
  | { state: 'ok'; scopes: Scope[]; open: boolean }
  | { state: 'unreachable'; error: string };

export function App() {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const hash = useHash();

  const check = useCallback(async () => {
    try {
      const info = await api.auth();
      setAuth({ state: 'ok', scopes: info.scopes, open: info.open });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        const presented = storedToken() !== null;
        storeToken(null);
        setAuth({ state: 'needs-token', error: presented ? error.message : null });
      } else {
        setAuth({ state: 'unreachable', error: (error as Error).message });
      }
    }
  }, []);

  useEffect(() => {
    void check();
  }, [check]);

  useEffect(() => {
    if (auth.state !== 'ok') return;
    startEvents();
    return () => stopEvents();
  }, [auth.state]);

  if (auth.state === 'checking') return <p className="centered">Connecting to the Baton server…</p>;
  if (auth.state === 'unreachable') {
    return (
      <main className="centered">
        <h1>Baton</h1>
        <p role="alert">The API did not answer: {auth.error}</p>
        <button type="button" onClick={() => void check()}>
          Try again
        </button>
      </main>
    );
  }
  if (auth.state === 'needs-token') {
    return <SignIn error={auth.error} onToken={(token) => (storeToken(token), void check())} />;
  }

  const route = hash.replace(/^#\/?/, '').split('/');
  let page;
  let current = 'runs';
  if (route[0] === 'runs' && route[1] !== undefined && route[1] !== '') {
    page = (
      <RunPage
        key={route[1]}
        runId={decodeURIComponent(route[1])}
        taskId={route[2] === 'tasks' && route[3] ? decodeURIComponent(route[3]) : null}
        scopes={auth.scopes}
      />
    );
  } else if (route[0] === 'agents') {
    current = 'agents';
    page = <AgentsPage />;
  } else if (route[0] === 'logs') {
    current = 'logs';
    page = <LogsPage />;
  } else if (route[0] === 'submit') {
    current = 'submit';
    page = <SubmitPage scopes={auth.scopes} />;
  } else if (route[0] === 'goal') {
    current = 'goal';
    page = <GoalPage scopes={auth.scopes} />;
  } else {
    page = <RunsPage />;
  }

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand" aria-hidden="true">
          Baton
        </span>
        <nav aria-label="Main">
          <ul>
            <NavLink href="#/runs" label="Runs" current={current === 'runs'} />
            <NavLink href="#/agents" label="Agents" current={current === 'agents'} />
            <NavLink href="#/logs" label="Logs" current={current === 'logs'} />
            {can(auth.scopes, 'submit') && (
              <>
                <NavLink href="#/submit" label="Submit a plan" current={current === 'submit'} />
                <NavLink href="#/goal" label="Submit a goal" current={current === 'goal'} />
              </>
            )}
          </ul>
        </nav>
        <LiveStatus />
        <span className="scopes" data-testid="scopes">
          {auth.open ? 'no auth (loopback)' : `token: ${auth.scopes.join(', ')}`}
        </span>
        {!auth.open && (
          <button
            type="button"
            className="link"
            onClick={() => {
              storeToken(null);
              stopEvents();
              setAuth({ state: 'needs-token', error: null });
            }}
          >
            Sign out
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

function NavLink({ href, label, current }: { href: string; label: string; current: boolean }) {
  return (
    <li>
      <a href={href} aria-current={current ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
}

function LiveStatus() {
  const status = useEventStatus();
  return (
    <span
      className={`live ${status.connected ? 'on' : 'off'}`}
      role="status"
      data-testid="live"
      data-last-event-id={status.lastId ?? ''}
    >
      <span aria-hidden="true">{status.connected ? '●' : '○'}</span>{' '}
      {status.connected ? 'Live' : 'Reconnecting…'} · {status.received} events
    </span>
  );
}

function SignIn({ error, onToken }: { error: string | null; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim() !== '') onToken(token.trim());
  };
  return (
    <main className="centered">
      <h1>Baton</h1>
      <form onSubmit={submit} className="signin">
        <p>This server needs an API token (BATON_API_TOKENS). It is kept in this tab only.</p>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoFocus
        />
        <button type="submit">Sign in</button>
        {error !== null && <p role="alert">{error}</p>}
      </form>
    </main>
  );
}
