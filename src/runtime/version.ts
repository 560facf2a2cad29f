/** The version of this Baton, which each worker registers its agent with. */
import { readFileSync } from 'node:fs';

let cached: string | null | undefined;

/**
 * `version` of Baton's package.json (`src/runtime` and `dist/runtime` both sit two levels below
 * it), or null when it cannot be read.
 */
export function batonVersion(): string | null {
  if (cached !== undefined) return cached;
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    cached = null;
  }
  return cached;
}
