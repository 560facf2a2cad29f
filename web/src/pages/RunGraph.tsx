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
import { memo, useMemo } from 'react';

import { STATE_ICON } from '../format.ts';
import { CARD_H, CARD_W, layoutRun, type Layout, type LayoutTask } from '../layout.ts';
import { useStateCounts, useTask, type TaskStore } from '../task-store.ts';

type TaskData = { taskId: string; store: TaskStore; critical: boolean; open: (id: string) => void };
type SummaryData = {
  epic: string;
  level: number;
  taskIds: string[];
  store: TaskStore;
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
  const t = useTask(data.store, data.taskId);
  if (t === undefined) return null;
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
  const counts = useStateCounts(data.store, data.taskIds);
  const total = counts.reduce((n, [, c]) => n + c, 0);
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
          {counts.map(([s, c]) => (
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
        <span className="muted">
          {data.tasks} task{data.tasks === 1 ? '' : 's'}
        </span>{' '}
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
  /** The tasks' structure (ids, keys, epics, dependencies); a new array when it changes. */
  tasks: readonly LayoutTask[];
  /** The live records: cards subscribe to their own task. */
  store: TaskStore;
  levels: string[][];
  criticalPath: string[];
  collapsed: ReadonlySet<string>;
  toggle: (epic: string) => void;
  open: (taskId: string) => void;
}

export const RunGraph = memo(function RunGraph(props: RunGraphProps) {
  const { tasks, store, levels, criticalPath, collapsed, toggle, open } = props;
  // Positions depend on the graph and the collapsed epics, never on states: laid out once, and
  // the node list handed to React Flow changes only with them.
  const layout: Layout = useMemo(
    () => layoutRun(tasks, levels, criticalPath, collapsed),
    [tasks, levels, criticalPath, collapsed],
  );

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
    for (const n of layout.nodes) {
      out.push(
        n.kind === 'task'
          ? {
              id: n.id,
              type: 'task',
              position: { x: n.x, y: n.y },
              data: { taskId: n.taskId, store, critical: n.critical, open },
              width: CARD_W,
              height: CARD_H,
              draggable: false,
              focusable: false,
            }
          : {
              id: n.id,
              type: 'summary',
              position: { x: n.x, y: n.y },
              data: {
                epic: n.epic,
                level: n.level,
                taskIds: n.taskIds,
                store,
                critical: n.critical,
                expand: toggle,
              },
              width: CARD_W,
              height: CARD_H,
              draggable: false,
              focusable: false,
            },
      );
    }
    return out;
  }, [layout, store, toggle, open]);

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
        // A new view (fitted to the graph) when epics are expanded or collapsed.
        key={[...collapsed].sort().join('\0')}
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
});
