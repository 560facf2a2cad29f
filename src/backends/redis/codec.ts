/**
 * How records are stored in Redis hashes, and their mapping to the domain records of
 * `core/types.ts`. A null is an empty string or an absent field; JSON fields hold text.
 *
 * Task hash (t:<id>) fields: `spec` (the task as submitted, one JSON object: see TaskSpecJson),
 * then what the scripts read or change: type (for list filters), run, key, tmo (timeoutMs), maxAtt
 * (the attempt budget: the spec's maxAttempts, raised by each retry to att + maxAttempts), q (ready-queue
 * id: lua/includes/registry.lua), qs/qm (ready-queue score and member: seq and id), dids (dependency ids in dependsOn order,
 * space-separated), unmet (dependencies not yet released), hasDn, state, att, tok, agent, lease,
 * dl (attempt deadline), runAfter, result, error, updated (absent until the first change), started, finished, rms (how
 * long the succeeded attempt's handler ran, absent when its worker did not say), sub (large
 * submission id), aff (affinity rules JSON, absent when none) and fa (JSON array of the agents its
 * attempts failed on, absent when none), both read by routing (lua/includes/routing.lua), rn ('1'
 * when a routed claim leased it: its agent's in-flight count in `ar` counts it, '0' otherwise;
 * lua/includes/lease.lua drop_lease), and `a:<token>` for each ended attempt (AttemptJson).
 *
 * Event stream (events): one entry per script call (lua/includes/common.lua finish). An entry of
 * one event has the fields t, at, task, run, agent, d, and its id is the event id; an entry of
 * several has one field b, a JSON array of [type, at, task, run, agent, data], and its events
 * have the ids `<entry id>-<i>` (toEvents, parseEventId).
 */
import { emptyStateCounts } from '../../core/state.ts';
import {
  TASK_STATES,
  type AffinityRule,
  type AgentHealth,
  type AgentRecord,
  type AgentState,
  type AgentTypeStats,
  type AttemptOutcome,
  type AttemptModel,
  type AttemptRecord,
  type BatonEvent,
  type DependencySpec,
  type EventType,
  type Json,
  type RetryPolicy,
  type RunRecord,
  type RunState,
  type TaskError,
  type TaskRecord,
  type TaskState,
} from '../../core/types.ts';

/** A hash as a field → value object. */
export type Hash = Record<string, string>;

