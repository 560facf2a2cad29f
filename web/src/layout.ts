/**
 * The run graph's layout, decided here rather than by a general graph layouter: a column
 * (swimlane) per epic, a row per DAG level (the levels the server computes with core's Kahn
 * order), so a card's place says what it belongs to and when it can run. A level's tasks of one
 * epic sit side by side, wrapping after {@link PER_ROW}. A collapsed epic shows one summary card
 * per level instead of its tasks, which keeps a 2,000-task run to a few hundred nodes.
 *
 * Also the ETA: the remaining critical path, each task weighted by its expected duration.
 * Pure functions of the run's data: no DOM, no React.
 */
export interface LayoutTask {
  id: string;
  key: string | null;
  epic: string | null;
  state: string;
  dependsOn: readonly { key: string; soft: boolean }[];
}

export const CARD_W = 184;
export const CARD_H = 56;
const GAP_X = 16;
const GAP_Y = 28;
const LANE_PAD = 16;
/** Cards of one epic and level on one line before wrapping. */
export const PER_ROW = 4;
/** The lane of tasks without an epic. */
export const NO_EPIC = '(no epic)';

export interface LaneBox {
  epic: string;
  x: number;
  width: number;
  tasks: number;
  collapsed: boolean;
}

export type LayoutNode =
  | { kind: 'task'; id: string; taskId: string; x: number; y: number; critical: boolean }
  | {
      kind: 'summary';
      id: string;
      epic: string;
      level: number;
      x: number;
      y: number;
      taskIds: string[];
      critical: boolean;
    };

export interface LayoutEdge {
  id: string;
  source: string;
  target: string;
  critical: boolean;
  soft: boolean;
}

export interface Layout {
  lanes: LaneBox[];
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  height: number;
  width: number;
}

const epicOf = (t: LayoutTask): string => t.epic ?? NO_EPIC;

/** Lay out the run: `levels` are task ids per level (the server's), `collapsed` epics by name. */
export function layoutRun(
  tasks: readonly LayoutTask[],
  levels: readonly (readonly string[])[],
  criticalPath: readonly string[],
  collapsed: ReadonlySet<string>,
): Layout {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const idByKey = new Map<string, string>();
  for (const t of tasks) if (t.key !== null) idByKey.set(t.key, t.id);
  const levelOf = new Map<string, number>();
  levels.forEach((ids, level) => ids.forEach((id) => levelOf.set(id, level)));
  const critical = new Set(criticalPath);

  const epics: string[] = [];
  const seen = new Set<string>();
  for (const t of tasks) {
    const e = epicOf(t);
    if (!seen.has(e)) {
      seen.add(e);
      epics.push(e);
    }
  }
  const levelCount = Math.max(levels.length, 1);
  // cells[epic][level] = task ids
  const cells = new Map<string, string[][]>();
  for (const e of epics)
    cells.set(
      e,
      Array.from({ length: levelCount }, () => []),
    );
  for (const t of tasks) cells.get(epicOf(t))![levelOf.get(t.id) ?? 0]!.push(t.id);

  // Columns: as wide as the fullest cell of the lane (up to PER_ROW cards).
  const lanes: LaneBox[] = [];
  let x = 0;
  for (const e of epics) {
    const isCollapsed = collapsed.has(e);
    const widest = isCollapsed ? 1 : Math.max(1, ...cells.get(e)!.map((c) => c.length));
    const perRow = Math.min(PER_ROW, widest);
    const width = perRow * CARD_W + (perRow - 1) * GAP_X + 2 * LANE_PAD;
    const count = cells.get(e)!.reduce((n, c) => n + c.length, 0);
    lanes.push({ epic: e, x, width, tasks: count, collapsed: isCollapsed });
    x += width + GAP_X;
  }
  // Rows: as tall as the cell that wraps most at that level.
  const rowY: number[] = [];
  let y = 0;
  for (let level = 0; level < levelCount; level++) {
    rowY.push(y);
    let lines = 1;
    for (const e of epics) {
      if (collapsed.has(e)) continue;
      lines = Math.max(lines, Math.ceil(cells.get(e)![level]!.length / PER_ROW));
    }
    y += lines * (CARD_H + GAP_Y) + GAP_Y;
  }

  const nodes: LayoutNode[] = [];
  const nodeOfTask = new Map<string, string>();
  lanes.forEach((lane) => {
    cells.get(lane.epic)!.forEach((ids, level) => {
      if (ids.length === 0) return;
      if (lane.collapsed) {
        const id = `summary:${lane.epic}:${level}`;
        for (const t of ids) nodeOfTask.set(t, id);
        nodes.push({
          kind: 'summary',
          id,
          epic: lane.epic,
          level,
          x: lane.x + LANE_PAD,
          y: rowY[level]! + GAP_Y,
          taskIds: ids,
          critical: ids.some((t) => critical.has(t)),
        });
        return;
      }
      ids.forEach((taskId, i) => {
        nodeOfTask.set(taskId, taskId);
        nodes.push({
          kind: 'task',
          id: taskId,
          taskId,
          x: lane.x + LANE_PAD + (i % PER_ROW) * (CARD_W + GAP_X),
          y: rowY[level]! + GAP_Y + Math.floor(i / PER_ROW) * (CARD_H + GAP_Y),
          critical: critical.has(taskId),
        });
      });
    });
  });

  // Edges from each dependency to its dependent; between summaries, one edge per pair of cells.
  const criticalNext = new Map<string, string>();
  for (let i = 0; i + 1 < criticalPath.length; i++) {
    criticalNext.set(criticalPath[i]!, criticalPath[i + 1]!);
  }
  const edges = new Map<string, LayoutEdge>();
  for (const t of tasks) {
    for (const dep of t.dependsOn) {
      const from = idByKey.get(dep.key);
      if (from === undefined || !byId.has(from)) continue;
      const source = nodeOfTask.get(from);
      const target = nodeOfTask.get(t.id);
      if (source === undefined || target === undefined || source === target) continue;
      const id = `${source}->${target}`;
      const isCritical = criticalNext.get(from) === t.id;
      const existing = edges.get(id);
      if (existing === undefined) {
        edges.set(id, { id, source, target, critical: isCritical, soft: dep.soft });
      } else if (isCritical) {
        existing.critical = true;
      }
    }
  }
  return { lanes, nodes, edges: [...edges.values()], height: y, width: Math.max(0, x - GAP_X) };
}

