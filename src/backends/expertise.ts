/**
 * Expertise versions above the seam: the checks every `addExpertiseVersion`,
 * `expertiseVersions` and `getExpertiseVersion` call gets before it reaches an adapter, decided
 * once for both backends.
 */
import { DOMAIN_PATTERN } from '../core/agent.ts';
import { ValidationError } from '../core/errors.ts';
import type { ExpertiseVersionInput } from './backend.ts';

/** The largest file text a version may hold (UTF-8 bytes). */
export const EXPERTISE_VERSION_MAX_BYTES = 1024 * 1024;
/** What may write a version. */
export const EXPERTISE_SOURCES = ['learn', 'add_learning', 'rollback', 'import'] as const;

export function checkExpertiseDomain(domain: unknown, op: string): void {
  if (typeof domain !== 'string' || !DOMAIN_PATTERN.test(domain))
    throw new ValidationError([
      {
        path: 'domain',
        message: `${op}: a domain is 1-64 lowercase letters, digits, '-' and '_', starting with a letter or digit (e.g. api); got ${JSON.stringify(domain)}`,
      },
    ]);
}

export function checkExpertiseVersionNumber(version: unknown, op: string): void {
  if (!(typeof version === 'number' && Number.isSafeInteger(version) && version >= 1))
    throw new ValidationError([
      {
        path: 'version',
        message: `${op}: a version is a whole number from 1; got ${JSON.stringify(version)}`,
      },
    ]);
}

export function checkExpertiseVersionInput(input: ExpertiseVersionInput): ExpertiseVersionInput {
  const op = 'addExpertiseVersion';
  checkExpertiseDomain(input.domain, op);
  const issues: { path: string; message: string }[] = [];
  if (typeof input.text !== 'string')
    issues.push({ path: 'text', message: 'the file text must be a string' });
  else if (Buffer.byteLength(input.text) > EXPERTISE_VERSION_MAX_BYTES)
    issues.push({
      path: 'text',
      message: `the file text is larger than ${EXPERTISE_VERSION_MAX_BYTES} bytes`,
    });
  if (!(EXPERTISE_SOURCES as readonly string[]).includes(input.source))
    issues.push({
      path: 'source',
      message: `must be one of ${EXPERTISE_SOURCES.join(', ')}; got ${JSON.stringify(input.source)}`,
    });
  const origin = input.origin ?? null;
  if (origin !== null && (typeof origin !== 'string' || origin.length === 0 || origin.length > 200))
    issues.push({ path: 'origin', message: 'must be a string of 1-200 characters, or null' });
  if (issues.length > 0)
    throw new ValidationError(issues.map((i) => ({ ...i, message: `${op}: ${i.message}` })));
  return { domain: input.domain, text: input.text, source: input.source, origin };
}
