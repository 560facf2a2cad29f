/** Reading whole lists through the backend's pages. */
import type { TaskFilter } from '../../backends/backend.ts';
import type { RunRecord, TaskRecord } from '../../core/types.ts';
import type { Baton } from '../../runtime/baton.ts';

/** The backend's largest page. */
const PAGE = 1000;

/** Tasks matching `filter`, in submission order, up to `limit` (all when absent). */
export async function collectTasks(
  baton: Baton,
  filter: Omit<TaskFilter, 'limit' | 'cursor'>,
  limit = Number.POSITIVE_INFINITY,
): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await baton.tasks({
      ...filter,
      limit: Math.min(PAGE, limit - tasks.length),
      ...(cursor === null ? {} : { cursor }),
    });
    tasks.push(...page.tasks);
    cursor = page.nextCursor;
  } while (cursor !== null && tasks.length < limit);
  return tasks;
}

/**
 * The `limit` most recent runs, newest first: the newest-first listing read only as far as
 * needed (one page for any usual limit), however many runs the store holds.
 */
export async function recentRuns(baton: Baton, limit: number): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await baton.runs({
      order: 'desc',
      limit: Math.min(PAGE, limit - runs.length),
      ...(cursor === null ? {} : { cursor }),
    });
    runs.push(...page.runs);
    cursor = page.nextCursor;
  } while (cursor !== null && runs.length < limit);
  return runs;
}

/** Display names of the store's agents (their `name`, or the id when they have none). */
export async function agentLabels(baton: Baton): Promise<(agentId: string) => string> {
  const names = new Map((await baton.agents()).map((a) => [a.id, a.name]));
  return (id) => names.get(id) ?? id;
}