/** A task's place in the ETA: its expected duration, and since when it runs (if it does). */
export interface EtaTask extends LayoutTask {
  type: string;
  startedAt: number | null;
  payload: unknown;
}

/** The model an llm task asked for, when its payload names one. */
export function modelOf(payload: unknown): string | null {
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
    const model = (payload as Record<string, unknown>).model;
    if (typeof model === 'string') return model;
  }
  return null;
}

/** The median of some numbers (null for none). */
export function p50(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Expected duration of a task where its type (and model) has no history. */
export const DEFAULT_EXPECTED_MS = 30_000;

/**
 * Expected duration per task, from past run times: the p50 of its type and model when that has
 * history, else of its type, else {@link DEFAULT_EXPECTED_MS}.
 */
export function expectedDurations(
  tasks: readonly EtaTask[],
  history: readonly { type: string; model: string | null; runMs: number }[],
): { byTask: Map<string, number>; sources: Map<string, 'model' | 'type' | 'default'> } {
  const byTypeModel = new Map<string, number[]>();
  const byType = new Map<string, number[]>();
  for (const h of history) {
    const k = `${h.type}\0${h.model ?? ''}`;
    (byTypeModel.get(k) ?? byTypeModel.set(k, []).get(k)!).push(h.runMs);
    (byType.get(h.type) ?? byType.set(h.type, []).get(h.type)!).push(h.runMs);
  }
  const byTask = new Map<string, number>();
  const sources = new Map<string, 'model' | 'type' | 'default'>();
  for (const t of tasks) {
    const model = modelOf(t.payload);
    const withModel = model === null ? null : p50(byTypeModel.get(`${t.type}\0${model}`) ?? []);
    const ofType = p50(byType.get(t.type) ?? []);
    if (withModel !== null) {
      byTask.set(t.id, withModel);
      sources.set(t.id, 'model');
    } else if (ofType !== null) {
      byTask.set(t.id, ofType);
      sources.set(t.id, 'type');
    } else {
      byTask.set(t.id, DEFAULT_EXPECTED_MS);
      sources.set(t.id, 'default');
    }
  }
  return { byTask, sources };
}

const DONE = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

/**
 * The remaining critical path in ms: the longest chain of unfinished tasks, each weighing its
 * expected duration (a running task only what is left of it). Finished tasks weigh nothing.
 * `levels` give a topological order.
 */
export function remainingMs(
  tasks: readonly EtaTask[],
  levels: readonly (readonly string[])[],
  expected: ReadonlyMap<string, number>,
  now: number,
): number {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const idByKey = new Map<string, string>();
  for (const t of tasks) if (t.key !== null) idByKey.set(t.key, t.id);
  const finish = new Map<string, number>();
  let longest = 0;
  for (const ids of levels) {
    for (const id of ids) {
      const t = byId.get(id);
      if (t === undefined) continue;
      let start = 0;
      for (const dep of t.dependsOn) {
        const d = idByKey.get(dep.key);
        if (d !== undefined) start = Math.max(start, finish.get(d) ?? 0);
      }
      let weight = 0;
      if (!DONE.has(t.state)) {
        const e = expected.get(id) ?? DEFAULT_EXPECTED_MS;
        weight =
          t.state === 'running' && t.startedAt !== null ? Math.max(0, e - (now - t.startedAt)) : e;
      }
      const end = start + weight;
      finish.set(id, end);
      longest = Math.max(longest, end);
    }
  }
  return longest;
}
