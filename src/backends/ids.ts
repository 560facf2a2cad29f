/**
 * Sortable ids: a prefix naming the kind, then a monotonic ULID (time-ordered, so ids of one
 * process sort in creation order). Shared by every adapter so ids look the same everywhere.
 */
import { monotonicFactory } from 'ulidx';

const ulid = monotonicFactory();

export const newTaskId = (): string => `tsk_${ulid()}`;
export const newRunId = (): string => `run_${ulid()}`;
export const newAgentId = (): string => `agt_${ulid()}`;

export const isRunId = (id: string): boolean => id.startsWith('run_');
