/**
 * Bearer-token auth. Tokens come from options or `BATON_API_TOKENS`
 * (`token:scope1+scope2,token2:read`); each grants scopes:
 * - `read`: every GET (tasks, runs, agents, stats, events);
 * - `submit`: submit and cancel tasks and runs, retry failed tasks;
 * - `work`: the worker protocol (register, heartbeat, claim, renew, complete, fail, release);
 * - `admin`: everything, and alone: merging a run into a branch of its repository
 *   (`POST /v1/runs/:id/merge`, src/server/merge.ts).
 *
 * Tokens are compared as SHA-256 digests with `timingSafeEqual`, so neither the comparison's
 * time nor the digest's length says how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import { ValidationError } from '../core/errors.ts';
import { HttpError } from './errors.ts';

export type Scope = 'read' | 'submit' | 'work' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'submit', 'work', 'admin'];

/** One accepted bearer token and what it may do. */
export interface ApiToken {
  token: string;
  scopes: Scope[];
}

/**
 * Shortest token `BATON_API_TOKENS` accepts. A token is a password that never has to be typed:
 * make it long and random, e.g. `openssl rand -hex 32` or
 * `node -e "console.log(crypto.randomBytes(32).toString('base64url'))"`.
 */
export const MIN_TOKEN_LENGTH = 16;

const TOKEN_ADVICE = `use a random token of at least ${MIN_TOKEN_LENGTH} characters, e.g. from \`openssl rand -hex 32\``;

/**
 * Parse `token:scope1+scope2,token2:read`. The empty string means "no tokens"; anything else
 * must be a list of valid entries, so a stray `,` or a blank value never turns auth off.
 * @throws ValidationError naming the entry and what is wrong with it (never the token itself).
 */
export function parseTokens(spec: string, source = 'BATON_API_TOKENS'): ApiToken[] {
  if (spec === '') return [];
  const tokens: ApiToken[] = [];
  const issues: { path: string; message: string }[] = [];
  spec.split(',').forEach((raw, index) => {
    const entry = raw.trim();
    const path = `${source}[${index}]`;
    if (entry === '') {
      issues.push({
        path,
        message: `is empty; write token:scope1+scope2 entries separated by single commas (an empty ${source} turns auth off)`,
      });
      return;
    }
    const colon = entry.lastIndexOf(':');
    if (colon <= 0 || colon === entry.length - 1) {
      issues.push({
        path,
        message: 'expected token:scope1+scope2 (scopes: read, submit, work, admin)',
      });
      return;
    }
    // Every problem of the entry at once, so one edit fixes it.
    const problems: string[] = [];
    const token = entry.slice(0, colon);
    if (/\s/.test(token)) {
      problems.push(
        `the token contains white space, which no Authorization header can carry; ${TOKEN_ADVICE}`,
      );
    } else if (token.length < MIN_TOKEN_LENGTH) {
      problems.push(
        `the token has ${token.length} characters, fewer than the ${MIN_TOKEN_LENGTH} required; ${TOKEN_ADVICE}`,
      );
    }
    const scopes = entry.slice(colon + 1).split('+');
    const bad = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (bad.length > 0) {
      problems.push(
        `unknown scope ${bad.map((s) => `'${s}'`).join(', ')}; use read, submit, work or admin`,
      );
    }
    if (problems.length > 0) {
      for (const message of problems) issues.push({ path, message });
      return;
    }
    tokens.push({ token, scopes: scopes as Scope[] });
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return tokens;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * The owner fingerprint of a token: what an agent registered with it is bound to
 * (`AgentSpec.owner`, stored with the agent). A digest under its own label, so it is neither the
 * token nor the digest tokens are compared by; 128 bits of a high-entropy secret cannot be
 * turned back into it, and the same token gives the same owner on every server and after a
 * restart.
 */
export function tokenOwner(token: string): string {
  return `tok_${createHash('sha256').update('baton agent owner\0', 'utf8').update(token, 'utf8').digest('hex').slice(0, 32)}`;
}

/** Checks `Authorization: Bearer …` headers against a fixed set of tokens. */
export class Authenticator {
  readonly #tokens: { hash: Buffer; scopes: ReadonlySet<Scope>; owner: string }[];

  constructor(tokens: readonly ApiToken[]) {
    this.#tokens = tokens.map((t) => ({
      hash: digest(t.token),
      scopes: new Set(t.scopes),
      owner: tokenOwner(t.token),
    }));
  }

  /** True when no token is configured: every request is allowed (loopback only). */
  get open(): boolean {
    return this.#tokens.length === 0;
  }

  /**
   * Check the request's token and return its owner fingerprint ({@link tokenOwner}), which the
   * worker routes bind agents to; null when no token is configured (nothing is bound).
   * @throws HttpError 401 without a valid bearer token, 403 when it lacks `scope`.
   */
  authorize(header: string | undefined, scope: Scope): string | null {
    if (this.open) return null;
    const granted = this.#match(header);
    if (!granted.scopes.has(scope) && !granted.scopes.has('admin')) {
      throw new HttpError(
        403,
        'BATON_FORBIDDEN',
        `this token lacks the '${scope}' scope that this route needs`,
        { scope },
      );
    }
    return granted.owner;
  }

  #match(header: string | undefined): { scopes: ReadonlySet<Scope>; owner: string } {
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (match?.[1] === undefined) {
      throw new HttpError(
        401,
        'BATON_UNAUTHORIZED',
        'missing bearer token; send the header Authorization: Bearer <token>',
      );
    }
    const presented = digest(match[1]);
    // Compare with every token, so the time taken does not say which one matched.
    let granted: { scopes: ReadonlySet<Scope>; owner: string } | null = null;
    for (const entry of this.#tokens) {
      if (timingSafeEqual(entry.hash, presented)) granted ??= entry;
    }
    if (granted === null) {
      throw new HttpError(401, 'BATON_UNAUTHORIZED', 'the bearer token is not valid');
    }
    return granted;
  }

  /**
   * The scopes of the request's token (every scope when no token is configured), for a route
   * whose calls need different scopes (`/mcp`: each tool checks its own) and for a client that
   * shows only what it may do (the dashboard, `GET /v1/auth`).
   * @throws HttpError 401 without a valid bearer token.
   */
  scopesOf(header: string | undefined): ReadonlySet<Scope> {
    if (this.open) return new Set(SCOPES);
    return this.#match(header).scopes;
  }
}

/** Whether `host` is a loopback address (or `localhost`). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1'
  );
}
