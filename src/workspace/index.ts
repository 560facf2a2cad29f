/** Git worktrees, integration branches and merges for tasks (docs/worktrees.md). */
export { withWorkspace, ensureIntegrationBranch, RESOLVE_PREFIX } from './handler.ts';
export type {
  WorkspaceInfo,
  WorkspaceResult,
  WorkspaceTaskContext,
  ConflictInfo,
  WithWorkspaceOptions,
} from './handler.ts';
export { checkRepository, prepareWorkspaceRun, stampRun } from './prepare.ts';
export type { PreparedRun, RepositoryCheck } from './prepare.ts';
export { mergeIntoIntegration } from './merge.ts';
export type { MergeOutcome, MergeRequest } from './merge.ts';
export { mergeIntoTarget } from './target.ts';
export type { TargetOutcome } from './target.ts';
export { describeWorktrees, pruneWorktrees, runWorkspace } from './runs.ts';
export type { RunWorkspace, WorktreeVerdict } from './runs.ts';
export { runLayout, safeComponent } from './names.ts';
export { splitPayload, WORKSPACE_FIELD } from './spec.ts';
export type { WorkspaceSpec, ConflictTarget } from './spec.ts';
