/** Small pieces shared by the pages: progress bars, state badges, the cost bar. */
import type { RunRecord } from './api.ts';
import { STATE_ICON, usd } from './format.ts';

const BAR_STATES = ['succeeded', 'failed', 'skipped', 'cancelled', 'running'] as const;

/** A run's progress: segments per state, and the numbers in words for screen readers. */
export function ProgressBar({ progress }: { progress: RunRecord['progress'] }) {
  const total = Math.max(progress.total, 1);
  const parts = BAR_STATES.map((s) => [s, progress.byState[s] ?? 0] as const).filter(
    ([, n]) => n > 0,
  );
  const label = `${progress.done} of ${progress.total} tasks finished${parts.length > 0 ? `: ${parts.map(([s, n]) => `${n} ${s}`).join(', ')}` : ''}`;
  return (
    <div className="progress">
      <div
        className="bar"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={progress.total}
        aria-valuenow={progress.done}
      >
        {parts.map(([s, n]) => (
          <span key={s} className={`seg s-${s}`} style={{ width: `${(n / total) * 100}%` }} />
        ))}
      </div>
      <span className="muted">
        {progress.done}/{progress.total}
      </span>
    </div>
  );
}

export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`badge s-${state}`} data-state={state}>
      <span aria-hidden="true">{STATE_ICON[state] ?? '•'}</span> {state}
    </span>
  );
}

/**
 * Spent against the budget, with the reservations of calls in flight as a band after the spent
 * part (they are held against the budget until the calls settle).
 */
export function CostBar({
  spent,
  reserved,
  limit,
}: {
  spent: number;
  reserved: number;
  limit: number;
}) {
  const pct = (v: number) => `${Math.min(100, (v / Math.max(limit, 1e-12)) * 100)}%`;
  return (
    <div
      className="costbar"
      role="meter"
      aria-label={`${usd(spent)} spent and ${usd(reserved)} reserved of a ${usd(limit)} budget`}
      aria-valuemin={0}
      aria-valuemax={limit}
      aria-valuenow={spent}
    >
      <span className="spent" style={{ width: pct(spent) }} />
      <span className="reserved" style={{ width: pct(reserved) }} />
    </div>
  );
}

/** A submit page as a token without the `submit` scope sees it: its title, and why no form. */
export function NoSubmitScope({ id, title }: { id: string; title: string }) {
  return (
    <section aria-labelledby={id}>
      <h1 id={id}>{title}</h1>
      <p data-testid="no-submit">
        This token may read but not submit (it lacks the <code>submit</code> scope).
      </p>
    </section>
  );
}
