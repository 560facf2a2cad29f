/**
 * Baton's MCP tools, defined once: `createMcpServer` builds an `McpServer` with every tool bound
 * to one caller, and the stdio (`baton mcp`) and Streamable HTTP (`/mcp` on `baton server`)
 * transports serve it. Tools are declared with zod input schemas, and `readOnlyHint` where they
 * only read. A refusal is an MCP error result whose text is `<code>: <message>` (docs/mcp.md).
 */
import { join } from 'node:path';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

import { stateOf, type Backend, type StateEntry } from '../backends/backend.ts';
import { BatonError, ValidationError } from '../core/errors.ts';
import type { Json, TaskRecord, TaskSpec, TaskState } from '../core/types.ts';
import { TASK_STATES } from '../core/types.ts';
import { DOMAIN_PATTERN } from '../core/agent.ts';
import { mergeLearnings } from '../runtime/expertise-merge.ts';
import { expertisePath, expertiseRoot, readExpertise } from '../runtime/expertise.ts';
import { batonVersion } from '../runtime/version.ts';
import { refuseWorkspacePayloads } from '../workspace/spec.ts';
import { Access, runFolder } from './access.ts';
import { ToolError } from './errors.ts';
import type { McpCaller } from './identity.ts';
import { QUERY_LIMITS, QUERY_VIEWS, type QueryRunner } from './query.ts';
import { Sandbox } from './sandbox.ts';

/** What the tools work on. */
export interface ToolContext {
  /** The store (a checked backend, as `Baton.backend`). */
  backend: Backend;
  /** Who calls. */
  caller: McpCaller;
  /**
   * The read-only SQL of `query`, or null when the store has none (Redis, an in-memory store):
   * `query` then answers BATON_NOT_AVAILABLE.
   */
  query: QueryRunner | null;
  /**
   * Where a client's (not an attempt's) expertise files are: the directory `.baton/expertise/`
   * is looked for from. An attempt's are its sandbox's (its worktree's). @default process.cwd()
   */
  expertiseDir?: string;
  /** Lines an expertise file may hold (`learning.expertiseMaxLines`). @default 1000 */
  expertiseMaxLines?: number;
}

type Result = CallToolResult;

