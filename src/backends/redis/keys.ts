/**
 * The Redis key layout of one namespace. Every key starts with the prefix `{baton:<ns>}:`, whose
 * hash tag `{baton:<ns>}` puts all keys of a namespace in one Cluster slot: every Lua script
 * touches keys of one namespace only, so the adapter runs unchanged on Redis Cluster (scaling
 * out is by namespace). Scripts get the fixed keys below in KEYS; keys named by data (a task, a
 * run, a queue) are derived inside the script from the prefix, passed as KEYS[1].
 *
 * Fixed keys (P = prefix):
 *   P seq          string  sequence of tasks and runs: FIFO order and list cursors
 *   P tasks        zset    task id -> seq, every task (listing)
 *   P runs         zset    run id -> seq (listing)
 *   P counts       hash    task state -> number of tasks in it (stats)
 *   P idem         hash    idempotency key -> task id
 *   P delayed      zset    task id -> runAfter (delayed tasks, retries waiting for backoff)
 *   P running      zset    task id -> deadline: the earliest of lease expiry and attempt timeout
 *   P events       stream  the event stream: one entry per script call, holding one event or
 *                          several packed (codec.ts toEvents: how event ids follow entry ids)
 *   P evmeta       hash    n = events written so far (trimming counts events, not entries);
 *                          at = the latest time the namespace recorded (store_now: its clock
 *                          does not go back)
 *   P evcp         list    trimming checkpoints '<events before the entry> <entry id>'
 *                          (lua/includes/common.lua; both derived there from the prefix)
 *   P queues       hash    queue id -> queue JSON [type, [sorted requires]]: the distinct
 *                          (task type, requires set) pairs (lua/includes/registry.lua)
 *   P queueids     hash    queue JSON -> queue id
 *   P filters      hash    filter JSON -> filter id: what claiming or waiting workers take,
 *                          [[sorted capabilities]] or [[sorted capabilities], [sorted types]]
 *   P agents       zset    agent id -> startedAt (listing order)
 *   P hb           zset    active agent id -> last heartbeat (finding silent agents)
 *   P sweep        string  id of the process currently sweeping (SET … PX lock)
 *   P pending      zset    staged, uncommitted submission id -> stage time
 *   P publishing   zset    committed submission id still being published -> commit time
 *   P pubcur       hash    submission id -> publish cursor
 *   P budgets      hash    run or task id -> its budget in nano-dollars (docs/costs.md); written
 *                          before the submission that creates the run or task
 *   P spent        hash    run or task id with a budget -> nano-dollars its recorded calls cost
 *   P held         hash    run or task id with a budget -> nano-dollars reservations hold
 *   P rsv          hash    reservation id -> '<task id> <token> <run id or empty> <nano-dollars>'
 *   P rsvz         zset    reservation id -> when it was taken (what the sweep looks through)
 *   P rsvoff       string  where the next sweep-reservations call starts in rsvz
 *
 * Keys named by data:
 *   P xp:<domain>  list    the versions of a domain's expertise file, oldest first: JSON
 *                          { text, source, origin, createdAt }; version n is element n - 1
 *   P t:<task>     hash    the task: its fields (see codec.ts), `a:<token>` attempt records
 *   P dn:<task>    hash    dependent task id -> '1' soft / '0' hard (edges out of the task)
 *   P run:<run>    hash    the run: name, state, times, `n:<state>` task counts, key version
 *   P rt:<run>     zset    task id -> seq, the tasks of the run
 *   P rk:<run>     hash    task key -> task id, the keys of the run
 *   P q:<q>        zset    ready queue of one task type and requires set: score = priority *
 *                          1e6 + (1e6 - cp), member = 15-digit seq + ':' + task id (FIFO ties)
 *   P fq:<f>       set     queues a filter takes (the queues a claim with it reads)
 *   P qf:<q>       set     filters that take a queue (whom to wake when it gets ready tasks)
 *   P w:<f>        zset    wake-up marker of a filter (its idle workers BZPOPMIN it)
 *   P fa:<f>       zset    agent id -> its load at its latest claim with filter f: where a
 *                          routed claim finds its contenders, least loaded first (routing)
 *   P ar           hash    per agent, what a routed claim reads of its contenders in one HMGET
 *                          (lua/includes/routing.lua contenders_of): `<id>` its routing summary,
 *                          '<filter id> <concurrency> <recent claims> <last claim>', written
 *                          with its place in fa:<f>; `<id>|n` its tasks in flight that routed
 *                          claims leased (task field rn). (Builds before issue 11 item 13 also
 *                          kept stall marks here, `<id>|s`: no longer read.)
 *   P stalled      hash    agent id -> when it was declared stalled, while its `stall` field is
 *                          set (sweep-11.lua): a routed claim reads its contenders' marks only
 *                          when the hash exists, so a fleet with no stalled agent pays one
 *                          EXISTS per claim for them
 *   P a:<agent>    hash    the agent (fields: see codec.ts toAgent)
 *   P al:<agent>   set     ids of the tasks the agent holds leases on
 *   P wa:<agent>   zset    wake-up marker of one agent: a claim that left it tasks (routing)
 *                          sets it; the agent's idle wait blocks on it and on its filter's w:<f>
 *   P agent-stats:<agent>  hash  the agent's counters by task type: `<type>|s` attempts
 *                          succeeded, `<type>|f` failed or timed out, `<type>|ms` total run
 *                          time (claim to complete) of the succeeded ones
 *   P stg:<sub>    list    ids of a large submission's tasks, in publish order
 *   P stgm:<sub>   hash    a large submission's first seq, run id and mode
 *   P u:<task>     list    the task's recorded model calls, JSON (UsageJson in redis/ledger.ts)
 *   P ct:<scope>   hash    totals of the calls of a run (scope = run id) or of the namespace
 *                          (scope `*`): calls, in, out, cr, cw, rs (tokens), cost (nano-dollars)
 *   P cg:<scope>:<group>  hash  the same totals by group (run, epic, task, agent, model):
 *                          field `<metric>|<key>` ('' key: no run, no epic)
 *   P mo           hash    model selection's history: field `<JSON [type, complexity, model]>|r`
 *                          calls counted, `…|s` those that succeeded (docs/llm.md)
 *
 * Task logs (docs/logs.md; lua/includes/logs.lua has the fields), all derived in the scripts:
 *   P lseq             string  the last seq given to a log line
 *   P ll               stream  every stored line (entry id = its seq): the claim, stream, level,
 *                              time and text
 *   P t:<task>         hash    field `lg:<token>`: the claim's log record, what the bounds know
 *                              and the seqs of its head lines, or, for a claim of one line,
 *                              just its seq (earlier builds: hash P lg, '<task> <token>'
 *                              fields, still read)
 *   P lt:<task>:<tok>  list    the seqs (and sizes) of the claim's tail lines, oldest first
 * A task's log is its lg: fields, the lt keys of its id and its lines' ll entries: whatever
 * deletes a task deletes them with it.
 */

