/**
 * The dependency graph of a run: validation (duplicate keys, unknown or self dependencies,
 * cycles), a topological order (Kahn), levels, critical paths and width.
 *
 * Everything here is O(V + E) and iterative: a 100 000-task chain must not overflow the stack.
 * Edges run from a dependency to its dependent (the order in which work happens), so a cycle is
 * reported as `build -> test -> package -> build` when `test` depends on `build`, `package` on
 * `test` and `build` on `package`.
 */
import { CycleError, ValidationError, type ValidationIssue } from './errors.ts';
import { didYouMean, formatList } from './text.ts';

/**
 * One task of the graph. A key starting with `#` is anonymous (a task submitted without a key):
 * it takes part in the graph but nothing can depend on it, and it is never suggested in messages.
 */
export interface DagNode {
  key: string;
  dependsOn: readonly { key: string; soft: boolean }[];
}

export interface DagAnalysis {
  /** Every key once, each after all of its dependencies (Kahn, ties in input order). */
  order: string[];
  /** 0 for a task without dependencies inside the batch, else 1 + the highest level among them. */
  levels: Map<string, number>;
  /** Number of tasks on the longest downstream path starting at the key, itself included. */
  criticalPath: Map<string, number>;
  /** The largest number of tasks on one level: how many could run at once, at best. */
  width: number;
}

export interface AnalyzeDagOptions {
  /**
   * Keys that exist outside this batch (tasks already stored in the run, for dynamic graphs).
   * A dependency on one is valid and is not an edge inside the batch; a node reusing one is a
   * duplicate key.
   * @default none
   */
  externalKeys?: ReadonlySet<string>;
  /**
   * How issue paths name the list of nodes, as in `tasks[3].dependsOn[0]`.
   * @default 'tasks'
   */
  pathPrefix?: string;
}

/**
 * Validate and analyse a dependency graph.
 *
 * @throws ValidationError listing every duplicate key (`tasks[i].key`), unknown dependency and
 *   self-dependency (`tasks[i].dependsOn[j]`) at once.
 * @throws CycleError when the graph is otherwise valid but has a cycle; its `cycle` starts at the
 *   member that comes first in `nodes` and repeats it at the end.
 */
export function analyzeDag(
  nodes: readonly DagNode[],
  options: AnalyzeDagOptions = {},
): DagAnalysis {
  const graph = inspectDag(nodes, options);
  throwIfInvalid(graph);
  const analysis: DagAnalysis = {
    order: graph.order.map((i) => keyAt(nodes, i)),
    levels: new Map(),
    criticalPath: new Map(),
    width: graph.width,
  };
  for (let i = 0; i < nodes.length; i++) {
    const key = keyAt(nodes, i);
    analysis.levels.set(key, graph.levels[i] ?? 0);
    analysis.criticalPath.set(key, graph.criticalPath[i] ?? 1);
  }
  return analysis;
}

/**
 * The heaviest path through the graph, where each task weighs `weight(key)` (e.g. its actual
 * duration): the critical-path lower bound on how long a run could have taken with unlimited
 * agents. `path` lists the keys in execution order; negative or non-finite weights count as 0.
 *
 * @throws ValidationError / CycleError as {@link analyzeDag} does.
 */
export function longestPath(
  nodes: readonly DagNode[],
  weight: (key: string) => number,
): { length: number; path: string[] } {
  const graph = inspectDag(nodes, {});
  throwIfInvalid(graph);
  const n = nodes.length;
  const distance = new Float64Array(n);
  const via = new Int32Array(n).fill(-1);
  for (const u of graph.order) {
    let best = 0;
    let bestPred = -1;
    for (const p of graph.predecessors[u] ?? []) {
      const d = distance[p] ?? 0;
      if (bestPred === -1 || d > best) {
        best = d;
        bestPred = p;
      }
    }
    const w = weight(keyAt(nodes, u));
    distance[u] = best + (Number.isFinite(w) && w > 0 ? w : 0);
    via[u] = bestPred;
  }
  let end = -1;
  for (const u of graph.order) {
    if (end === -1 || (distance[u] ?? 0) > (distance[end] ?? 0)) end = u;
  }
  if (end === -1) return { length: 0, path: [] };
  const path: string[] = [];
  for (let u = end; u !== -1; u = via[u] ?? -1) path.push(keyAt(nodes, u));
  path.reverse();
  return { length: distance[end] ?? 0, path };
}

/**
 * What {@link inspectDag} found, by node index. `issues` and `cycle` are reported, not thrown,
 * so the task validator can merge them with its own issues into a single error.
 */
export interface DagInspection {
  issues: ValidationIssue[];
  /** A cycle in execution order, first key repeated at the end; null when there is none. */
  cycle: string[] | null;
  /** Node indices in topological order; shorter than the node list when there is a cycle. */
  order: number[];
  levels: number[];
  criticalPath: number[];
  width: number;
  /** In-batch dependencies of each node, as indices (duplicates collapsed, self-edges dropped). */
  predecessors: number[][];
}

/**
 * The index-based core of {@link analyzeDag}, which never throws. Unknown and self dependencies
 * are left out of the graph, so cycles among the remaining edges are still found.
 */