/** A hash from the flat `[field, value, …]` list a script returns. */
export function toHash(flat: unknown): Hash {
  const out: Hash = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/** The backoff policy of a task from its `spec` text. */
export function specBackoff(spec: string): RetryPolicy {
  return (JSON.parse(spec) as TaskSpecJson).backoff;
}

function num(value: string | undefined): number | null {
  return value === undefined || value === '' ? null : Number(value);
}

function str(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

function json<T>(value: string | undefined): T | null {
  return value === undefined || value === '' ? null : (JSON.parse(value) as T);
}

/** What never changes about a task, stored as one JSON text (`spec`) and parsed once. */
export interface TaskSpecJson {
  id: string;
  type: string;
  payload: Json;
  key: string | null;
  title: string | null;
  epic: string | null;
  requires: string[];
  priority: number;
  maxAttempts: number;
  timeoutMs: number | null;
  backoff: RetryPolicy;
  idempotencyKey: string | null;
  dependsOn: Required<DependencySpec>[];
  criticalPath: number;
  /** Absent in tasks stored before affinity existed. */
  affinity?: Required<AffinityRule>[];
  /** Present (true) only on a task declared `aggregate: true`. */
  aggregate?: true;
  createdAt: number;
}

export function toTask(h: Hash): TaskRecord {
  const spec = JSON.parse(h.spec ?? '{}') as TaskSpecJson;
  return {
    id: spec.id,
    runId: str(h.run),
    type: spec.type,
    payload: spec.payload,
    key: spec.key,
    title: spec.title,
    epic: spec.epic,
    requires: spec.requires,
    priority: spec.priority,
    // The budget a retry raised (maxAtt); the spec keeps the maxAttempts as submitted.
    maxAttempts: num(h.maxAtt) ?? spec.maxAttempts,
    timeoutMs: spec.timeoutMs,
    backoff: spec.backoff,
    idempotencyKey: spec.idempotencyKey,
    runAfter: num(h.runAfter),
    dependsOn: spec.dependsOn,
    criticalPath: spec.criticalPath,
    state: h.state as TaskState,
    attempts: Number(h.att ?? 0),
    agentId: str(h.agent),
    leaseExpiresAt: num(h.lease),
    result: json<Json>(h.result),
    error: json<TaskError>(h.error),
    createdAt: spec.createdAt,
    // Not written at submit: a task nobody touched yet was last updated when it was created.
    updatedAt: h.updated === undefined ? spec.createdAt : Number(h.updated),
    startedAt: num(h.started),
    finishedAt: num(h.finished),
    affinity: spec.affinity ?? [],
    aggregate: spec.aggregate === true,
    failedAgents: json<string[]>(h.fa) ?? [],
  };
}

/**
 * The task fields a claim returns, in this order (`claim-10.lua` reads them positionally: the
 * first six are the ones it needs itself).
 */
export const LEASE_FIELDS = [
  'state',
  'tok',
  'att',
  'tmo',
  'run',
  'dids',
  'spec',
  'error',
  'runAfter',
  'fa',
  'maxAtt',
] as const;

/** The TaskRecord of a task just claimed, from the LEASE_FIELDS values read before the claim. */
export function toClaimedTask(
  v: (string | null)[],
  claim: { attempts: number; agentId: string; expiresAt: number; now: number },
): TaskRecord {
  const spec = JSON.parse(v[6] ?? '{}') as TaskSpecJson;
  return {
    id: spec.id,
    runId: str(v[4] ?? undefined),
    type: spec.type,
    payload: spec.payload,
    key: spec.key,
    title: spec.title,
    epic: spec.epic,
    requires: spec.requires,
    priority: spec.priority,
    maxAttempts: num(v[10] ?? undefined) ?? spec.maxAttempts,
    timeoutMs: spec.timeoutMs,
    backoff: spec.backoff,
    idempotencyKey: spec.idempotencyKey,
    runAfter: num(v[8] ?? undefined),
    dependsOn: spec.dependsOn,
    criticalPath: spec.criticalPath,
    state: 'running',
    attempts: claim.attempts,
    agentId: claim.agentId,
    leaseExpiresAt: claim.expiresAt,
    result: null,
    error: json<TaskError>(v[7] ?? undefined),
    createdAt: spec.createdAt,
    updatedAt: claim.now,
    startedAt: claim.now,
    finishedAt: null,
    affinity: spec.affinity ?? [],
    aggregate: spec.aggregate === true,
    failedAgents: json<string[]>(v[9] ?? undefined) ?? [],
  };
}

/** An attempt record as the scripts write it into `a:<token>` (lua/includes/common.lua). */
interface AttemptJson {
  attempt: number;
  agentId: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: AttemptOutcome;
  error: TaskError | null;
  /** Absent when its worker did not say how long the handler ran. */
  runMs?: number;
}

/**
 * The attempts of a task from its hash, in the order they started (by fencing token). Ended
 * attempts have their record; the running one, or the one that succeeded, is read from the
 * task's own fields.
 */
/** The model selection's choice of an attempt (field `m:<token>`), or null. */
function modelOf(h: Hash, token: string): AttemptModel | null {
  const json = h[`m:${token}`];
  return json === undefined ? null : (JSON.parse(json) as AttemptModel);
}

/**
 * A field of the `mo` hash (model selection's history) for a task type, complexity and model:
 * their JSON array, so no separator inside a type or model id can make two of them collide.
 */
export function modelOutcomeField(taskType: string, complexity: string, model: string): string {
  return JSON.stringify([taskType, complexity, model]);
}

export function toAttempts(h: Hash, taskId: string): AttemptRecord[] {
  const found: { token: number; record: AttemptRecord }[] = [];
  for (const [field, value] of Object.entries(h)) {
    if (!field.startsWith('a:')) continue;
    const a = JSON.parse(value) as AttemptJson;
    found.push({
      token: Number(field.slice(2)),
      record: {
        taskId,
        attempt: a.attempt,
        agentId: a.agentId,
        startedAt: a.startedAt,
        finishedAt: a.finishedAt,
        outcome: a.outcome,
        error: a.error,
        runMs: a.runMs ?? null,
        model: modelOf(h, field.slice(2)),
      },
    });
  }
  // The running attempt, and a succeeded one, have no record: the task's fields tell them.
  const token = Number(h.tok ?? 0);
  const succeeded = h.state === 'succeeded';
  if ((h.state === 'running' || succeeded) && token > 0 && h[`a:${token}`] === undefined) {
    found.push({
      token,
      record: {
        taskId,
        attempt: Number(h.att),
        agentId: h.agent ?? '',
        startedAt: Number(h.started),
        finishedAt: succeeded ? num(h.finished) : null,
        outcome: succeeded ? 'succeeded' : 'running',
        error: null,
        runMs: succeeded ? num(h.rms) : null,
        model: modelOf(h, String(token)),
      },
    });
  }
  return found.sort((x, y) => x.token - y.token).map((f) => f.record);
}

export function toRun(h: Hash): RunRecord {
  const byState = emptyStateCounts();
  let total = 0;
  let terminal = 0;
  for (const state of TASK_STATES) {
    const n = Number(h[`n:${state}`] ?? 0);
    byState[state] = n;
    total += n;
    if (state === 'succeeded' || state === 'failed' || state === 'skipped' || state === 'cancelled')
      terminal += n;
  }
  const state = h.state as RunState;
  return {
    id: h.id!,
    name: h.name!,
    state,
    createdAt: Number(h.created),
    finishedAt: num(h.finished),
    progress: {
      total,
      byState,
      done: total === 0 ? (state === 'running' ? 0 : 1) : terminal / total,
    },
  };
}

/**
 * An agent's counters from its `agent-stats:<agent>` hash (fields `<type>|s`, `<type>|f`,
 * `<type>|ms`; a type name may itself contain `|`, so the suffix is the part after the last one).
 */
export function toAgentStats(h: Hash): Record<string, AgentTypeStats> {
  const sums = new Map<string, { s: number; f: number; ms: number }>();
  for (const [field, value] of Object.entries(h)) {
    const bar = field.lastIndexOf('|');
    if (bar < 0) continue;
    const type = field.slice(0, bar);
    let sum = sums.get(type);
    if (!sum) sums.set(type, (sum = { s: 0, f: 0, ms: 0 }));
    const kind = field.slice(bar + 1);
    if (kind === 's' || kind === 'f' || kind === 'ms') sum[kind] = Number(value);
  }
  const out: Record<string, AgentTypeStats> = {};
  for (const type of [...sums.keys()].sort()) {
    const { s, f, ms } = sums.get(type)!;
    out[type] = { succeeded: s, failed: f, meanRunMs: s > 0 ? Math.round(ms / s) : null };
  }
  return out;
}

/**
 * An agent from its hash (a:<agent>): id, name, caps, labels, conc, host, pid, ver, state,
 * started, hb (last heartbeat), prog (last progress of its loop), ovd (an attempt the sweep timed
 * out, unreported while prog is not past it), stall (when declared stalled), cpu, rss, abh (its
 * process report: CPU, memory, handlers its worker abandoned).
 */
export function toAgent(h: Hash, inFlight: string[], stats: Hash): AgentRecord {
  const health = healthOf(h);
  return {
    id: h.id!,
    name: h.name!,
    capabilities: JSON.parse(h.caps ?? '[]') as string[],
    labels: JSON.parse(h.labels ?? '{}') as Record<string, string>,
    concurrency: Number(h.conc),
    host: str(h.host),
    pid: num(h.pid),
    version: str(h.ver),
    state: h.state as AgentState,
    startedAt: Number(h.started),
    lastHeartbeatAt: Number(h.hb),
    inFlight: [...inFlight].sort(),
    health,
    stalledAt: health === 'stalled' ? num(h.stall) : null,
    stats: toAgentStats(stats),
    process: { cpuPercent: num(h.cpu), rssBytes: num(h.rss), abandonedHandlers: num(h.abh) ?? 0 },
  };
}

/**
 * State refined by a stall the sweep declared that no progress has ended yet (the next sweep
 * records the recovery; reading already says so), then by abandoned handlers still running.
 * Agents from before `prog` existed count their start as their last progress.
 */
function healthOf(h: Hash): AgentHealth {
  const state = h.state as AgentState;
  if (state !== 'active') return state;
  const stall = num(h.stall);
  if (stall !== null && (num(h.prog) ?? Number(h.started)) <= stall) return 'stalled';
  return (num(h.abh) ?? 0) > 0 ? 'degraded' : 'ok';
}

/** One event of a packed stream entry: `[type, at, task, run, agent, data]` ('' for none). */
type PackedEvent = [EventType, number, string, string, string, BatonEvent['data']];

/**
 * The events of one stream entry `[id, [field, value, …]]` (lua/includes/common.lua writes one
 * entry per script call). An entry of one event has the fields t, at, task, run, agent, d (data
 * JSON), and its id is the event id. An entry of several has one field b, a JSON array of
 * `[type, at, task, run, agent, data]`; its events are numbered `<entry id>-<i>` from 0, so event
 * ids stay unique and ordered (see {@link parseEventId}).
 */
export function toEvents(entry: unknown): BatonEvent[] {
  const [id, flat] = entry as [string, string[]];
  if (flat.length === 2 && flat[0] === 'b') {
    const packed = JSON.parse(flat[1]!) as PackedEvent[];
    return packed.map(([type, at, task, run, agent, data], i) => ({
      id: `${id}-${i}`,
      type,
      at,
      taskId: task === '' ? null : task,
      runId: run === '' ? null : run,
      agentId: agent === '' ? null : agent,
      data,
    }));
  }
  const h = toHash(flat);
  return [
    {
      id,
      type: h.t as EventType,
      at: Number(h.at),
      taskId: str(h.task),
      runId: str(h.run),
      agentId: str(h.agent),
      data: JSON.parse(h.d ?? '{}') as BatonEvent['data'],
    },
  ];
}

/**
 * An event id split into its stream entry id and its index in a packed entry (null for the one
 * event of an entry); null when the text is not an event id. Both forms are accepted anywhere an
 * id is passed back (`readEvents({ since })`).
 */
export function parseEventId(id: string): { entry: string; index: number | null } | null {
  const m = /^(\d{1,20}-\d{1,20})(?:-(\d{1,9}))?$/.exec(id);
  if (!m) return null;
  return { entry: m[1]!, index: m[2] === undefined ? null : Number(m[2]) };
}

/** Task counts by state from the counts hash, every state present. */
export function toCounts(h: Hash): Record<TaskState, number> {
  const counts = emptyStateCounts();
  for (const state of TASK_STATES) counts[state] = Number(h[state] ?? 0);
  return counts;
}
