/**
 * The run's tasks, by id, with a subscription per task: a card re-renders when its own task
 * changes and nothing else does. The graph's node list then changes only when the layout does,
 * so an event in a 2,000-task run repaints one card instead of handing React Flow 2,000 nodes.
 */
import { useCallback, useSyncExternalStore } from 'react';

import type { TaskRecord } from './api.ts';

export class TaskStore {
  #tasks = new Map<string, TaskRecord>();
  readonly #listeners = new Map<string, Set<() => void>>();

  get(id: string): TaskRecord | undefined {
    return this.#tasks.get(id);
  }

  /**
   * Replace every task; notifies only the tasks whose record changed (a refetch of a large run
   * repaints the cards that moved, not all of them).
   */
  replace(tasks: ReadonlyMap<string, TaskRecord>): void {
    const before = this.#tasks;
    this.#tasks = new Map();
    for (const [id, task] of tasks) {
      const old = before.get(id);
      const same =
        old !== undefined &&
        old.updatedAt === task.updatedAt &&
        old.state === task.state &&
        old.attempts === task.attempts;
      this.#tasks.set(id, same ? old : task);
      if (!same) this.#notify(id);
    }
  }

  set(task: TaskRecord): void {
    this.#tasks.set(task.id, task);
    this.#notify(task.id);
  }

  subscribe(ids: readonly string[], listener: () => void): () => void {
    for (const id of ids) {
      let set = this.#listeners.get(id);
      if (set === undefined) this.#listeners.set(id, (set = new Set()));
      set.add(listener);
    }
    return () => {
      for (const id of ids) this.#listeners.get(id)?.delete(listener);
    };
  }

  #notify(id: string): void {
    for (const l of this.#listeners.get(id) ?? []) l();
  }
}

/** The task's record, re-rendering when it changes. */
export function useTask(store: TaskStore, id: string): TaskRecord | undefined {
  const subscribe = useCallback((l: () => void) => store.subscribe([id], l), [store, id]);
  return useSyncExternalStore(subscribe, () => store.get(id));
}

/** Counts of the tasks' states as `[state, count]` pairs, re-rendering when they change. */
export function useStateCounts(store: TaskStore, ids: readonly string[]): [string, number][] {
  const subscribe = useCallback((l: () => void) => store.subscribe(ids, l), [store, ids]);
  const key = useSyncExternalStore(subscribe, () => {
    const counts = new Map<string, number>();
    for (const id of ids) {
      const s = store.get(id)?.state ?? 'blocked';
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    // A string, so an unchanged snapshot compares equal.
    return JSON.stringify([...counts.entries()].sort());
  });
  return JSON.parse(key) as [string, number][];
}
