/**
 * Why a lease call (renew, complete, fail, release) was refused, decided and worded once for
 * every adapter. An adapter checks in its transaction or script whether the caller holds the
 * lease; when it does not, it reports what it found there ({@link LeaseFacts}) and this module
 * says why, so no backend can word it differently or say more than another.
 *
 * No reason names a token. The current fencing token is what lets a caller settle a lease: a
 * refusal that gave it away ("the latest is 3") would hand another agent the means to complete a
 * lease it does not hold. Whether the caller is the holder is checked first, so a caller that is
 * not learns nothing about the token it sent either.
 */
import type { TaskState } from '../core/types.ts';
import type { HeldLeaseRef, SettleOutcome } from './backend.ts';

/** What the store holds of a task whose lease a call names, at the time of the check. */
export interface LeaseFacts {
  state: TaskState;
  /** The current fencing token. Used to decide, never to word. */
  token: number;
  /** The agent the task was last leased to; null if it never was. */
  agentId: string | null;
  leaseExpiresAt: number | null;
  /** The store's time of the check. */
  now: number;
}

/**
 * The outcome of a lease call that was refused: `not_found` when there is no such task (`facts`
 * null), else `lease_lost` (or `cancelled`, for the holder's renew of a cancelled task) with the
 * reason, checked in this order: another agent holds (or last held) the lease; the token is not
 * the current one; the task was cancelled; its lease ended; it expired.
 *
 * @param namespace where the task was looked for, for a `not_found` reason.
 */
export function refusedLease(
  taskId: string,
  facts: LeaseFacts | null,
  caller: HeldLeaseRef,
  renewing: boolean,
  namespace: string,
): SettleOutcome {
  if (facts === null) {
    return {
      taskId,
      status: 'not_found',
      reason: `task ${taskId} does not exist in namespace '${namespace}'`,
    };
  }
  const lost = (reason: string): SettleOutcome => ({ taskId, status: 'lease_lost', reason });
  if (facts.agentId !== caller.agentId) {
    return lost(
      `agent ${caller.agentId} does not hold this lease: only the agent that claimed the task can renew, complete, fail or release it`,
    );
  }
  if (facts.token !== caller.token) {
    return lost(
      'the token is not the current one of this lease: the task was leased again since, or the token was never issued',
    );
  }
  if (facts.state === 'cancelled') {
    return renewing
      ? { taskId, status: 'cancelled', reason: 'the task was cancelled; stop working on it' }
      : lost('the task was cancelled');
  }
  if (facts.state !== 'running') {
    return lost(
      `the task is ${facts.state} (its lease ended: released, expired, timed out or settled)`,
    );
  }
  return lost(
    `the lease expired at ${facts.leaseExpiresAt ?? 'an earlier time'} (now ${facts.now}); renew more often than leaseTtlMs`,
  );
}
