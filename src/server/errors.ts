/**
 * How the HTTP API reports errors: one body shape, `{"error": {"code", "message", "details"}}`,
 * and one function that maps Baton's error codes to HTTP statuses, so every route answers the
 * same failure the same way the SDK and the CLI name it.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';

import { BatonError, type ErrorCode } from '../core/errors.ts';

/** The body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/** Codes the HTTP layer adds to Baton's own (`src/core/errors.ts`). */
export type HttpErrorCode =
  | ErrorCode
  | 'BATON_UNAUTHORIZED'
  | 'BATON_FORBIDDEN'
  | 'BATON_UNSUPPORTED_MEDIA_TYPE'
  | 'BATON_ROUTE_NOT_FOUND'
  | 'BATON_INTERNAL';

/** An error raised by the HTTP layer itself (auth, routing, media types). */
export class HttpError extends Error {
  readonly status: number;
  readonly code: HttpErrorCode;
  readonly details: Record<string, unknown>;
  constructor(
    status: number,
    code: HttpErrorCode,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The one place that maps a Baton error code to an HTTP status. */
export function httpStatus(code: string): number {
  switch (code) {
    case 'BATON_VALIDATION':
    case 'BATON_CYCLE':
    case 'BATON_PLAN':
    case 'BATON_STORE_URL':
      return 400;
    case 'BATON_UNAUTHORIZED':
      return 401;
    case 'BATON_FORBIDDEN':
      return 403;
    case 'BATON_NOT_FOUND':
    case 'BATON_ROUTE_NOT_FOUND':
      return 404;
    case 'BATON_CONFLICT':
    case 'BATON_LEASE_LOST':
    case 'BATON_AGENT_LOST':
    case 'BATON_CANCELLED':
      return 409;
    case 'BATON_PAYLOAD_TOO_LARGE':
      return 413;
    case 'BATON_UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'BATON_STORE_UNAVAILABLE':
    case 'BATON_CLOSED':
      return 503;
    case 'BATON_TIMEOUT':
      return 504;
    default:
      return 500;
  }
}

/** Zod's issues as Baton's `{ path, message }` list, paths written as `tasks[2].key`. */
export function zodIssues(error: ZodError, prefix = ''): { path: string; message: string }[] {
  return error.issues.map((issue) => {
    let path = prefix;
    for (const part of issue.path) {
      path +=
        typeof part === 'number' ? `[${part}]` : path === '' ? String(part) : `.${String(part)}`;
    }
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}; remove ${issue.keys.length > 1 ? 'them' : 'it'} (see GET /openapi.json for the accepted fields)`;
    }
    return { path, message };
  });
}

/** Turn anything thrown in a route into a status and an error body. */
export function toErrorResponse(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message, details: error.details } },
    };
  }
  if (error instanceof BatonError) {
    return {
      status: httpStatus(error.code),
      body: { error: { code: error.code, message: error.message, details: error.details } },
    };
  }
  if (error instanceof ZodError) {
    const issues = zodIssues(error);
    return {
      status: 400,
      body: {
        error: {
          code: 'BATON_VALIDATION',
          message: issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('\n'),
          details: { issues },
        },
      },
    };
  }
  const fastifyError = error as Partial<FastifyError>;
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    // Fastify's own refusals: bad JSON, body too large, unsupported content type.
    const status = fastifyError.statusCode;
    const code: HttpErrorCode =
      status === 413
        ? 'BATON_PAYLOAD_TOO_LARGE'
        : status === 415
          ? 'BATON_UNSUPPORTED_MEDIA_TYPE'
          : 'BATON_VALIDATION';
    return {
      status,
      body: {
        error: {
          code,
          message: fastifyError.message ?? 'bad request',
          details: { fastifyCode: fastifyError.code ?? null },
        },
      },
    };
  }
  return {
    status: 500,
    body: {
      error: {
        code: 'BATON_INTERNAL',
        message: 'internal server error; the server log has the details',
        details: {},
      },
    },
  };
}

/** Fastify's error handler: every error leaves as an {@link ErrorBody}. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorResponse(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  void reply.status(status).send(body);
}
