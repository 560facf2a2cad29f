/**
 * Grouping of small submissions on Redis. A one-shot submission (at most one chunk, see
 * `fitsOneCall`) made while no submission call is in flight is sent at once, alone: a lone
 * submitter waits for nothing. Submissions made while a call is in flight (an HTTP server reading
 * many `POST /v1/tasks` at once) wait for its answer, and all of them are then sent in ONE call of
 * `lua/submit-13.lua`: one round trip and one script start instead of one each, and one `finish()`
 * (counts, wake-up markers, stream trim). The busier the store, the larger the groups.
 *
 * The script applies the submissions one after the other, each atomically and independently (a
 * refused one writes nothing, the next ones go on; a later one sees what an earlier one stored),
 * and answers one reply per submission: each caller gets its own reply and handles it as a lone
 * submission would (an idempotency key taken meanwhile, a run that changed). When the call itself
 * fails (Redis unreachable), every submission of the group rejects with that error.
 */
import { CHUNK_BYTES, CHUNK_TASKS } from './submit.ts';

/**
 * At most this many submissions share a call; the next ones start a new group. With the task and
 * byte bounds below, one call holds Redis no longer than one chunk of a large submission does.
 */
export const BATCH_MAX_SUBMISSIONS = 64;
/** At most this many tasks in one call (as in one staged chunk). */
export const BATCH_MAX_TASKS = CHUNK_TASKS;
/** At most about this many bytes of arguments in one call (as in one staged chunk). */
export const BATCH_MAX_BYTES = CHUNK_BYTES;

/** Script arguments, as ioredis sends them. */
export type Args = (string | number)[];

/**
 * Send one call carrying these submissions' arguments (each: its now, commit arguments, tasks)
 * and resolve with the script's reply: one entry per submission, in order.
 */
export type SendBatch = (submissions: readonly Args[]) => Promise<unknown>;

interface Member {
  args: Args;
  resolve: (reply: unknown) => void;
  reject: (error: unknown) => void;
}

export class SubmitBatcher {
  readonly #send: SendBatch;
  #pending: Member[] = [];
  #pendingTasks = 0;
  #pendingBytes = 0;
  /** Submission calls sent and not answered yet. */
  #inFlight = 0;

  constructor(send: SendBatch) {
    this.#send = send;
  }

  /**
   * Queue one submission of `tasks` tasks, given by its script arguments; resolves with its own
   * reply once its group's call answered, or rejects with the call's error.
   */
  add(args: Args, tasks: number): Promise<unknown> {
    const bytes = argsBytes(args);
    if (
      this.#pending.length >= BATCH_MAX_SUBMISSIONS ||
      (this.#pending.length > 0 &&
        (this.#pendingTasks + tasks > BATCH_MAX_TASKS ||
          this.#pendingBytes + bytes > BATCH_MAX_BYTES))
    ) {
      this.flush();
    }
    const promise = new Promise<unknown>((resolve, reject) => {
      this.#pending.push({ args, resolve, reject });
    });
    this.#pendingTasks += tasks;
    this.#pendingBytes += bytes;
    // Nothing in flight: go now. A group as large as a call may be goes now too: no later
    // submission could join it. Otherwise wait for the call in flight to answer.
    if (
      this.#inFlight === 0 ||
      this.#pendingTasks >= BATCH_MAX_TASKS ||
      this.#pendingBytes >= BATCH_MAX_BYTES
    ) {
      this.flush();
    }
    return promise;
  }

  /**
   * Send the waiting submissions now. The backend calls this before sending anything else on its
   * connection, so that the commands of one process reach Redis in the order they were called.
   */
  flush(): void {
    if (this.#pending.length === 0) return;
    const members = this.#pending;
    this.#pending = [];
    this.#pendingTasks = 0;
    this.#pendingBytes = 0;
    void this.#commit(members);
  }

  /** Never rejects: every member's promise settles. */
  async #commit(members: Member[]): Promise<void> {
    let replies: unknown;
    this.#inFlight++;
    try {
      // Called synchronously (from flush): the call is written to the connection now, in order.
      replies = await this.#send(members.map((m) => m.args));
    } catch (error) {
      for (const member of members) member.reject(error);
      return;
    } finally {
      this.#inFlight--;
      // The submissions that gathered while this call was out go now, together.
      if (this.#inFlight === 0) this.flush();
    }
    if (!Array.isArray(replies) || replies.length !== members.length) {
      const error = new Error(
        `bug: the submit script answered ${JSON.stringify(replies)} for ${members.length} submissions`,
      );
      for (const member of members) member.reject(error);
      return;
    }
    members.forEach((member, i) => member.resolve(replies[i]));
  }
}

/** UTF-16 length of the arguments, as a cheap stand-in for their bytes. */
function argsBytes(args: Args): number {
  let bytes = 0;
  for (const arg of args) bytes += typeof arg === 'string' ? arg.length + 4 : 12;
  return bytes;
}
