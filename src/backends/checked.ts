/**
 * The checking layer in front of every adapter: each Backend method passes through it, and its
 * arguments are checked (`inputs.ts`) before any adapter sees them. A malformed argument is
 * refused with the same `ValidationError` (code `BATON_VALIDATION`, the same path and message)
 * whichever store is behind, and nothing reaches the store. Adapters get arguments in the form
 * they apply: defaults filled in, free text cut, a failure's error cleaned; they check nothing
 * themselves, so they cannot disagree ("decide above the seam, apply below it").
 *
 * `openBackend` wraps every adapter it opens; wrap an adapter you construct yourself with
 * {@link checkedBackend}. Task specs are the one input checked below: `normalizeTasks` and
 * `normalizeRun` (core) need the store's state (the keys a run has) and the transaction's clock,
 * so each adapter calls them, the same functions, in its transaction.
 */
import type { LogPage } from '../core/logs.ts';
import { LIMITS } from '../core/validate.ts';
import type {
  AgentRecord,
  AgentReport,
  AgentSpec,
  AttemptRecord,
  BatonEvent,
  Lease,
  RunRecord,
  RunSpec,
  TaskRecord,
  TaskSpec,
} from '../core/types.ts';
import type { BudgetStatus, CostReport, UsageRecord } from '../core/ledger.ts';
import type {
  Backend,
  BackendFeatures,
  CostQuery,
  ReserveInput,
  ReserveOutcome,
  UsageInput,
  UsageOutcome,
  ClaimRequest,
  CompleteInput,
  FailInput,
  LeaseRef,
  LogAppend,
  LogAppendOutcome,
  ReadAgentLogsOptions,
  LatestEventsOptions,
  ReadEventsOptions,
  ReadLogsOptions,
  RecordableEvent,
  ReleaseInput,
  RetryTaskOptions,
  RunFilter,
  RunPage,
  SettleOutcome,
  StateDelete,
  StateEntry,
  StateListOptions,
  ExpertiseVersion,
  ExpertiseVersionInput,
  StateOutcome,
  StateWrite,
  Stats,
  StoreLocation,
  SubmittedRun,
  SubmittedTask,
  SubmitTasksOptions,
  SweepOptions,
  SweepResult,
  TaskFilter,
  TaskPage,
  WaitForWorkOptions,
  ModelChoiceInput,
  ModelChoiceOutcome,
  ModelHistory,
  ModelHistoryQuery,
  ModelOutcomeInput,
} from './backend.ts';
import {
  checkAgent,
  checkClaim,
  checkCompletes,
  checkCostQuery,
  checkFails,
  checkId,
  checkInteger,
  checkLogAppends,
  checkReadAgentLogs,
  checkLatestEvents,
  checkReadEvents,
  checkReadLogs,
  checkReason,
  checkRecordedEvent,
  checkReleases,
  checkRenew,
  checkReport,
  checkReserve,
  checkRetryOptions,
  checkRunFilter,
  checkSubmitOptions,
  checkSweepOptions,
  checkTaskFilter,
  checkUsage,
  checkWait,
  checkModelChoice,
  checkModelHistoryQuery,
  checkModelOutcome,
} from './inputs.ts';
import { checkStateDelete, checkStateKey, checkStateList, checkStateWrite } from './state.ts';
import {
  checkExpertiseDomain,
  checkExpertiseVersionInput,
  checkExpertiseVersionNumber,
} from './expertise.ts';

/** What the checking layer needs to know of the store behind it. */
export interface CheckedOptions {
  /**
   * Largest result or recorded event data, in bytes of JSON: the adapter's own limit.
   * @default LIMITS.maxPayloadBytes (1 MiB)
   */
  maxPayloadBytes?: number;
}

/** A Backend whose every argument is checked before it reaches {@link CheckedBackend.adapter}. */
export class CheckedBackend implements Backend {
  /** The adapter behind the checks (for diagnostics an adapter offers beyond the seam). */
  readonly adapter: Backend;
  readonly #maxPayloadBytes: number;

  constructor(adapter: Backend, options: CheckedOptions = {}) {
    const maxPayloadBytes = options.maxPayloadBytes ?? LIMITS.maxPayloadBytes;
    checkInteger(maxPayloadBytes, 'maxPayloadBytes', 1);
    this.adapter = adapter;
    this.#maxPayloadBytes = maxPayloadBytes;
  }

