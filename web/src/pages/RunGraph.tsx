/**
 * The run as swimlanes on @xyflow/react: a lane per epic, a row per DAG level (layout.ts), cards
 * coloured by state with the state's icon and word, dependency arrows, the critical path drawn
 * thick. Only the cards in view are rendered (`onlyRenderVisibleElements`), and epics of a large
 * run start collapsed, so a 2,000-task run stays responsive.
 */
import {
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { memo, useMemo, useRef } from 'react';

import type { TaskRecord } from '../api.ts';
import { STATE_ICON } from '../format.ts';
import { CARD_H, CARD_W, layoutRun, type Layout } from '../layout.ts';

type TaskData = { task: TaskRecord; critical: boolean; open: (id: string) => void };
type SummaryData = {
  epic: string;
  level: number;
  counts: [string, number][];
  critical: boolean;
  expand: (epic: string) => void;
};
type LaneData = {
  epic: string;
  tasks: number;
  collapsed: boolean;
  toggle: (epic: string) => void;
  height: number;
  width: number;
};

const TaskCard = memo(function TaskCard({ data }: NodeProps<Node<TaskData>>) {
  const t = data.task;
  const name = t.key ?? t.id;
  return (
    <>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <button
        type="button"
        className={`card s-${t.state}${data.critical ? ' critical' : ''}`}
        data-task-key={t.key ?? ''}
        data-task-id={t.id}
        data-state={t.state}
        onClick={() => data.open(t.id)}
      >
        <span className="icon" aria-hidden="true">
          {STATE_ICON[t.state] ?? '•'}
        </span>
        <span className="name">{name}</span>
        <span className="sub">
          {t.state}
          {t.attempts > 1 ? ` · try ${t.attempts}` : ''}
          {data.critical && <span className="sr-only"> · on the critical path</span>}
        </span>
      </button>
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </>
  );
});

const SummaryCard = memo(function SummaryCard({ data }: NodeProps<Node<SummaryData>>) {
  const total = data.counts.reduce((n, [, c]) => n + c, 0);
  return (
    <>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <button
        type="button"
        className={`card summary${data.critical ? ' critical' : ''}`}
        onClick={() => data.expand(data.epic)}
      >
        <span className="name">
          {total} task{total === 1 ? '' : 's'}
          <span className="sr-only">
            {' '}
            of {data.epic} at level {data.level}
          </span>
        </span>
        <span className="sub">
          {data.counts.map(([s, c]) => (
            <span key={s} className={`mini s-${s}`}>
              <span aria-hidden="true">{STATE_ICON[s]}</span>
              {c}
            </span>
          ))}
        </span>
      </button>
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </>
  );
});

function Lane({ data }: NodeProps<Node<LaneData>>) {
  return (
    <div className="lane" style={{ width: data.width, height: data.height }}>
      <div className="lane-head">
        <span className="lane-name">{data.epic}</span>{' '}
        <span className="muted">{data.tasks} tasks</span>{' '}
        <button
          type="button"
          className="link"
          aria-expanded={!data.collapsed}
          onClick={() => data.toggle(data.epic)}
        >
          {data.collapsed ? 'Expand' : 'Collapse'}
          <span className="sr-only"> epic {data.epic}</span>
        </button>
      </div>
    </div>
  );
}

const nodeTypes = { task: TaskCard, summary: SummaryCard, lane: Lane };

export interface RunGraphProps {
  tasks: ReadonlyMap<string, TaskRecord>;
  /** Changes when tasks are added or removed (not when their state changes). */
  structure: number;
  levels: string[][];
  criticalPath: string[];
  collapsed: ReadonlySet<string>;
  toggle: (epic: string) => void;
  open: (taskId: string) => void;
}

export function RunGraph(props: RunGraphProps) {
  const { tasks, structure, levels, criticalPath, collapsed, toggle, open } = props;
  // Positions depend on the graph and the collapsed epics, never on states: laid out once.
  const layout: Layout = useMemo(
    () => layoutRun([...tasks.values()], levels, criticalPath, collapsed),
    [structure, levels, criticalPath, collapsed],
  );

  // Node objects are reused while their task's state is unchanged, so React Flow re-renders
  // only the cards an event moved.
  const cache = useRef(new Map<string, { key: string; node: Node }>());
  const nodes = useMemo(() => {
    const out: Node[] = layout.lanes.map((lane) => ({
      id: `lane:${lane.epic}`,
      type: 'lane',
      position: { x: lane.x, y: -44 },
      data: { ...lane, toggle, height: layout.height + 44, width: lane.width },
      draggable: false,
      selectable: false,
      focusable: false,
      zIndex: -1,
    }));
    const next = new Map<string, { key: string; node: Node }>();
    for (const n of layout.nodes) {
      let key: string;
      let make: () => Node;
      if (n.kind === 'task') {
        const task = tasks.get(n.taskId);
        if (task === undefined) continue;
        key = `${n.x},${n.y},${task.state},${task.attempts},${n.critical}`;
        make = () => ({
          id: n.id,
          type: 'task',
          position: { x: n.x, y: n.y },
          data: { task, critical: n.critical, open },
          width: CARD_W,
          height: CARD_H,
          draggable: false,
          focusable: false,
        });
      } else {
        const counts = new Map<string, number>();
        for (const id of n.taskIds) {
          const s = tasks.get(id)?.state ?? 'blocked';
          counts.set(s, (counts.get(s) ?? 0) + 1);
        }
        const list = [...counts.entries()].sort();
        key = `${n.x},${n.y},${JSON.stringify(list)},${n.critical}`;
        make = () => ({
          id: n.id,
          type: 'summary',
          position: { x: n.x, y: n.y },
          data: {
            epic: n.epic,
            level: n.level,
            counts: list,
            critical: n.critical,
            expand: toggle,
          },
          width: CARD_W,
          height: CARD_H,
          draggable: false,
          focusable: false,
        });
      }
      const cached = cache.current.get(n.id);
      const entry = cached !== undefined && cached.key === key ? cached : { key, node: make() };
      next.set(n.id, entry);
      out.push(entry.node);
    }
    cache.current = next;
    return out;
  }, [layout, tasks, toggle, open]);

  const edges: Edge[] = useMemo(
    () =>
      layout.edges.map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        className: e.critical ? 'critical' : e.soft ? 'soft' : '',
        markerEnd: { type: MarkerType.ArrowClosed, width: 14, height: 14 },
        focusable: false,
        selectable: false,
      })),
    [layout],
  );

  return (
    <div
      className="graph"
      data-testid="graph"
      aria-label="Run graph: swimlanes by epic, rows by dependency level"
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ maxZoom: 1, padding: 0.1 }}
        minZoom={0.02}
        onlyRenderVisibleElements
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        nodesFocusable={false}
        edgesFocusable={false}
        proOptions={{ hideAttribution: true }}
      />
    </div>
  );
}