/** The namespace's key names; see the module comment for what each holds. */
export class Keys {
  /** `{baton:<ns>}:`, also passed to every script as KEYS[1]. */
  readonly prefix: string;
  readonly seq: string;
  readonly tasks: string;
  readonly runs: string;
  readonly counts: string;
  readonly idem: string;
  readonly delayed: string;
  readonly running: string;
  readonly events: string;
  /** Events written so far (`n`), for trimming; derived from the prefix by the scripts. */
  readonly eventsMeta: string;
  /** Trimming checkpoints of the event stream; derived from the prefix by the scripts. */
  readonly eventCheckpoints: string;
  readonly queues: string;
  readonly queueIds: string;
  readonly filters: string;
  readonly agents: string;
  readonly hb: string;
  readonly sweep: string;
  readonly pending: string;
  readonly publishing: string;
  readonly pubcur: string;
  readonly budgets: string;
  readonly spent: string;
  readonly held: string;
  readonly reservations: string;
  readonly reservationTimes: string;
  readonly reservationOffset: string;
  /** Model selection's history (`mo`). */
  readonly modelOutcomes: string;
  /** KEYS[1..5] of every mutating script (lua/includes/common.lua). */
  readonly common: readonly string[];

  constructor(namespace: string) {
    const p = `{baton:${namespace}}:`;
    this.prefix = p;
    this.seq = `${p}seq`;
    this.tasks = `${p}tasks`;
    this.runs = `${p}runs`;
    this.counts = `${p}counts`;
    this.idem = `${p}idem`;
    this.delayed = `${p}delayed`;
    this.running = `${p}running`;
    this.events = `${p}events`;
    this.eventsMeta = `${p}evmeta`;
    this.eventCheckpoints = `${p}evcp`;
    this.queues = `${p}queues`;
    this.queueIds = `${p}queueids`;
    this.filters = `${p}filters`;
    this.agents = `${p}agents`;
    this.hb = `${p}hb`;
    this.sweep = `${p}sweep`;
    this.pending = `${p}pending`;
    this.publishing = `${p}publishing`;
    this.pubcur = `${p}pubcur`;
    this.budgets = `${p}budgets`;
    this.spent = `${p}spent`;
    this.held = `${p}held`;
    this.reservations = `${p}rsv`;
    this.reservationTimes = `${p}rsvz`;
    this.reservationOffset = `${p}rsvoff`;
    this.modelOutcomes = `${p}mo`;
    this.common = [p, this.events, this.counts, this.delayed, this.running];
  }

