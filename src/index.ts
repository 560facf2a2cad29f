/**
 * Baton's public entry: the client and worker, the domain types, the named errors, the
 * backend seam, and the built-in executors.
 */

// Client and worker.
export {
  Baton,
  WaitTimeoutError,
  type EventsOptions,
  type OpenOptions,
  type WaitOptions,
} from './runtime/baton.ts';
export {
  Worker,
  type TaskContext,
  type TaskHandler,
  type WorkerEventMap,
  type WorkerOptions,
} from './runtime/worker.ts';
export { retryDelayOf, toTaskError } from './runtime/task-error.ts';
export type { OutputStream, TaskLog } from './runtime/task-log.ts';
export type { LogsOptions } from './runtime/log-reader.ts';

// Autoscaling pool of worker processes, and the pure scaling rule an external autoscaler can reuse.
export {
  Pool,
  defaultWorkerCommand,
  type PoolDecisionEvent,
  type PoolEventMap,
  type PoolOptions,
  type PoolWorkerInfo,
  type SpawnWorkerContext,
  type WorkerCommand,
} from './runtime/pool.ts';
export {
  decideScale,
  eligibleDepth,
  workersWanted,
  type ScaleDecision,
  type ScaleInput,
  type ScaleLimits,
  type ScaleWorker,
} from './core/scaling.ts';

// Domain model.
export * from './core/types.ts';
export * from './core/logs.ts';

// Named errors with stable codes.
export * from './core/errors.ts';

// The backend seam.
export { openBackend, DEFAULT_STORE_URL } from './backends/open.ts';
export { outcomeError, assertSettled, MAX_RELEASE_DELAY_MS } from './backends/backend.ts';
export type {
  Backend,
  BackendFeatures,
  BackendOptions,
  CarriedLogs,
  ClaimRequest,
  CompleteInput,
  FailInput,
  LeaseRef,
  LogAppend,
  LogAppendOutcome,
  LogLineInput,
  ReadAgentLogsOptions,
  ReadEventsOptions,
  ReadLogsOptions,
  ReleaseInput,
  RetryTaskOptions,
  RunFilter,
  RunPage,
  SettleOutcome,
  Stats,
  StoreLocation,
  SubmitTasksOptions,
  SubmittedRun,
  SubmittedTask,
  SweepOptions,
  SweepResult,
  TaskFilter,
  TaskPage,
  WaitForWorkOptions,
} from './backends/backend.ts';

// Executors.
export {
  runShell,
  shellHandler,
  type OutputLog,
  type ShellHandlerContext,
  type ShellHandlerOptions,
  type ShellPayload,
  type ShellResult,
  type RunShellOptions,
} from './executors/shell.ts';
export {
  AgentHttpError,
  BusyError,
  checkHealth,
  httpHandler,
  parseHttpPayload,
  parseRetryAfter,
  type CheckHealthOptions,
  type HealthResult,
  type HttpHandlerContext,
  type HttpHandlerOptions,
  type HttpPayload,
} from './executors/http.ts';
export {
  ModelBusyError,
  ModelCallError,
  llmHandler,
  llmSetupProblem,
  normalizeUsage,
  tiersProblems,
  estimateLlmCall,
  type LlmCallEstimate,
  type SelectedModel,
  type CompatibleSettings,
  type LlmHandlerContext,
  type LlmHandlerOptions,
  type LlmProviders,
  type LlmUsage,
  type ModelErrorCode,
  type ProviderSettings,
} from './executors/llm/index.ts';
export {
  AgentError,
  agentHandler,
  type AgentCosts,
  type AgentErrorCode,
  type AgentHandlerContext,
  type AgentHandlerOptions,
  type AgentResult,
} from './executors/agent/index.ts';
export {
  AGENT_KINDS,
  AGENT_TASK_TYPE,
  checkAgentPayload,
  type AgentKind,
  type AgentPayload,
} from './core/agent.ts';
export {
  loadConfig,
  type BatonConfig,
  type ConfigSource,
  type ResolvedConfig,
} from './runtime/config.ts';
export {
  LLM_FIELDS,
  LLM_TASK_TYPE,
  checkLlmPayload,
  compileOutputSchema,
  parseModelId,
  type LlmPayload,
  type ModelRef,
  type OutputSchema,
} from './core/llm.ts';
// The goal planner (docs/planner.md).
export {
  planHandler,
  type PlanHandlerOptions,
  type PlanResult,
  type PlannerStore,
} from './executors/planner/index.ts';
export {
  GOAL_LIMITS,
  PLAN_TASK_TYPE,
  checkPlanPayload,
  goalProblem,
  type PlanPayload,
} from './core/goal.ts';
export { runResult, type RunResult } from './core/run-result.ts';
export {
  TemplateError,
  checkTemplate,
  parseTemplate,
  renderTemplate,
  type TemplateRef,
  type TemplateScope,
  type TemplateValues,
} from './core/template.ts';

// Plan files.
export {
  checkAgentsCoverTasks,
  loadPlan,
  parsePlan,
  type Plan,
  type PlanAgent,
  type PlanTask,
} from './runtime/plan.ts';

// The usage and cost ledger, pricing and budgets (docs/costs.md).
export * from './core/ledger.ts';
export {
  checkPrices,
  costAt,
  worstCaseAt,
  type ModelPrice,
  type PriceOverrides,
} from './core/pricing.ts';
export { Prices, type CallEstimate, type Priced } from './runtime/prices.ts';
export { AttemptCosts, Ledger, type LeaseHolder, type LedgerOptions } from './runtime/ledger.ts';
export { recordedModelChoice, recordedUsage, reservationOf } from './backends/backend.ts';
export type {
  BudgetRefusal,
  CostQuery,
  ModelChoiceInput,
  ModelChoiceOutcome,
  ModelHistory,
  ModelHistoryQuery,
  ModelOutcomeInput,
  ReserveInput,
  ReserveOutcome,
  UsageInput,
  UsageOutcome,
} from './backends/backend.ts';
export {
  COMPLEXITIES,
  DEFAULT_CHOICE_POLICY,
  TIERS,
  chooseModel,
  complexityOf,
  type ChoiceInput,
  type ChoicePolicy,
  type Complexity,
  type ModelChoice,
  type ModelTiers,
  type Tier,
  type TierHistory,
} from './core/model-choice.ts';
