/**
 * The task-log routes of the HTTP API (docs/logs.md, docs/http-api.md): a page of a task's log,
 * the same live as Server-Sent Events (`id:` is each line's seq, so an EventSource resumes with
 * `Last-Event-ID`; an `end` event once the task finished and its lines were sent), and log lines
 * across tasks by agent, level and time (agent logs). Scope `read`.
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';

import { isRunId } from '../backends/ids.ts';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import type { LogLine } from '../core/logs.ts';
import type { Baton } from '../runtime/baton.ts';
import type { Scope } from './auth.ts';
import {
  AgentLogsQuerySchema,
  IdParamsSchema,
  TaskLogStreamQuerySchema,
  TaskLogsQuerySchema,
} from './schemas.ts';
import { streamSse } from './sse.ts';

/** How often a live log looks for new lines. */
const FOLLOW_POLL_MS = 250;

export function registerLogRoutes(
  app: FastifyInstance,
  baton: Baton,
  streams: Set<AbortController>,
): void {
  const readWith = (query: z.ZodObject) => ({ config: { scope: 'read' as Scope, query } });

  app.get('/v1/tasks/:id/logs', readWith(TaskLogsQuerySchema), async (request) => {
    const { id } = IdParamsSchema.parse(request.params);
    const q = TaskLogsQuerySchema.parse(request.query);
    if (isRunId(id)) throw new NotFoundError('task', id);
    return await baton.readLogs({
      taskId: id,
      ...(q.attempt === undefined ? {} : { attempt: q.attempt }),
      ...(q.after === undefined ? {} : { after: q.after }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.stream === undefined ? {} : { stream: q.stream }),
    });
  });

  app.get(
    '/v1/tasks/:id/logs/stream',
    readWith(TaskLogStreamQuerySchema),
    async (request, reply) => {
      const { id } = IdParamsSchema.parse(request.params);
      const q = TaskLogStreamQuerySchema.parse(request.query);
      const header = request.headers['last-event-id'];
      const lastEventId = Array.isArray(header) ? header[0] : header;
      let after = q.after;
      if (lastEventId !== undefined && lastEventId !== '') {
        if (!/^\d{1,15}$/.test(lastEventId)) {
          throw new ValidationError([
            {
              path: 'headers.last-event-id',
              message: `must be the id of a line this stream sent (a whole number); got '${lastEventId.slice(0, 40)}'`,
            },
          ]);
        }
        after = Number(lastEventId);
      }
      // Refused before the stream starts: an unknown task is a plain 404.
      if (isRunId(id) || (await baton.get(id)) === null) throw new NotFoundError('task', id);
      await streamSse(
        request,
        reply,
        streams,
        (signal) =>
          baton.logs(id, {
            follow: true,
            signal,
            pollMs: FOLLOW_POLL_MS,
            ...(after === undefined ? {} : { after }),
            ...(q.attempt === undefined ? {} : { attempt: q.attempt }),
            ...(q.stream === undefined ? {} : { stream: q.stream }),
          }),
        (line: LogLine) => `id: ${line.seq}\nevent: line\ndata: ${JSON.stringify(line)}\n\n`,
        () => `event: end\ndata: ${JSON.stringify({ taskId: id })}\n\n`,
      );
    },
  );

  app.get('/v1/logs', readWith(AgentLogsQuerySchema), async (request) => {
    const q = AgentLogsQuerySchema.parse(request.query);
    return await baton.agentLogs({
      ...(q.agent === undefined ? {} : { agentId: q.agent }),
      ...(q.level === undefined ? {} : { level: q.level }),
      ...(q.since === undefined ? {} : { since: q.since }),
      ...(q.until === undefined ? {} : { until: q.until }),
      ...(q.after === undefined ? {} : { after: q.after }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
    });
  });
}