function ok(value: Record<string, unknown>): Result {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

/** An error as the MCP error result every tool answers with. */
export function errorResult(error: unknown): Result {
  let code = 'BATON_INTERNAL';
  let message = error instanceof Error ? error.message : String(error);
  let details: Record<string, unknown> = {};
  if (error instanceof ToolError || error instanceof BatonError) {
    code = error.code;
    details = error.details;
  } else if (error instanceof z.ZodError) {
    code = 'BATON_VALIDATION';
    message = error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  } else {
    message = `the tool failed unexpectedly: ${message}`;
  }
  return {
    isError: true,
    content: [{ type: 'text', text: `${code}: ${message}` }],
    structuredContent: { error: { code, message, details } },
  };
}

function wrap<A>(
  fn: (args: A) => Promise<Record<string, unknown>> | Record<string, unknown>,
): (args: A) => Promise<Result> {
  return async (args) => {
    try {
      return ok(await fn(args));
    } catch (error) {
      return errorResult(error);
    }
  };
}

const READ = { readOnlyHint: true, openWorldHint: false } as const;
const WRITE = { readOnlyHint: false, destructiveHint: false, openWorldHint: false } as const;
const OVERWRITE = { readOnlyHint: false, destructiveHint: true, openWorldHint: false } as const;

const runArg = z
  .string()
  .optional()
  .describe("The run (run_…). An attempt's token always means its own run: leave it out.");
const stateNamespaceArg = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe(
    "A named state namespace shared across runs (needs a token that grants it). Default: the run's state.",
  );

const dependsOnArg = z.array(
  z.union([z.string(), z.object({ key: z.string(), soft: z.boolean().optional() })]),
);
const taskSpecArg = z
  .looseObject({
    type: z.string().describe('Which handler runs it (e.g. shell, llm, agent).'),
    key: z.string().optional().describe('Unique in the run; what dependsOn names.'),
    title: z.string().optional(),
    epic: z.string().optional(),
    payload: z.unknown().optional().describe("The task's JSON input."),
    dependsOn: dependsOnArg.optional().describe('Keys of tasks of the run it waits for.'),
    requires: z.array(z.string()).optional(),
    priority: z.union([z.number(), z.enum(['critical', 'high', 'medium', 'low'])]).optional(),
    maxAttempts: z.number().optional(),
    timeoutMs: z.number().optional(),
  })
  .describe('A task, as in a plan file (docs/plans.md); checked as spawn checks it.');

/** A task as tools show it: what an agent needs, not the store's bookkeeping. */
function taskView(task: TaskRecord): Record<string, unknown> {
  return {
    id: task.id,
    runId: task.runId,
    key: task.key,
    type: task.type,
    title: task.title,
    epic: task.epic,
    state: task.state,
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    agentId: task.agentId,
    dependsOn: task.dependsOn,
    payload: task.payload,
    result: task.result,
    error: task.error,
    createdAt: task.createdAt,
    startedAt: task.startedAt,
    finishedAt: task.finishedAt,
  };
}

function entryView(entry: StateEntry): Record<string, unknown> {
  return {
    key: entry.key,
    value: entry.value,
    version: entry.version,
    expiresAt: entry.expiresAt,
    updatedAt: entry.updatedAt,
  };
}

/** The sandbox a file tool works in: the caller's own, or another task's of its run (read-only). */
async function sandboxFor(
  access: Access,
  task: string | undefined,
  tool: string,
): Promise<Sandbox> {
  const grant = access.attempt(tool);
  if (task === undefined || task === grant.taskId) return new Sandbox(grant.sandbox, true);
  const other = await access.taskByRef(task, grant.runId, tool);
  if (other.id === grant.taskId) return new Sandbox(grant.sandbox, true);
  return new Sandbox(join(grant.filesRoot, runFolder(grant.runId), other.id), false);
}

/** Build an MCP server with every Baton tool bound to `ctx`'s caller. */
export function createMcpServer(ctx: ToolContext): McpServer {
  const server = new McpServer(
    { name: 'baton', version: batonVersion() ?? '0.0.0' },
    {
      instructions:
        "Baton's tools: the tasks of your run, shared state with versions and TTLs, your task's files, and read-only SQL over the store. Errors read '<code>: <message>'.",
    },
  );
  const { backend } = ctx;
  const access = new Access(ctx.caller, backend);

  // -- Tasks -------------------------------------------------------------------------------------

  server.registerTool(
    'get_task',
    {
      title: 'Get a task',
      description: 'A task of your run by id (tsk_…) or key: its state, result and error.',
      inputSchema: z.strictObject({
        task: z.string().min(1).describe('A task id (tsk_…) or a key of the run.'),
        run: runArg,
      }),
      annotations: READ,
    },
    wrap(async ({ task, run }) => {
      access.need('read', 'get_task');
      const record = await access.taskByRef(task, access.run(run, 'get_task'), 'get_task');
      return { task: taskView(record) };
    }),
  );

  server.registerTool(
    'list_tasks',
    {
      title: 'List tasks',
      description: 'Tasks of your run, filtered by state, type or agent; a page at a time.',
      inputSchema: z.strictObject({
        run: runArg,
        state: z.enum(TASK_STATES as [TaskState, ...TaskState[]]).optional(),
        type: z.string().optional(),
        agent: z.string().optional(),
        limit: z.number().int().min(1).max(1000).optional().describe('Default 100.'),
        cursor: z.string().optional().describe('nextCursor of the previous page.'),
      }),
      annotations: READ,
    },
    wrap(async ({ run, state, type, agent, limit, cursor }) => {
      access.need('read', 'list_tasks');
      const runId = access.run(run, 'list_tasks');
      if (access.grant !== null && runId === null)
        throw new ToolError('BATON_FORBIDDEN', 'list_tasks: this task is outside any run');
      const page = await backend.listTasks({
        ...(runId === null ? {} : { runId }),
        ...(state === undefined ? {} : { state }),
        ...(type === undefined ? {} : { type }),
        ...(agent === undefined ? {} : { agentId: agent }),
        ...(limit === undefined ? {} : { limit }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      return { tasks: page.tasks.map(taskView), nextCursor: page.nextCursor };
    }),
  );

  server.registerTool(
    'get_dependency_results',
    {
      title: "Get dependencies' results",
      description:
        "The outcome (state, result, error) of each task a task depends on, by key: your task's by default.",
      inputSchema: z.strictObject({
        task: z.string().optional().describe('Default: your task.'),
        run: runArg,
      }),
      annotations: READ,
    },
    wrap(async ({ task, run }) => {
      access.need('read', 'get_dependency_results');
      const runId = access.run(run, 'get_dependency_results');
      const ref = task ?? access.grant?.taskId;
      if (ref === undefined)
        throw new ValidationError([
          { path: 'task', message: 'name the task (outside a task there is no default)' },
        ]);
      const record = await access.taskByRef(ref, runId, 'get_dependency_results');
      const dependencies: Record<string, unknown> = {};
      if (record.dependsOn.length > 0 && record.runId !== null) {
        const byKey = new Map((await access.runTasks(record.runId)).map((t) => [t.key, t]));
        for (const dep of record.dependsOn) {
          const found = byKey.get(dep.key);
          dependencies[dep.key] = found
            ? {
                taskId: found.id,
                state: found.state,
                soft: dep.soft,
                result: found.result,
                error: found.error,
              }
            : { taskId: null, state: null, soft: dep.soft, result: null, error: null };
        }
      }
      return { task: record.id, dependencies };
    }),
  );

  server.registerTool(
    'submit_tasks',
    {
      title: 'Submit tasks',
      description:
        'Add tasks to your run (fan-out, join): dependsOn may name keys already in the run. Checked as spawn checks them; all are stored or none.',
      inputSchema: z.strictObject({ tasks: z.array(taskSpecArg).min(1), run: runArg }),
      annotations: WRITE,
    },
    wrap(async ({ tasks, run }) => {
      access.need('submit', 'submit_tasks');
      const runId = access.run(run, 'submit_tasks');
      await access.checkLease();
      refuseWorkspacePayloads(tasks, (i) => `tasks[${i}].payload`);
      const submitted = await backend.submitTasks(
        tasks as unknown as TaskSpec[],
        runId === null ? {} : { runId },
      );
      return { runId, tasks: submitted };
    }),
  );

  server.registerTool(
    'report_progress',
    {
      title: 'Report progress',
      description:
        "A line in your task's log (baton logs, the dashboard), with an optional percentage.",
      inputSchema: z.strictObject({
        message: z.string().min(1).max(4000),
        percent: z.number().min(0).max(100).optional(),
      }),
      annotations: WRITE,
    },
    wrap(async ({ message, percent }) => {
      const grant = access.attempt('report_progress');
      await access.checkLease();
      const text = percent === undefined ? message : `[${Math.round(percent)}%] ${message}`;
      const [outcome] = await backend.appendLogs([
        {
          taskId: grant.taskId,
          token: grant.token,
          agentId: grant.agentId,
          lines: [{ text, stream: 'log', level: 'info' }],
        },
      ]);
      if (outcome?.status !== 'ok')
        throw new ToolError(
          'BATON_FORBIDDEN',
          `report_progress: ${outcome?.reason ?? 'not stored'}`,
        );
      return { logged: text };
    }),
  );

  // -- Shared state ------------------------------------------------------------------------------

  server.registerTool(
    'get_state',
    {
      title: 'Get shared state',
      description:
        "A value of your run's shared state (or of a state namespace), with its version.",
      inputSchema: z.strictObject({
        key: z.string().min(1).max(512),
        namespace: stateNamespaceArg,
        run: runArg,
      }),
      annotations: READ,
    },
    wrap(async ({ key, namespace, run }) => {
      access.need('read', 'get_state');
      const entry = await backend.getState(access.stateScope(namespace, run, 'get_state'), key);
      return entry === null ? { key, found: false } : { found: true, ...entryView(entry) };
    }),
  );

  server.registerTool(
    'set_state',
    {
      title: 'Set shared state',
      description:
        'Write a JSON value. expectedVersion makes it a compare-and-set (0: only if absent), so two agents cannot overwrite each other by accident; ttlMs makes it expire.',
      inputSchema: z.strictObject({
        key: z.string().min(1).max(512),
        value: z.unknown().describe('Any JSON value.'),
        ttlMs: z.number().int().min(1).optional().describe('Expire this many ms after the write.'),
        expectedVersion: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe('Write only if the entry is at this version (0: only if there is none).'),
        namespace: stateNamespaceArg,
        run: runArg,
      }),
      annotations: OVERWRITE,
    },
    wrap(async ({ key, value, ttlMs, expectedVersion, namespace, run }) => {
      access.need('work', 'set_state');
      const fence = access.fence();
      const input = {
        scope: access.stateScope(namespace, run, 'set_state'),
        key,
        value: (value ?? null) as Json,
        ...(ttlMs === undefined ? {} : { ttlMs }),
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
        ...(fence === undefined ? {} : { fence }),
      };
      const entry = stateOf(await backend.setState(input), input)!;
      return entryView(entry);
    }),
  );

  server.registerTool(
    'delete_state',
    {
      title: 'Delete shared state',
      description: 'Delete a value (only at expectedVersion, when given).',
      inputSchema: z.strictObject({
        key: z.string().min(1).max(512),
        expectedVersion: z.number().int().min(1).optional(),
        namespace: stateNamespaceArg,
        run: runArg,
      }),
      annotations: OVERWRITE,
    },
    wrap(async ({ key, expectedVersion, namespace, run }) => {
      access.need('work', 'delete_state');
      const fence = access.fence();
      const input = {
        scope: access.stateScope(namespace, run, 'delete_state'),
        key,
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
        ...(fence === undefined ? {} : { fence }),
      };
      const deleted = stateOf(await backend.deleteState(input), input);
      return { key, deleted: deleted !== null };
    }),
  );

  server.registerTool(
    'list_state',
    {
      title: 'List shared state',
      description: 'The live values of your run (or a state namespace), in key order.',
      inputSchema: z.strictObject({
        prefix: z.string().max(512).optional(),
        after: z.string().max(512).optional().describe('The last key of the previous page.'),
        limit: z.number().int().min(1).max(1000).optional().describe('Default 100.'),
        namespace: stateNamespaceArg,
        run: runArg,
      }),
      annotations: READ,
    },
    wrap(async ({ prefix, after, limit, namespace, run }) => {
      access.need('read', 'list_state');
      const entries = await backend.listState(access.stateScope(namespace, run, 'list_state'), {
        ...(prefix === undefined ? {} : { prefix }),
        ...(after === undefined ? {} : { after }),
        ...(limit === undefined ? {} : { limit }),
      });
      return { entries: entries.map(entryView) };
    }),
  );

  // -- Files -------------------------------------------------------------------------------------

  const taskArg = z
    .string()
    .optional()
    .describe('Another task of your run (id or key) whose folder to read; default: your own.');

  server.registerTool(
    'read_file',
    {
      title: 'Read a file',
      description:
        "A file of your task's sandbox (or, read-only, of another task's folder in your run), by a path relative to it.",
      inputSchema: z.strictObject({
        path: z.string(),
        task: taskArg,
        encoding: z.enum(['utf8', 'base64']).optional().describe('Default utf8.'),
      }),
      annotations: READ,
    },
    wrap(async ({ path, task, encoding }) => {
      const sandbox = await sandboxFor(access, task, 'read_file');
      return await sandbox.readBytes(path, encoding ?? 'utf8');
    }),
  );

  server.registerTool(
    'write_file',
    {
      title: 'Write a file',
      description:
        "Create or replace a file in your task's sandbox, by a path relative to it (folders are created).",
      inputSchema: z.strictObject({
        path: z.string(),
        content: z.string(),
        encoding: z.enum(['utf8', 'base64']).optional().describe('Default utf8.'),
      }),
      annotations: OVERWRITE,
    },
    wrap(async ({ path, content, encoding }) => {
      const sandbox = await sandboxFor(access, undefined, 'write_file');
      await access.checkLease();
      return await sandbox.write(path, content, encoding ?? 'utf8');
    }),
  );

  server.registerTool(
    'list_files',
    {
      title: 'List files',
      description:
        "The entries of a folder of your task's sandbox (or of another task's folder in your run).",
      inputSchema: z.strictObject({
        path: z.string().optional().describe('Default: the sandbox itself.'),
        task: taskArg,
      }),
      annotations: READ,
    },
    wrap(async ({ path, task }) => {
      const sandbox = await sandboxFor(access, task, 'list_files');
      return await sandbox.list(path ?? '');
    }),
  );

  // -- Expertise ---------------------------------------------------------------------------------

  const domainArg = z
    .string()
    .regex(DOMAIN_PATTERN, 'a domain is lowercase letters, digits, - and _ (e.g. api, database)')
    .describe('The domain (api, database, frontend, testing, security, deployment, general, …).');
  const learned = z.string().trim().min(1).max(500);
  const maxLines = ctx.expertiseMaxLines ?? 1000;
  /** The directory holding the caller's `.baton/expertise/`. */
  const expertiseStart = (): string => access.grant?.sandbox ?? ctx.expertiseDir ?? process.cwd();

  server.registerTool(
    'get_expertise',
    {
      title: 'Get expertise',
      description:
        "A domain's expertise file (.baton/expertise/<domain>.yaml): overview, core files, patterns, best practices, what was learned from failures.",
      inputSchema: z.strictObject({ domain: domainArg }),
      annotations: READ,
    },
    wrap(async ({ domain }) => {
      access.need('read', 'get_expertise');
      const found = await readExpertise(expertiseStart(), domain, maxLines);
      if (found === null)
        throw new ToolError(
          'BATON_NOT_FOUND',
          `get_expertise: the domain '${domain}' has no expertise file (${expertisePath(expertiseRoot(expertiseStart()), domain)})${access.grant === null ? '' : '; add_learning creates it'}`,
          { domain },
        );
      return { domain, text: found.text, lines: found.lines };
    }),
  );

  server.registerTool(
    'add_learning',
    {
      title: 'Add a learning',
      description:
        "Add what you learned to a domain's expertise file, with your task and attempt as its provenance; merged under the file's lease, entries already there counted as used again.",
      inputSchema: z.strictObject({
        domain: domainArg,
        patterns: z.array(learned).max(10).optional(),
        best_practices: z.array(learned).max(10).optional(),
        effective_patterns: z.array(learned).max(10).optional(),
        learned_from_failures: z
          .array(
            z.strictObject({
              issue: learned,
              error: z.string().max(500).optional(),
              solution: learned,
            }),
          )
          .max(5)
          .optional(),
      }),
      annotations: WRITE,
    },
    wrap(async ({ domain, ...learnings }) => {
      const grant = access.attempt('add_learning');
      const count = Object.values(learnings).reduce((n, list) => n + (list?.length ?? 0), 0);
      if (count === 0)
        throw new ValidationError([
          {
            path: '',
            message:
              'add_learning: give at least one entry (patterns, best_practices, effective_patterns or learned_from_failures)',
          },
        ]);
      await access.checkLease();
      const from = `${grant.taskId}#${grant.attempt}`;
      const merged = await mergeLearnings(
        expertiseRoot(expertiseStart()),
        domain,
        Object.fromEntries(Object.entries(learnings).filter(([, list]) => list !== undefined)),
        from,
        {
          maxLines,
          // Each version of the file is kept in the store (baton expertise history).
          onWrite: async (text) => {
            await backend.addExpertiseVersion({
              domain,
              text,
              source: 'add_learning',
              origin: from,
            });
          },
        },
      );
      return {
        domain,
        from,
        added: merged.added,
        reused: merged.reused,
        pruned: merged.pruned,
        lines: merged.lines,
      };
    }),
  );

  // -- Read-only SQL -----------------------------------------------------------------------------

  server.registerTool(
    'query',
    {
      title: 'Query the store (read-only SQL)',
      description: `One SQLite SELECT over the views ${Object.entries(QUERY_VIEWS)
        .map(([name, columns]) => `${name}(${columns})`)
        .join(
          '; ',
        )}. Times are epoch ms, JSON columns are text. At most ${QUERY_LIMITS.maxRows} rows and ${QUERY_LIMITS.timeoutMs} ms. An attempt sees only its run.`,
      inputSchema: z.strictObject({
        sql: z.string().min(1).max(QUERY_LIMITS.maxSqlLength),
        params: z
          .array(z.union([z.string(), z.number(), z.null()]))
          .optional()
          .describe('Values of ? placeholders.'),
        maxRows: z.number().int().min(1).max(QUERY_LIMITS.maxRows).optional(),
      }),
      annotations: READ,
    },
    wrap(({ sql, params, maxRows }) => {
      access.need('read', 'query');
      if (ctx.query === null)
        throw new ToolError(
          'BATON_NOT_AVAILABLE',
          `query is not available on this store (${backend.name}${backend.location === null ? ', not a file' : ''}): it reads a SQLite store file's views; use get_task, list_tasks and get_dependency_results instead`,
        );
      const grant = access.grant;
      const namespace = grant?.namespace ?? backend.location?.namespace ?? 'default';
      return {
        ...ctx.query.run(
          sql,
          { namespace, runId: grant === null ? null : (grant.runId ?? '') },
          params ?? [],
          maxRows,
        ),
      };
    }),
  );

  return server;
}