  task(id: string): string {
    return `${this.prefix}t:${id}`;
  }

  run(id: string): string {
    return `${this.prefix}run:${id}`;
  }

  runTasks(id: string): string {
    return `${this.prefix}rt:${id}`;
  }

  runKeys(id: string): string {
    return `${this.prefix}rk:${id}`;
  }

  agent(id: string): string {
    return `${this.prefix}a:${id}`;
  }

  agentLeases(id: string): string {
    return `${this.prefix}al:${id}`;
  }

  /** The agent's counters by task type (`<type>|s`, `<type>|f`, `<type>|ms`). */
  agentStats(id: string): string {
    return `${this.prefix}agent-stats:${id}`;
  }

  /** The task's recorded model calls. */
  usage(taskId: string): string {
    return `${this.prefix}u:${taskId}`;
  }

  /** Totals of a run's calls, or of the namespace's (`null`). */
  costTotals(runId: string | null): string {
    return `${this.prefix}ct:${runId ?? '*'}`;
  }

  /** Totals by group of a run's calls, or of the namespace's (`null`). */
  costGroups(runId: string | null, group: string): string {
    return `${this.prefix}cg:${runId ?? '*'}:${group}`;
  }

  wakeMarker(filter: string): string {
    return `${this.prefix}w:${filter}`;
  }

  /** The agent's own wake-up marker (routing: a claim left it tasks). */
  agentWakeMarker(id: string): string {
    return `${this.prefix}wa:${id}`;
  }

  /** The pattern matching every key of the namespace (for tests and tools; never on a hot path). */
  pattern(): string {
    // Glob-escape the braces and any glob characters of the namespace.
    return `${this.prefix.replace(/[[\]{}*?\\]/g, (c) => `\\${c}`)}*`;
  }
}

/**
 * Why a namespace cannot be used on Redis, or null when it can. Braces would break the hash
 * tag (Redis takes the first `{…}` of a key), so every key of the namespace would no longer share
 * one Cluster slot.
 */
export function namespaceProblem(namespace: string): string | null {
  if (typeof namespace !== 'string' || namespace.length === 0) return 'must be a non-empty string';
  if (namespace.length > 200) return 'must be at most 200 characters';
  if (/[{}]/.test(namespace))
    return "must not contain '{' or '}' (they would break the Redis Cluster hash tag)";
  return null;
}
