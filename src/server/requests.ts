/**
 * How request bodies and query strings are read before a route runs: the body parsers (JSON
 * measured for nesting before it is parsed, YAML plans as text, nothing else), and query strings
 * held to the parameters each route names.
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';

import { ValidationError } from '../core/errors.ts';
import { jsonTextTooDeep, tooDeepMessage } from '../core/nesting.ts';
import { truncate } from '../core/text.ts';
import { LIMITS } from '../core/validate.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The query parameters a route takes; absent: none, and any given is refused. */
    query?: z.ZodObject;
  }
  interface FastifyRequest {
    /**
     * The text of a JSON body as it was sent: a plan read from it (`POST /v1/runs`) reports
     * problems at the lines of the client's text.
     */
    jsonText?: string;
  }
}

/** Content types a plan may be posted as (`POST /v1/runs`); the route gets the text. */
export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

/**
 * The content type of a plan file as JSON (`POST /v1/runs`), read as a plan whatever its shape;
 * `application/json` is read as a plan or a RunSpec by its shape (`isPlanShaped`).
 */
export const PLAN_JSON_TYPE = 'application/vnd.baton.plan+json';

/**
 * The body parsers: JSON (Fastify's own, with its prototype-poisoning protection, after the
 * text's nesting is measured: `JSON.parse` and zod recurse per level), YAML as text (the plan
 * reader checks its nesting), and no others: a plain-text body is refused (415), not read as a
 * plan, since any web page may send one without asking (a CORS "simple request").
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', PLAN_JSON_TYPE],
    { parseAs: 'string' },
    (request, body, done) => {
      const text = body as string;
      const deep = jsonTextTooDeep(text, LIMITS.maxDocumentDepth);
      if (deep !== null) {
        done(
          new ValidationError([
            {
              path: deep.path,
              message: `${tooDeepMessage(deep.limit)} (line ${deep.line}, column ${deep.column} of the body)`,
            },
          ]),
          undefined,
        );
        return;
      }
      request.jsonText = text;
      // Fastify's default parser answers through `done`, synchronously.
      void parseJson(request, text, done);
    },
  );
  app.removeContentTypeParser('text/plain');
}

/**
 * Query strings are strict on every route: a route names the parameters it takes in its config
 * (`config.query`; the handler checks their values), and any other is refused with a 400 naming
 * it. Register it after auth, whose answer says more.
 */
export function refuseUnknownQueries(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const query = request.query as Record<string, unknown>;
    if (request.is404 || Object.keys(query).length === 0) {
      done();
      return;
    }
    const takes = Object.keys(request.routeOptions.config.query?.shape ?? {});
    const issues = Object.keys(query)
      .filter((name) => !takes.includes(name))
      .map((name) => ({
        path: `query.${name}`,
        message: `unknown query parameter '${truncate(name, 60)}'; ${request.method} ${request.routeOptions.url ?? ''} takes ${takes.length === 0 ? 'none' : takes.join(', ')} (see GET /openapi.json)`,
      }));
    done(issues.length === 0 ? undefined : new ValidationError(issues));
  });
}
