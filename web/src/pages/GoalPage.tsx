/**
 * Submit a goal (docs/planner.md): a description in plain words and an optional budget, posted
 * to `POST /v1/goals`, which creates a run whose `plan` task a worker plans into tasks. The
 * server's refusal is shown next to the field it names; success opens the new run. A token
 * without `submit` sees no form.
 */
import { useState, type FormEvent } from 'react';

import { GOAL_LIMITS } from '../../../src/core/goal.ts';
import { ApiError, api, can, type Scope } from '../api.ts';
import { NoSubmitScope } from '../widgets.tsx';

type Field = 'description' | 'budget' | 'other';

/** The field a server issue's path names. */
function fieldOf(path: string): Field {
  if (path === 'description' || path.startsWith('description.')) return 'description';
  if (path.startsWith('budget')) return 'budget';
  return 'other';
}

export function GoalPage({ scopes }: { scopes: Scope[] }) {
  const [description, setDescription] = useState('');
  const [budget, setBudget] = useState('');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [busy, setBusy] = useState(false);

  if (!can(scopes, 'submit')) return <NoSubmitScope id="goal-title" title="Submit a goal" />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const usd = budget.trim() === '' ? undefined : Number(budget);
      const submitted = await api.submitGoal({
        description,
        ...(usd === undefined ? {} : { budget: { usd } }),
      });
      window.location.hash = `#/runs/${submitted.runId}/tasks/${submitted.planTaskId}`;
    } catch (err) {
      const found: Partial<Record<Field, string>> = {};
      const issues = err instanceof ApiError ? err.details['issues'] : undefined;
      if (Array.isArray(issues) && issues.length > 0) {
        for (const issue of issues as { path?: unknown; message?: unknown }[]) {
          const path = typeof issue.path === 'string' ? issue.path : '';
          const field = fieldOf(path);
          const message = typeof issue.message === 'string' ? issue.message : '';
          const line = field === 'other' && path !== '' ? `${path}: ${message}` : message;
          found[field] = found[field] === undefined ? line : `${found[field]}\n${line}`;
        }
      } else {
        found.other = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
      }
      setErrors(found);
    } finally {
      setBusy(false);
    }
  };

  const length = [...description.trim()].length;
  return (
    <section aria-labelledby="goal-title">
      <h1 id="goal-title">Submit a goal</h1>
      <form onSubmit={(e) => void submit(e)} className="submit goal" noValidate>
        <p>
          Say what should be done. The run starts with one <code>plan</code> task: a worker with the
          planner (<code>npx baton worker</code> with a model key) asks a model for the tasks, then
          the run goes on with them (<a href="#/submit">or submit a plan you wrote</a>).
        </p>
        <label htmlFor="goal-description">Goal</label>
        <textarea
          id="goal-description"
          value={description}
          rows={6}
          aria-invalid={errors.description !== undefined}
          aria-describedby={`goal-description-rule${errors.description !== undefined ? ' goal-description-error' : ''}`}
          onChange={(e) => setDescription(e.target.value)}
          placeholder="Calculate factorial of 10"
        />
        <p id="goal-description-rule" className="muted" data-testid="goal-rule">
          {GOAL_LIMITS.minChars} to {GOAL_LIMITS.maxChars.toLocaleString('en')} characters (spaces
          at the ends not counted): {length} now.
        </p>
        {errors.description !== undefined && (
          <p
            id="goal-description-error"
            role="alert"
            className="field-error"
            data-testid="goal-description-error"
          >
            {errors.description}
          </p>
        )}
        <label htmlFor="goal-budget">Budget in USD (optional)</label>
        <input
          id="goal-budget"
          type="number"
          min={0}
          step="any"
          inputMode="decimal"
          value={budget}
          aria-invalid={errors.budget !== undefined}
          aria-describedby={errors.budget !== undefined ? 'goal-budget-error' : undefined}
          onChange={(e) => setBudget(e.target.value)}
        />
        {errors.budget !== undefined && (
          <p
            id="goal-budget-error"
            role="alert"
            className="field-error"
            data-testid="goal-budget-error"
          >
            {errors.budget}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Submit goal
        </button>
        {errors.other !== undefined && (
          <p role="alert" className="field-error">
            {errors.other}
          </p>
        )}
      </form>
    </section>
  );
}
