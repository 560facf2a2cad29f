/**
 * Submit a plan (the plan file format of `baton run`, YAML or JSON), pasted or read from a file.
 * The server checks it (`POST /v1/runs`); its refusal names lines, shown beside the text with a
 * button per issue that selects its line. A token without `submit` sees no form at all.
 */
import { useRef, useState, type FormEvent } from 'react';

import { ApiError, api, can, type Scope } from '../api.ts';
import { NoSubmitScope } from '../widgets.tsx';

const EXAMPLE = `name: hello
tasks:
  - key: build
    command: echo building
  - key: test
    command: echo testing
    dependsOn: [build]
`;

interface Issue {
  line: number;
  column: number;
  field: string;
  message: string;
}

export function SubmitPage({ scopes }: { scopes: Scope[] }) {
  const [text, setText] = useState('');
  const [issues, setIssues] = useState<Issue[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);

  if (!can(scopes, 'submit')) return <NoSubmitScope id="submit-title" title="Submit a plan" />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setIssues([]);
    setError(null);
    const trimmed = text.trimStart();
    const json = trimmed.startsWith('{');
    try {
      const submitted = await api.submitPlan(text, json ? 'application/json' : 'application/yaml');
      window.location.hash = `#/runs/${submitted.runId}`;
    } catch (err) {
      if (err instanceof ApiError && Array.isArray(err.details.issues)) {
        const list = (err.details.issues as Partial<Issue & { path: string }>[]).map((i) => ({
          line: typeof i.line === 'number' ? i.line : 0,
          column: typeof i.column === 'number' ? i.column : 0,
          field: i.field ?? i.path ?? '',
          message: i.message ?? '',
        }));
        setIssues(list);
      }
      setError(err instanceof ApiError ? `${err.code}: ${err.message}` : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const selectLine = (line: number) => {
    const el = area.current;
    if (el === null || line < 1) return;
    const lines = text.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  };

  const badLines = new Set(issues.map((i) => i.line));
  const lineCount = Math.max(text.split('\n').length, 12);

  return (
    <section aria-labelledby="submit-title">
      <h1 id="submit-title">Submit a plan</h1>
      <form onSubmit={(e) => void submit(e)} className="submit">
        <p>
          A plan file as <code>npx baton run</code> reads it, in YAML or JSON. Its agents are
          ignored: the tasks wait for workers (<code>npx baton worker</code>). Or{' '}
          <a href="#/goal">submit a goal</a> in plain words, for a model to plan.
        </p>
        <label htmlFor="plan-file">Read a file</label>{' '}
        <input
          id="plan-file"
          type="file"
          accept=".yaml,.yml,.json,application/json,application/yaml"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file !== undefined) void file.text().then(setText);
          }}
        />
        <div className="editor">
          <div className="gutter" aria-hidden="true">
            {Array.from({ length: lineCount }, (_, i) => (
              <div key={i} className={badLines.has(i + 1) ? 'bad' : undefined}>
                {i + 1}
              </div>
            ))}
          </div>
          <div className="editor-main">
            <label htmlFor="plan-text">Plan</label>
            <textarea
              id="plan-text"
              ref={area}
              value={text}
              rows={lineCount}
              spellCheck={false}
              placeholder={EXAMPLE}
              aria-invalid={issues.length > 0}
              aria-describedby={issues.length > 0 ? 'plan-issues' : undefined}
              onChange={(e) => setText(e.target.value)}
            />
          </div>
        </div>
        <button type="submit" disabled={busy || text.trim() === ''}>
          Submit plan
        </button>
      </form>
      {error !== null && (
        <div role="alert" className="refusal">
          <p>The server refused the plan.</p>
          {issues.length > 0 ? (
            <ul id="plan-issues" data-testid="plan-issues">
              {issues.map((i, n) => (
                <li key={n} data-line={i.line}>
                  <button type="button" className="link" onClick={() => selectLine(i.line)}>
                    line {i.line}
                    {i.column > 0 ? `:${i.column}` : ''}
                  </button>{' '}
                  {i.field !== '' && <code>{i.field}</code>} {i.message}
                </li>
              ))}
            </ul>
          ) : (
            <pre>{error}</pre>
          )}
        </div>
      )}
    </section>
  );
}
