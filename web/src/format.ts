/**
 * How the dashboard writes states, times and money. A state always has an icon and a word as
 * well as a colour, so colour never carries the meaning alone.
 */
import type { TaskState } from './api.ts';

export const STATE_ICON: Record<string, string> = {
  blocked: '‖',
  delayed: '◷',
  ready: '○',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  skipped: '↷',
  cancelled: '⊘',
};

export const TASK_STATES: TaskState[] = [
  'blocked',
  'delayed',
  'ready',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
];

export const TERMINAL = new Set<string>(['succeeded', 'failed', 'skipped', 'cancelled']);

/** The state a task event moves its task to; null for events that do not move it. */
export function stateAfter(type: string, data: Record<string, unknown>): TaskState | null {
  switch (type) {
    case 'task.submitted':
      return typeof data.state === 'string' ? data.state : null;
    case 'task.ready':
    case 'task.retried':
      return 'ready';
    case 'task.delayed':
    case 'task.retrying':
      return 'delayed';
    case 'task.released':
      return typeof data.delayMs === 'number' && data.delayMs > 0 ? 'delayed' : 'ready';
    case 'task.claimed':
      return 'running';
    case 'task.succeeded':
      return 'succeeded';
    case 'task.failed':
      return 'failed';
    case 'task.skipped':
      return 'skipped';
    case 'task.cancelled':
      return 'cancelled';
    case 'task.revived':
      return 'blocked';
    default:
      return null;
  }
}

/** `1h 02m`, `3m 05s`, `4.2s`, `350ms`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** US dollars: cents for sums over a dollar, six decimals below (model calls cost fractions). */
export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (value === 0) return '$0';
  return value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(6)}`;
}

export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toLocaleString();
}

/** `2m ago`. */
export function ago(ms: number, now = Date.now()): string {
  return `${duration(now - ms)} ago`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(0)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`;
}

/** JSON pretty-printed, cut at `max` characters with a note saying how much was left out. */
export function prettyJson(value: unknown, max = 20_000): string {
  const text = JSON.stringify(value, null, 2) ?? 'null';
  return text.length <= max
    ? text
    : `${text.slice(0, max)}\n… (${text.length - max} more characters not shown)`;
}
