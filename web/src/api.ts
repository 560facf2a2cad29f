/**
 * The dashboard's client of the HTTP API (docs/http-api.md). Every shape is the server's own:
 * the types are inferred from the zod schemas the routes answer with (src/server/schemas.ts),
 * imported as types only, so nothing is copied and nothing of zod reaches the bundle.
 */
import type { z } from 'zod';

import type {
  AgentListSchema,
  AgentRecordSchema,
  AttemptRecordSchema,
  AuthInfoSchema,
  CostReportSchema,
  ErrorBodySchema,
  GoalBodySchema,
  EventSchema,
  LogLineSchema,
  LogPageSchema,
  MergeBodySchema,
  RunDetailSchema,
  RunPageSchema,
  RunMergedSchema,
  RunRecordSchema,
  SubmittedGoalSchema,
  SubmittedRunSchema,
  TaskDetailSchema,
  TaskPageSchema,
  TaskRecordSchema,
  TaskUsageSchema,
} from '../../src/server/schemas.ts';

export type TaskRecord = z.infer<typeof TaskRecordSchema>;
export type AttemptRecord = z.infer<typeof AttemptRecordSchema>;
export type RunRecord = z.infer<typeof RunRecordSchema>;
export type RunDetail = z.infer<typeof RunDetailSchema>;
export type RunPage = z.infer<typeof RunPageSchema>;
export type TaskPage = z.infer<typeof TaskPageSchema>;
export type TaskDetail = z.infer<typeof TaskDetailSchema>;
export type TaskUsage = z.infer<typeof TaskUsageSchema>;
export type AgentRecord = z.infer<typeof AgentRecordSchema>;
export type AgentList = z.infer<typeof AgentListSchema>;
export type CostReport = z.infer<typeof CostReportSchema>;
export type BatonEvent = z.infer<typeof EventSchema>;
export type LogLine = z.infer<typeof LogLineSchema>;
export type LogPage = z.infer<typeof LogPageSchema>;
export type SubmittedRun = z.infer<typeof SubmittedRunSchema>;
export type SubmittedGoal = z.infer<typeof SubmittedGoalSchema>;
export type GoalBody = z.input<typeof GoalBodySchema>;
export type MergeBody = z.input<typeof MergeBodySchema>;
export type RunMerged = z.infer<typeof RunMergedSchema>;
export type AuthInfo = z.infer<typeof AuthInfoSchema>;
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
export type TaskState = TaskRecord['state'];
export type Scope = AuthInfo['scopes'][number];

/** Where the token is kept: this tab only, gone when it closes. */
const TOKEN_KEY = 'baton.token';

/** A refusal of the API, with its code, message and details (e.g. a plan's issues). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(status: number, body: ErrorBody['error']) {
    super(body.message);
    this.status = status;
    this.code = body.code;
    this.details = body.details;
  }
}

/** The API's base: the page's own origin (the server that served the dashboard). */
function base(): string {
  return new URL('./', window.location.href).href.replace(/\/$/, '');
}

export function storedToken(): string | null {
  return window.sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token === null) window.sessionStorage.removeItem(TOKEN_KEY);
  else window.sessionStorage.setItem(TOKEN_KEY, token);
}

export function authHeaders(): Record<string, string> {
  const token = storedToken();
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

/** `path` (with its query) on the API, as a full URL. */
export function apiUrl(path: string, query: Record<string, string | number | undefined> = {}) {
  const url = new URL(base() + path);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
  }
  return url.href;
}

async function request<T>(
  method: 'GET' | 'POST',
  path: string,
  options: {
    query?: Record<string, string | number | undefined>;
    body?: string;
    contentType?: string;
    signal?: AbortSignal;
  } = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  if (options.body !== undefined)
    headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(apiUrl(path, options.query), {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const error = (parsed as Partial<ErrorBody> | null)?.error;
    throw new ApiError(
      response.status,
      error ?? {
        code: 'BATON_HTTP',
        message: `${method} ${path} answered ${response.status} ${response.statusText}`,
        details: {},
      },
    );
  }
  return parsed as T;
}

export const api = {
  auth: () => request<AuthInfo>('GET', '/v1/auth'),
  runs: (query: { cursor?: string | undefined; limit?: number }) =>
    request<RunPage>('GET', '/v1/runs', { query: { order: 'desc', ...query } }),
  run: (id: string, signal?: AbortSignal) =>
    request<RunDetail>('GET', `/v1/runs/${encodeURIComponent(id)}`, signal ? { signal } : {}),
  task: (id: string) => request<TaskDetail>('GET', `/v1/tasks/${encodeURIComponent(id)}`),
  taskUsage: (id: string) => request<TaskUsage>('GET', `/v1/tasks/${encodeURIComponent(id)}/usage`),
  tasks: (query: {
    type?: string;
    state?: string;
    run?: string;
    limit?: number;
    cursor?: string;
  }) => request<TaskPage>('GET', '/v1/tasks', { query }),
  agents: () => request<AgentList>('GET', '/v1/agents'),
  recentEvents: (query: { type: string; limit?: number }) =>
    request<{ events: BatonEvent[] }>('GET', '/v1/events/recent', { query }),
  costs: (query: { run?: string; by?: 'run' | 'epic' | 'task' | 'agent' | 'model' }) =>
    request<CostReport>('GET', '/v1/costs', { query }),
  taskLogs: (id: string, query: { after?: number; limit?: number }) =>
    request<LogPage>('GET', `/v1/tasks/${encodeURIComponent(id)}/logs`, { query }),
  agentLogs: (query: {
    agent?: string;
    level?: string;
    since?: string;
    until?: string;
    after?: number;
    limit?: number;
  }) => request<LogPage>('GET', '/v1/logs', { query }),
  submitPlan: (text: string, contentType: string) =>
    request<SubmittedRun>('POST', '/v1/runs', { body: text, contentType }),
  submitGoal: (goal: GoalBody) =>
    request<SubmittedGoal>('POST', '/v1/goals', { body: JSON.stringify(goal) }),
  cancelTask: (id: string) =>
    request<{ task: TaskRecord }>('POST', `/v1/tasks/${encodeURIComponent(id)}/cancel`, {
      body: JSON.stringify({ reason: 'cancelled from the dashboard' }),
    }),
  retryTask: (id: string) =>
    request<{ task: TaskRecord }>('POST', `/v1/tasks/${encodeURIComponent(id)}/retry`, {
      body: JSON.stringify({ reason: 'retried from the dashboard' }),
    }),
  cancelRun: (id: string) =>
    request<{ run: RunRecord }>('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`, {
      body: JSON.stringify({ reason: 'cancelled from the dashboard' }),
    }),
  mergeRun: (id: string, body: MergeBody) =>
    request<RunMerged>('POST', `/v1/runs/${encodeURIComponent(id)}/merge`, {
      body: JSON.stringify(body),
    }),
};

/** Whether the token's scopes allow `scope` (`admin` allows everything). */
export function can(scopes: readonly Scope[], scope: Scope): boolean {
  return scopes.includes(scope) || scopes.includes('admin');
}
