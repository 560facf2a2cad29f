/**
 * Which names the API answers to, and which web pages may call it: the defence against DNS
 * rebinding and cross-site requests while the API has no tokens.
 *
 * Without tokens, whatever reaches the port can use the API, so the server binds loopback only
 * (see `buildServer`). That alone does not keep web pages out. A page on `evil.example` can point
 * its own name at 127.0.0.1 (DNS rebinding) and then call the API as its own origin; any page can
 * open a WebSocket to 127.0.0.1 (browsers apply no CORS to WebSockets) or send a simple POST.
 * A browser always says who is asking, though: `Host` carries the name the page used, and
 * `Origin` the page's own origin. So, without tokens:
 * - `Host` must be a loopback name (`localhost`, `127.x.x.x`, `[::1]`, with any port or none) or
 *   a name the operator allowed (`allowedHosts`, `baton server --allowed-hosts`);
 * - a request that carries an `Origin` (a browser's) must come from a page on such a host, or
 *   from an origin `cors` allows.
 *
 * With tokens, a page cannot use the API without one, and browsers never send a bearer token on
 * their own; a server with tokens is also reached by names nobody can list in advance (its IP,
 * a load balancer's name). So neither header is checked then, unless `allowedHosts` is given:
 * an operator who lists names gets the `Host` check with tokens too.
 */
import type { FastifyInstance } from 'fastify';

import { ValidationError } from '../core/errors.ts';
import { isLoopback } from './auth.ts';
import { HttpError } from './errors.ts';

export interface HostGuardOptions {
  /** True when no token is configured (the API is open to whoever reaches it). */
  open: boolean;
  /** Further host names (or `name:port`) to answer to, besides the loopback names. */
  allowedHosts?: readonly string[] | undefined;
  /** The server's CORS origins: pages from these may call an open API. */
  cors?: readonly string[] | '*' | undefined;
}

/** A host name (lower case, IPv6 in brackets) and its port, or null for any port. */
interface HostName {
  name: string;
  port: string | null;
}

const NAME = /^(?:[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?|\[[0-9a-f:.]+\])$/;
const PORT = /^[0-9]{1,5}$/;
const LOOPBACK_NAMES = 'localhost, 127.0.0.1 and [::1]';

/** Checks each request's `Host` and `Origin` headers against the names the server answers to. */
export class HostGuard {
  readonly #open: boolean;
  readonly #checkHost: boolean;
  readonly #allowed: HostName[];
  readonly #cors: readonly string[] | '*';
  /** How messages list the accepted names. */
  readonly #names: string;

  /** @throws ValidationError naming each `allowedHosts` entry that is not a host name. */
  constructor(options: HostGuardOptions) {
    this.#open = options.open;
    this.#cors = options.cors ?? [];
    const entries = options.allowedHosts ?? [];
    const issues: { path: string; message: string }[] = [];
    this.#allowed = [];
    entries.forEach((entry, index) => {
      const parsed = typeof entry === 'string' ? splitHost(entry) : null;
      if (parsed === null) {
        issues.push({
          path: `allowedHosts[${index}]`,
          message: `must be a host name or address, optionally with a port (e.g. baton.internal, baton.internal:7400, 10.0.0.5 or [fd00::1]), without a scheme or path; got ${JSON.stringify(entry)}`,
        });
      } else {
        this.#allowed.push(parsed);
      }
    });
    if (issues.length > 0) throw new ValidationError(issues);
    this.#checkHost = this.#open || options.allowedHosts !== undefined;
    this.#names =
      this.#allowed.length === 0
        ? LOOPBACK_NAMES
        : `localhost, 127.0.0.1, [::1] and ${entries.join(', ')}`;
  }

  /**
   * @param host the request's `Host` header.
   * @param origin the request's `Origin` header (sent by browsers).
   * @throws HttpError 403 `BATON_FORBIDDEN` when the host or the page is not allowed.
   */
  check(host: string | undefined, origin: string | undefined): void {
    if (this.#checkHost) {
      const parsed = host === undefined ? null : splitHost(host);
      if (parsed === null || !this.#answersTo(parsed)) {
        const shown = host === undefined ? 'no Host header' : `the Host header '${host}'`;
        const allow =
          parsed === null
            ? ''
            : ` If you reached it by this name on purpose, start it with --allowed-hosts ${parsed.name} (the allowedHosts option of buildServer)${this.#open ? ', or configure API tokens (BATON_API_TOKENS)' : ''}.`;
        throw new HttpError(
          403,
          'BATON_FORBIDDEN',
          `this server answers only to ${this.#names}, and the request has ${shown}${this.#open ? ' (without API tokens, other names are refused so that no web page can reach the API by DNS rebinding)' : ''}.${allow}`,
          { host: host ?? null },
        );
      }
    }
    if (this.#open && origin !== undefined && !this.#pageAllowed(origin)) {
      throw new HttpError(
        403,
        'BATON_FORBIDDEN',
        `a web page from ${origin} may not call this API: without API tokens only pages served from ${this.#names}, or from an origin allowed with --cors, may. To allow this page, start the server with --cors ${origin} (the cors option of buildServer), or configure API tokens (BATON_API_TOKENS).`,
        { origin },
      );
    }
  }

  #answersTo(host: HostName): boolean {
    if (isLoopback(host.name)) return true;
    return this.#allowed.some(
      (a) => a.name === host.name && (a.port === null || a.port === host.port),
    );
  }

  #pageAllowed(origin: string): boolean {
    if (this.#cors === '*' || this.#cors.includes(origin)) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false; // `null` (a sandboxed page, a file) and anything else that is not a URL
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
    return this.#answersTo({ name: url.hostname.toLowerCase(), port });
  }
}

/**
 * Check every request's `Host` and `Origin` (see above). Register it first, before CORS answers
 * a preflight.
 * @throws ValidationError for a malformed `allowedHosts` entry.
 */
export function guardHostsAndOrigins(app: FastifyInstance, options: HostGuardOptions): void {
  const guard = new HostGuard(options);
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      guard.check(request.headers.host, request.headers.origin);
      done();
    } catch (error) {
      done(error as Error);
    }
  });
}

/** `name[:port]` as a Host header or an `allowedHosts` entry writes it, or null when malformed. */
function splitHost(value: string): HostName | null {
  const text = value.trim().toLowerCase();
  let name: string;
  let rest: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return null;
    name = text.slice(0, close + 1);
    rest = text.slice(close + 1);
  } else {
    const colon = text.indexOf(':');
    name = colon < 0 ? text : text.slice(0, colon);
    rest = colon < 0 ? '' : text.slice(colon);
  }
  if (!NAME.test(name)) return null;
  if (rest === '') return { name, port: null };
  const port = rest.slice(1);
  return rest.startsWith(':') && PORT.test(port) ? { name, port: String(Number(port)) } : null;
}
