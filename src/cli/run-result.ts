/**
 * The run's aggregated result as `baton status` and `baton run` print it (docs/planner.md): each
 * sink's (or `aggregate: true` task's) result on its own line, strings as they are.
 */
import type { RunResult } from '../core/run-result.ts';
import type { Json } from '../core/types.ts';

/** Longest result shown in text; `--json` has them whole. */
const MAX_SHOWN = 2000;

/** `result (sinks):` and one line per task; null for a run without one. */
export function renderRunResult(result: RunResult | null): string | null {
  if (result === null) return null;
  const entries = Object.entries(result.results);
  // Nothing to show yet (or ever, for a run whose final tasks failed): the failures say why.
  if (entries.every(([, value]) => value === null)) return null;
  const head = `result (${result.from === 'aggregate' ? 'aggregate tasks' : 'sinks'}):`;
  return [head, ...entries.map(([key, value]) => `  ${key}: ${show(value)}`)].join('\n');
}

function show(value: Json | null): string {
  if (value === null) return '-';
  const text = typeof value === 'string' ? value.trim() : JSON.stringify(value);
  const flat = text.replace(/\n/g, '\n    ');
  return flat.length > MAX_SHOWN ? `${flat.slice(0, MAX_SHOWN)}… (see --json)` : flat;
}
