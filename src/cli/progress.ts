/**
 * What `baton run` knows about its run while it runs, kept up to date from the event stream:
 * each task's state, which agent holds it and since when. Pure (no I/O, no clock), so the live
 * frame and the plain lines are tested by feeding it events.
 */
import type { BatonEvent, TaskState } from '../core/types.ts';
import { renderEventLine, renderLiveFrame, type FrameOptions, type LiveTask } from './render.ts';
import { noColour, type Paint } from './colour.ts';

export interface TrackedTask {
  id: string;
  key: string | null;
  epic: string | null;
  state: TaskState;
}

export class RunProgress {
  readonly runName: string;
  readonly startedAt: number;
  readonly #tasks = new Map<string, LiveTask & { id: string }>();
  readonly #agentOf = new Map<string, string>();
  readonly #attemptStart = new Map<string, number>();
  readonly #agentLabel: (agentId: string) => string;
  readonly #paint: Paint;

  /** @param paint colour of the event lines and the frame. @default none */
  constructor(
    runName: string,
    tasks: readonly TrackedTask[],
    startedAt: number,
    agentLabel: (agentId: string) => string,
    paint: Paint = noColour,
  ) {
    this.runName = runName;
    this.startedAt = startedAt;
    this.#agentLabel = agentLabel;
    this.#paint = paint;
    for (const t of tasks)
      this.#tasks.set(t.id, { id: t.id, key: t.key ?? t.id, epic: t.epic, state: t.state });
  }

  /** Tasks in the order they were submitted. */
  get tasks(): readonly LiveTask[] {
    return [...this.#tasks.values()];
  }

  /**
   * Apply one event of this run and return its plain line (null when it has none). Events name
   * the agent on claims; later events of the same attempt are shown with that agent.
   */
  apply(event: BatonEvent): string | null {
    const taskId = event.taskId;
    if (taskId !== null) {
      const state = nextState(event);
      const task = this.#tasks.get(taskId);
      if (task && state !== null) task.state = state;
      if (event.type === 'task.claimed') {
        if (event.agentId !== null) this.#agentOf.set(taskId, event.agentId);
        this.#attemptStart.set(taskId, event.at);
      }
    }
    const agentId = event.agentId ?? (taskId === null ? null : (this.#agentOf.get(taskId) ?? null));
    return renderEventLine(
      { ...event, agentId },
      {
        startedAt: this.startedAt,
        taskLabel: (id) => this.#tasks.get(id)?.key ?? id,
        agentLabel: this.#agentLabel,
        attemptStartedAt: (id) =>
          event.type === 'task.claimed' ? undefined : this.#attemptStart.get(id),
        paint: this.#paint,
      },
    );
  }

  /** Register a task added to the run after submission (a handler's `spawn`). */
  add(task: TrackedTask): void {
    if (!this.#tasks.has(task.id)) {
      this.#tasks.set(task.id, {
        id: task.id,
        key: task.key ?? task.id,
        epic: task.epic,
        state: task.state,
      });
    }
  }

  has(taskId: string): boolean {
    return this.#tasks.has(taskId);
  }

  /** The live frame at `now`, fitted to the terminal `options` describe. */
  frame(now: number, options: Omit<FrameOptions, 'paint'> = {}): string {
    return renderLiveFrame(this.runName, this.tasks, now - this.startedAt, {
      ...options,
      paint: this.#paint,
    });
  }
}

/** The state an event moves its task to, or null when it says nothing about the state. */
export function nextState(event: BatonEvent): TaskState | null {
  switch (event.type) {
    case 'task.submitted': {
      const state = event.data['state'];
      return typeof state === 'string' ? (state as TaskState) : null;
    }
    case 'task.ready':
    case 'task.retried':
      return 'ready';
    case 'task.released': {
      // A deferred release waits `delayMs` before the task is ready again.
      const delay = event.data['delayMs'];
      return typeof delay === 'number' && delay > 0 ? 'delayed' : 'ready';
    }
    case 'task.revived':
      return 'blocked';
    case 'task.delayed':
      return 'delayed';
    case 'task.claimed':
      return 'running';
    case 'task.succeeded':
      return 'succeeded';
    case 'task.retrying': {
      const delay = event.data['delayMs'];
      return typeof delay === 'number' && delay > 0 ? 'delayed' : 'ready';
    }
    case 'task.failed':
      return 'failed';
    case 'task.skipped':
      return 'skipped';
    case 'task.cancelled':
      return 'cancelled';
    default:
      return null;
  }
}