export function inspectDag(
  nodes: readonly DagNode[],
  options: AnalyzeDagOptions = {},
): DagInspection {
  const prefix = options.pathPrefix ?? 'tasks';
  const external = options.externalKeys;
  const n = nodes.length;
  const issues: ValidationIssue[] = [];

  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = keyAt(nodes, i);
    if (isAnonymous(key)) continue;
    const first = indexOf.get(key);
    if (first !== undefined) {
      issues.push({
        path: `${prefix}[${i}].key`,
        message: `duplicate key '${key}' (${prefix}[${first}] has it too); keys must be unique in a run`,
      });
    } else if (external?.has(key)) {
      issues.push({
        path: `${prefix}[${i}].key`,
        message: `duplicate key '${key}': a task already in this run has it; keys must be unique in a run`,
      });
    } else {
      indexOf.set(key, i);
    }
  }

  const predecessors: number[][] = [];
  const successors: number[][] = Array.from({ length: n }, () => []);
  const inDegree = new Int32Array(n);
  // lastDependent[p] === i when node i already lists p: collapses duplicate entries without a
  // Set per node.
  const lastDependent = new Int32Array(n).fill(-1);
  let knownKeys: string[] | null = null;
  let suggestionsLeft = 50; // typo suggestions scan every key; bound the work on hostile input
  for (let i = 0; i < n; i++) {
    const node = nodes[i];
    const preds: number[] = [];
    const dependsOn = node?.dependsOn ?? [];
    for (let j = 0; j < dependsOn.length; j++) {
      const depKey = dependsOn[j]?.key ?? '';
      if (depKey === node?.key) {
        issues.push({
          path: dependencyPath(prefix, i, j),
          message: `task '${depKey}' depends on itself; remove this entry`,
        });
        continue;
      }
      const p = isAnonymous(depKey) ? undefined : indexOf.get(depKey);
      if (p !== undefined) {
        if (lastDependent[p] !== i) {
          lastDependent[p] = i;
          preds.push(p);
          successors[p]?.push(i);
          inDegree[i] = (inDegree[i] ?? 0) + 1;
        }
        continue;
      }
      if (external?.has(depKey)) continue;
      knownKeys ??= [
        ...indexOf.keys(),
        ...(external ? [...external].filter((k) => !indexOf.has(k)) : []),
      ];
      const hint = suggestionsLeft-- > 0 ? didYouMean(depKey, knownKeys) : '';
      issues.push({
        path: dependencyPath(prefix, i, j),
        message:
          `unknown task key '${depKey}'${hint}` +
          (knownKeys.length === 0
            ? ' (no task has a key; give the task you depend on a key)'
            : ` (known keys: ${formatList(knownKeys)})`),
      });
    }
    predecessors.push(preds);
  }

  // Kahn's algorithm; a FIFO seeded in input order keeps the order stable and readable.
  const levels = new Array<number>(n).fill(0);
  const order: number[] = [];
  const remaining = Int32Array.from(inDegree);
  for (let i = 0; i < n; i++) if (remaining[i] === 0) order.push(i);
  for (let head = 0; head < order.length; head++) {
    const u = order[head] ?? 0;
    const next = (levels[u] ?? 0) + 1;
    for (const v of successors[u] ?? []) {
      if ((levels[v] ?? 0) < next) levels[v] = next;
      remaining[v] = (remaining[v] ?? 0) - 1;
      if (remaining[v] === 0) order.push(v);
    }
  }

  const criticalPath = new Array<number>(n).fill(1);
  for (let k = order.length - 1; k >= 0; k--) {
    const u = order[k] ?? 0;
    let longest = 0;
    for (const v of successors[u] ?? []) longest = Math.max(longest, criticalPath[v] ?? 1);
    criticalPath[u] = longest + 1;
  }

  const perLevel = new Map<number, number>();
  let width = 0;
  for (const u of order) {
    const level = levels[u] ?? 0;
    const count = (perLevel.get(level) ?? 0) + 1;
    perLevel.set(level, count);
    if (count > width) width = count;
  }

  const cycle = order.length < n ? findCycle(nodes, order, predecessors) : null;
  return { issues, cycle, order, levels, criticalPath, width, predecessors };
}

/**
 * A cycle among the nodes Kahn's algorithm could not order. Each of those has an unordered
 * dependency (that is why it stayed), so walking dependencies from one of them must revisit a
 * node; the loop of that walk is a cycle. O(V + E), no recursion.
 */
function findCycle(
  nodes: readonly DagNode[],
  order: readonly number[],
  predecessors: readonly number[][],
): string[] {
  const ordered = new Uint8Array(nodes.length);
  for (const u of order) ordered[u] = 1;
  let start = 0;
  while (ordered[start] === 1) start++;

  const positionInWalk = new Int32Array(nodes.length).fill(-1);
  const walk: number[] = [];
  let current = start;
  while (positionInWalk[current] === -1) {
    positionInWalk[current] = walk.length;
    walk.push(current);
    const next = (predecessors[current] ?? []).find((p) => ordered[p] === 0);
    if (next === undefined) break; // unreachable: an unordered node always has an unordered dependency
    current = next;
  }
  // The walk follows "depends on"; reverse it into execution order.
  const loop = walk.slice(positionInWalk[current] ?? 0).reverse();
  let first = 0;
  for (let k = 1; k < loop.length; k++) if ((loop[k] ?? 0) < (loop[first] ?? 0)) first = k;
  const rotated = [...loop.slice(first), ...loop.slice(0, first)].map((i) => keyAt(nodes, i));
  return [...rotated, rotated[0] ?? ''];
}

function throwIfInvalid(graph: DagInspection): void {
  if (graph.issues.length > 0) throw new ValidationError(graph.issues);
  if (graph.cycle) throw new CycleError(graph.cycle);
}

function keyAt(nodes: readonly DagNode[], i: number): string {
  return nodes[i]?.key ?? `#${i}`;
}

/** Built only when there is an issue to report: most edges never need it. */
function dependencyPath(prefix: string, i: number, j: number): string {
  return `${prefix}[${i}].dependsOn[${j}]`;
}

function isAnonymous(key: string): boolean {
  return key.startsWith('#');
}
