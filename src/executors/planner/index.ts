/**
 * The `plan` executor (docs/planner.md): a goal becomes a validated DAG of tasks in its run.
 */
export {
  planHandler,
  type PlanHandlerOptions,
  type PlanResult,
  type PlannerStore,
} from './handler.ts';