  get name(): string {
    return this.adapter.name;
  }

  get features(): BackendFeatures {
    return this.adapter.features;
  }

  get location(): StoreLocation | null {
    return this.adapter.location;
  }

  // Each method is async so that a refused argument is a rejection, as a store's refusal is.

  async submitRun(run: RunSpec): Promise<SubmittedRun> {
    return this.adapter.submitRun(run);
  }

  async submitTasks(tasks: TaskSpec[], options?: SubmitTasksOptions): Promise<SubmittedTask[]> {
    return this.adapter.submitTasks(tasks, checkSubmitOptions(options));
  }

  async claim(request: ClaimRequest): Promise<Lease[]> {
    return this.adapter.claim(checkClaim(request));
  }

  async renew(
    agentId: string,
    leases: LeaseRef[],
    leaseTtlMs: number,
    report?: AgentReport,
  ): Promise<SettleOutcome[]> {
    const checked = checkRenew(agentId, leases, leaseTtlMs, report);
    return checked === undefined
      ? this.adapter.renew(agentId, leases, leaseTtlMs)
      : this.adapter.renew(agentId, leases, leaseTtlMs, checked);
  }

  async complete(items: CompleteInput[]): Promise<SettleOutcome[]> {
    return this.adapter.complete(checkCompletes(items, this.#maxPayloadBytes));
  }

  async fail(items: FailInput[]): Promise<SettleOutcome[]> {
    return this.adapter.fail(checkFails(items));
  }

  async release(items: ReleaseInput[]): Promise<SettleOutcome[]> {
    return this.adapter.release(checkReleases(items));
  }

  async appendLogs(items: LogAppend[]): Promise<LogAppendOutcome[]> {
    return this.adapter.appendLogs(checkLogAppends(items));
  }

  async readLogs(options: ReadLogsOptions): Promise<LogPage> {
    return this.adapter.readLogs(checkReadLogs(options));
  }

  async readAgentLogs(options?: ReadAgentLogsOptions): Promise<LogPage> {
    return this.adapter.readAgentLogs(checkReadAgentLogs(options));
  }

  async cancelTask(taskId: string, reason?: string): Promise<TaskRecord> {
    checkId(taskId, 'cancelTask.taskId', 'a task');
    return this.adapter.cancelTask(taskId, checkReason(reason, 'cancelTask.reason'));
  }

  async retryTask(taskId: string, options?: RetryTaskOptions): Promise<TaskRecord> {
    checkId(taskId, 'retryTask.taskId', 'a task');
    return this.adapter.retryTask(taskId, checkRetryOptions(options));
  }

  async cancelRun(runId: string, reason?: string): Promise<RunRecord> {
    checkId(runId, 'cancelRun.runId', 'a run');
    return this.adapter.cancelRun(runId, checkReason(reason, 'cancelRun.reason'));
  }

  async registerAgent(agent: AgentSpec): Promise<AgentRecord> {
    return this.adapter.registerAgent(checkAgent(agent));
  }

  async agentOwner(agentId: string): Promise<{ owner: string | null } | null> {
    checkId(agentId, 'agentOwner.agentId', 'an agent');
    return this.adapter.agentOwner(agentId);
  }

  async heartbeat(agentId: string, report?: AgentReport): Promise<void> {
    checkId(agentId, 'heartbeat.agentId', 'an agent');
    return report === undefined
      ? this.adapter.heartbeat(agentId)
      : this.adapter.heartbeat(agentId, checkReport(report, 'heartbeat.report'));
  }

  async deregisterAgent(agentId: string): Promise<void> {
    checkId(agentId, 'deregisterAgent.agentId', 'an agent');
    return this.adapter.deregisterAgent(agentId);
  }

  async sweep(options: SweepOptions): Promise<SweepResult> {
    return this.adapter.sweep(checkSweepOptions(options));
  }

  async getTask(taskId: string): Promise<TaskRecord | null> {
    checkId(taskId, 'getTask.taskId', 'a task');
    return this.adapter.getTask(taskId);
  }

  async getAttempts(taskId: string): Promise<AttemptRecord[]> {
    checkId(taskId, 'getAttempts.taskId', 'a task');
    return this.adapter.getAttempts(taskId);
  }

  async listTasks(filter?: TaskFilter): Promise<TaskPage> {
    return this.adapter.listTasks(checkTaskFilter(filter));
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    checkId(runId, 'getRun.runId', 'a run');
    return this.adapter.getRun(runId);
  }

  async listRuns(filter?: RunFilter): Promise<RunPage> {
    return this.adapter.listRuns(checkRunFilter(filter));
  }

  async listAgents(): Promise<AgentRecord[]> {
    return this.adapter.listAgents();
  }

  async stats(): Promise<Stats> {
    return this.adapter.stats();
  }

  async readEvents(options?: ReadEventsOptions): Promise<BatonEvent[]> {
    return this.adapter.readEvents(checkReadEvents(options));
  }

  async latestEvents(options: LatestEventsOptions): Promise<BatonEvent[]> {
    return this.adapter.latestEvents(checkLatestEvents(options));
  }

  async lastEventId(): Promise<string | null> {
    return this.adapter.lastEventId();
  }

  async recordEvent(event: RecordableEvent): Promise<string> {
    return this.adapter.recordEvent(checkRecordedEvent(event, this.#maxPayloadBytes));
  }

  async waitForWork(options: WaitForWorkOptions): Promise<void> {
    return this.adapter.waitForWork(checkWait(options));
  }

  async recordModelChoice(input: ModelChoiceInput): Promise<ModelChoiceOutcome> {
    return this.adapter.recordModelChoice(checkModelChoice(input));
  }

  async recordModelOutcome(input: ModelOutcomeInput): Promise<void> {
    return this.adapter.recordModelOutcome(checkModelOutcome(input));
  }

  async modelHistory(query: ModelHistoryQuery): Promise<ModelHistory[]> {
    return this.adapter.modelHistory(checkModelHistoryQuery(query));
  }

  async recordUsage(input: UsageInput): Promise<UsageOutcome> {
    return this.adapter.recordUsage(checkUsage(input));
  }

  async usageOf(taskId: string): Promise<UsageRecord[]> {
    checkId(taskId, 'usageOf.taskId', 'a task');
    return this.adapter.usageOf(taskId);
  }

  async costs(query?: CostQuery): Promise<CostReport> {
    return this.adapter.costs(checkCostQuery(query));
  }

  async budgetOf(id: string): Promise<BudgetStatus | null> {
    checkId(id, 'budgetOf.id', 'a run or task');
    return this.adapter.budgetOf(id);
  }

  async reserveBudget(input: ReserveInput): Promise<ReserveOutcome> {
    return this.adapter.reserveBudget(checkReserve(input));
  }

  async releaseReservation(reservationId: string, taskId?: string): Promise<boolean> {
    checkId(reservationId, 'releaseReservation.reservationId', 'a reservation');
    if (taskId !== undefined) checkId(taskId, 'releaseReservation.taskId', 'a task');
    return this.adapter.releaseReservation(reservationId, taskId);
  }

  async getState(scope: string, key: string): Promise<StateEntry | null> {
    checkStateKey(scope, key, 'getState');
    return this.adapter.getState(scope, key);
  }

  async setState(input: StateWrite): Promise<StateOutcome> {
    return this.adapter.setState(checkStateWrite(input));
  }

  async deleteState(input: StateDelete): Promise<StateOutcome> {
    return this.adapter.deleteState(checkStateDelete(input));
  }

  async listState(scope: string, options?: StateListOptions): Promise<StateEntry[]> {
    return this.adapter.listState(scope, checkStateList(scope, options));
  }
  async addExpertiseVersion(input: ExpertiseVersionInput): Promise<ExpertiseVersion> {
    return this.adapter.addExpertiseVersion(checkExpertiseVersionInput(input));
  }

  async expertiseVersions(domain: string): Promise<ExpertiseVersion[]> {
    checkExpertiseDomain(domain, 'expertiseVersions');
    return this.adapter.expertiseVersions(domain);
  }

  async getExpertiseVersion(domain: string, version?: number): Promise<ExpertiseVersion | null> {
    checkExpertiseDomain(domain, 'getExpertiseVersion');
    if (version !== undefined) checkExpertiseVersionNumber(version, 'getExpertiseVersion');
    return this.adapter.getExpertiseVersion(domain, version);
  }

  async close(): Promise<void> {
    return this.adapter.close();
  }
}

/** Put the checking layer in front of an adapter (once: a checked backend is returned as is). */
export function checkedBackend(adapter: Backend, options: CheckedOptions = {}): Backend {
  return adapter instanceof CheckedBackend ? adapter : new CheckedBackend(adapter, options);
}
