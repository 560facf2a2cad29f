/**
 * The `llm` executor (docs/llm.md): model calls as tasks.
 */
export {
  llmHandler,
  llmSetupProblem,
  type LlmHandlerContext,
  type LlmHandlerOptions,
} from './handler.ts';
export {
  ModelBusyError,
  ModelCallError,
  mapModelError,
  redact,
  retryAfterOf,
  type CallDescription,
  type ModelErrorCode,
} from './errors.ts';
export {
  Providers,
  type CompatibleSettings,
  type LlmProviders,
  type ProviderSettings,
  type ResolvedModel,
} from './providers.ts';
export { normalizeUsage, type LlmUsage } from './usage.ts';
export { estimateLlmCall, type LlmCallEstimate } from './budget.ts';
export {
  selectModel,
  taskComplexity,
  tiersProblems,
  type SelectedModel,
  type SelectionContext,
} from './auto.ts';
