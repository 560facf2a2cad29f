/**
 * How the HTTP API reports errors: one body shape, `{"error": {"code", "message", "details"}}`,
 * and one function that maps Baton's error codes to HTTP statuses, so every route answers the
 * same failure the same way the SDK and the CLI name it.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';

import { BatonError, type ErrorCode } from '../core/errors.ts';
import { truncate } from '../core/text.ts';
import { LIMITS } from '../core/validate.ts';

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
  | 'BATON_REQUEST_TIMEOUT'
  | 'BATON_URI_TOO_LONG'
  | 'BATON_HEADERS_TOO_LARGE'
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
    case 'BATON_BUDGET_EXCEEDED':
    case 'BATON_LEASE_LOST':
    case 'BATON_AGENT_LOST':
    case 'BATON_CANCELLED':
      return 409;
    case 'BATON_REQUEST_TIMEOUT':
      return 408;
    case 'BATON_PAYLOAD_TOO_LARGE':
      return 413;
    case 'BATON_URI_TOO_LONG':
      return 414;
    case 'BATON_UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'BATON_HEADERS_TOO_LARGE':
      return 431;
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

/** What {@link toErrorResponse} may say about the request, for Fastify's own refusals. */
export interface RequestContext {
  /** The request's path and query, as sent. */
  url?: string;
  /** The route's largest body, in bytes. */
  bodyLimit?: number | undefined;
}

/**
 * The longest path parameter the server routes (Fastify's `maxParamLength`): the longest id an
 * agent may register with, so every id the API hands out or accepts fits in a path.
 */
export const MAX_PARAM_LENGTH = LIMITS.maxKeyLength;

/** Turn anything thrown in a route into a status and an error body. */
export function toErrorResponse(
  error: unknown,
  context: RequestContext = {},
): { status: number; body: ErrorBody } {
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
    const { code, message, details } = fastifyRefusal(fastifyError, context);
    return {
      status: httpStatus(code) === 500 ? fastifyError.statusCode : httpStatus(code),
      body: {
        error: { code, message, details: { ...details, fastifyCode: fastifyError.code ?? null } },
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

/** Fastify's own refusals (body, media type, URL), worded as Baton words its errors. */
function fastifyRefusal(
  error: Partial<FastifyError>,
  context: RequestContext,
): { code: HttpErrorCode; message: string; details: Record<string, unknown> } {
  const route = context.url === undefined ? 'the request' : truncate(context.url, 120);
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        code: 'BATON_PAYLOAD_TOO_LARGE',
        message: `the request body is over the server's limit${context.bodyLimit === undefined ? '' : ` of ${context.bodyLimit} bytes`}; send less (store large data elsewhere and pass a reference), or raise the server's bodyLimit`,
        details: context.bodyLimit === undefined ? {} : { limitBytes: context.bodyLimit },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        code: 'BATON_UNSUPPORTED_MEDIA_TYPE',
        message: `${error.message ?? 'unsupported media type'}; send the body as application/json (POST /v1/runs also takes a plan file as application/yaml or application/vnd.baton.plan+json)`,
        details: {},
      };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return {
        code: 'BATON_URI_TOO_LONG',
        message: `${route} has a path parameter over ${MAX_PARAM_LENGTH} characters, longer than any task, run or agent id; check the URL`,
        details: { maxLength: MAX_PARAM_LENGTH },
      };
    case 'FST_ERR_BAD_URL':
      return {
        code: 'BATON_VALIDATION',
        message: `${route} is not a valid URL (a malformed %-escape?); encode path parameters with encodeURIComponent`,
        details: {},
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        code: 'BATON_VALIDATION',
        message:
          'the body is empty but its Content-Type says JSON; send a JSON body, or no Content-Type',
        details: {},
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        code: 'BATON_VALIDATION',
        message:
          'the body is not valid JSON, or has a "__proto__" or "constructor.prototype" key, which is refused',
        details: {},
      };
    default:
      return {
        code: error.statusCode === 415 ? 'BATON_UNSUPPORTED_MEDIA_TYPE' : 'BATON_VALIDATION',
        message: error.message ?? 'bad request',
        details: {},
      };
  }
}

/**
 * How long the rest of a refused body is read and thrown away before the connection is closed.
 * Long enough for a client on a slow link to finish sending (and then read the answer), short
 * enough that a client sending forever is cut off.
 */
export const REFUSED_BODY_DRAIN_MS = 10_000;

/** Fastify's error handler: every error leaves as an {@link ErrorBody}. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorResponse(error, {
    url: request.url,
    // The server's limit: no route sets its own, and Fastify's early refusals have no route.
    bodyLimit: request.server.initialConfig.bodyLimit,
  });
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  // Fastify answers a body it will not read (too large) with `Connection: close`. Closing while
  // the client still sends makes the kernel reset the connection, and the client may never read
  // this answer (a 50 MB upload saw "connection reset", not 413). Read and discard the rest
  // instead, as Node does after every other early answer (401, 415 …), for a bounded time.
  if (reply.getHeader('connection') === 'close' && !request.raw.complete) {
    reply.removeHeader('connection');
    discardRest(request.raw);
  }
  void reply.status(status).send(body);
}

/** Close the connection if the rest of the request has not arrived within the drain time. */
function discardRest(request: IncomingMessage): void {
  const timer = setTimeout(() => {
    if (!request.complete) request.socket.destroy();
  }, REFUSED_BODY_DRAIN_MS);
  timer.unref();
  request.once('end', () => clearTimeout(timer));
  request.socket.once('close', () => clearTimeout(timer));
}

/**
 * Node's refusals before a request reaches Fastify (headers too large, a malformed request, a
 * request that took too long), answered with an {@link ErrorBody} like every other error. The
 * connection is closed after the answer: after such an error the request's framing is unknown.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message]: [number, HttpErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'BATON_HEADERS_TOO_LARGE',
          'the request headers are over the 16 KiB this server reads; send fewer or shorter headers (a bearer token is far shorter)',
        ]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'BATON_REQUEST_TIMEOUT', 'the request took too long to arrive; send it again']
        : [400, 'BATON_VALIDATION', `malformed HTTP request (${error.code ?? 'unknown error'})`];
  if (socket.writable) {
    const text = JSON.stringify({
      error: { code, message, details: { nodeCode: error.code ?? null } },
    } satisfies ErrorBody);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}
