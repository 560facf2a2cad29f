/**
 * Model selection's records on SQLite (docs/llm.md#model-selection; the schema is in
 * `migrations/000011_model_choice.sql`): the model `model: auto` chose for an attempt, stored on
 * the attempt's row with a `task.model_selected` event, and the history of how model calls
 * ended, by task type, complexity and model. The statements are this module's own catalogue
 * (`sql/attempt-model`, `sql/model-*`), prepared once per connection.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { AttemptModel } from '../../core/types.ts';
import type {
  ModelChoiceInput,
  ModelChoiceOutcome,
  ModelHistory,
  ModelHistoryQuery,
  ModelOutcomeInput,
} from '../backend.ts';
import { sqlText } from './database.ts';
import type { WriteTx } from './transaction.ts';

const FILES = {
  target: 'usage-target',
  attemptModel: 'attempt-model',
  outcomeAdd: 'model-outcome-add',
  history: 'model-history',
} as const;

type ModelStatements = Record<keyof typeof FILES, StatementSync>;

export class SqliteModels {
  readonly #st: ModelStatements;
  readonly #ns: string;

  constructor(db: DatabaseSync, namespace: string) {
    const st = {} as ModelStatements;
    for (const [name, file] of Object.entries(FILES) as [keyof typeof FILES, string][]) {
      st[name] = db.prepare(sqlText(file));
    }
    this.#st = st;
    this.#ns = namespace;
  }

  /** Record a choice on its attempt (Backend.recordModelChoice), in a write transaction. */
  recordChoice(tx: WriteTx, input: ModelChoiceInput): ModelChoiceOutcome {
    const target = this.#st.target.get(input.taskId, this.#ns, input.token) as
      | { seq: number; run_id: string | null; attempt: number | null; agent_id: string | null }
      | undefined;
    if (!target) return { status: 'not_found', taskId: input.taskId };
    if (target.attempt === null || target.agent_id !== input.agentId)
      return { status: 'not_held', taskId: input.taskId };
    const choice: AttemptModel = {
      model: input.model,
      tier: input.tier,
      complexity: input.complexity,
      reason: input.reason,
    };
    this.#st.attemptModel.run(target.seq, input.token, JSON.stringify(choice));
    tx.event('task.model_selected', input.taskId, target.run_id, input.agentId, {
      attempt: target.attempt,
      ...choice,
    });
    return { status: 'ok', attempt: target.attempt, runId: target.run_id };
  }

  /** Count a call's outcome (Backend.recordModelOutcome), in a write transaction. */
  recordOutcome(input: ModelOutcomeInput): void {
    this.#st.outcomeAdd.run(
      this.#ns,
      input.taskType,
      input.complexity,
      input.model,
      input.succeeded ? 1 : 0,
    );
  }

  /** The history on each model asked for (Backend.modelHistory). */
  history(query: ModelHistoryQuery): ModelHistory[] {
    const rows = this.#st.history.all(this.#ns, query.taskType, query.complexity) as {
      model: string;
      runs: number;
      succeeded: number;
    }[];
    const found = new Map(rows.map((r) => [r.model, r]));
    return query.models.map((model) => {
      const row = found.get(model);
      return { model, runs: row?.runs ?? 0, succeeded: row?.succeeded ?? 0 };
    });
  }
}
