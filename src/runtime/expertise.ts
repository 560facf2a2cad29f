/**
 * Expertise files (issue 14 §4, seed 004 §4.1): what agents learned about one domain of a
 * repository, in `.baton/expertise/<domain>.yaml`, read into the prompt of every task of that
 * domain (docs/agents.md#expertise).
 *
 * ```yaml
 * domain: database
 * overview: PostgreSQL patterns for this project
 * core_files: [src/db/schema.sql, src/db/migrations/]
 * patterns: ["Always use UUID for primary keys"]
 * best_practices: ["Run migrations in transactions"]
 * learned_from_failures:
 *   - { issue: Windows encoding error, error: UnicodeDecodeError, solution: "Use encoding='utf-8'" }
 * effective_patterns: ["Read → Edit → Test sequence works well"]
 * ```
 *
 * This module reads and checks them; `expertise-merge.ts` adds what a learn step found.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { DOMAIN_PATTERN } from '../core/agent.ts';
import { PlanError, type PlanIssue } from '../core/errors.ts';
import { describeValue, didYouMean } from '../core/text.ts';
import { readYamlDocument } from './plan.ts';

/** The domains of seed 004; any other name that fits {@link DOMAIN_PATTERN} may be added. */
export const KNOWN_DOMAINS = [
  'database',
  'api',
  'frontend',
  'testing',
  'security',
  'deployment',
  'general',
] as const;

/** The fields of an expertise file (seed 004 §4.1). */
export const EXPERTISE_FIELDS = [
  'domain',
  'overview',
  'core_files',
  'patterns',
  'best_practices',
  'learned_from_failures',
  'effective_patterns',
] as const;

export interface Expertise {
  domain: string;
  overview?: string;
  core_files?: string[];
  patterns?: string[];
  best_practices?: string[];
  learned_from_failures?: { issue?: string; error?: string; solution?: string }[];
  effective_patterns?: string[];
}

/** Where a domain's file lives under a repository root. */
export function expertisePath(root: string, domain: string): string {
  return join(root, '.baton', 'expertise', `${domain}.yaml`);
}

/**
 * The directory holding `.baton/expertise/` for `start`: the nearest one at or above it, stopping
 * at the repository's root (the directory with `.git`), else `start` itself.
 */
export function expertiseRoot(start: string): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, '.baton', 'expertise'))) return dir;
    if (existsSync(join(dir, '.git'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(start);
    dir = parent;
  }
}

/**
 * A domain's expertise as prompt text (the file as written, its first `maxLines` lines), or null
 * when the domain has no file. A bad file is an error: a prompt is not built on it silently.
 * @throws PlanError for a file that is not valid expertise.
 */
export async function readExpertise(
  start: string,
  domain: string,
  maxLines: number,
): Promise<{ file: string; text: string; lines: number } | null> {
  const file = expertisePath(expertiseRoot(start), domain);
  if (!existsSync(file)) return null;
  const text = await readFile(file, 'utf8');
  parseExpertise(text, file, domain);
  const lines = text.replace(/\n$/, '').split('\n');
  return { file, text: lines.slice(0, maxLines).join('\n'), lines: lines.length };
}

/**
 * Check an expertise file: its shape (seed 004 §4.1), its `domain` against its name.
 * @throws PlanError with each problem's line, as plans and config files have.
 */
export function parseExpertise(text: string, file: string, domain: string): Expertise {
  const { doc, locator } = readYamlDocument(text, file);
  const data: unknown = doc.toJS({ maxAliasCount: 1000 });
  const issues: PlanIssue[] = [];
  const add = (path: (string | number)[], message: string, preferKey = false): void => {
    const { line, column } = locator.position(path, preferKey);
    issues.push({ line, column, field: path.join('.'), message });
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    add(
      [],
      `an expertise file is a mapping (${EXPERTISE_FIELDS.join(', ')}); got ${describeValue(data)}`,
    );
    throw new PlanError(file, issues);
  }
  const record = data as Record<string, unknown>;
  for (const [field, value] of Object.entries(record)) {
    if (!(EXPERTISE_FIELDS as readonly string[]).includes(field)) {
      add(
        [field],
        `unknown field '${field}'${didYouMean(field, EXPERTISE_FIELDS)}; allowed fields: ${EXPERTISE_FIELDS.join(', ')}`,
        true,
      );
      continue;
    }
    if (field === 'domain' || field === 'overview') {
      if (typeof value !== 'string') add([field], `must be a string; got ${describeValue(value)}`);
    } else if (field === 'learned_from_failures') {
      if (!Array.isArray(value)) {
        add([field], `must be a list of { issue, error, solution }; got ${describeValue(value)}`);
      } else {
        value.forEach((entry: unknown, i) => {
          if (
            entry === null ||
            typeof entry !== 'object' ||
            Array.isArray(entry) ||
            Object.entries(entry).some(([k, v]) =>
              k === 'uses'
                ? typeof v !== 'number'
                : !['issue', 'error', 'solution', 'from', 'at'].includes(k) ||
                  typeof v !== 'string',
            )
          ) {
            add(
              [field, i],
              `must be { issue, error, solution } (strings); got ${describeValue(entry)}`,
            );
          }
        });
      }
    } else if (field === 'core_files') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
        add([field], `must be a list of paths (strings); got ${describeValue(value)}`);
      }
    } else if (!Array.isArray(value) || value.some((v) => !isEntry(v))) {
      add(
        [field],
        `must be a list of strings (or learned entries { text, from, at, uses }); got ${describeValue(value)}`,
      );
    }
  }
  if (record.domain === undefined) {
    add([], `is missing domain: (it should say domain: ${domain})`);
  } else if (typeof record.domain === 'string' && record.domain !== domain) {
    add(['domain'], `says '${record.domain}' but the file is ${domain}.yaml; make them agree`);
  }
  if (issues.length > 0) {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new PlanError(file, issues);
  }
  return record as unknown as Expertise;
}

/** A list entry: a string written by hand, or a learned one with its provenance. */
function isEntry(value: unknown): boolean {
  if (typeof value === 'string') return true;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.text === 'string' &&
    Object.entries(e).every(([k, v]) =>
      k === 'uses'
        ? typeof v === 'number'
        : ['text', 'from', 'at'].includes(k) && typeof v === 'string',
    )
  );
}

/** What `baton expertise validate` found. */
export interface ExpertiseCheck {
  file: string;
  lines: number;
  maxLines: number;
  /** `core_files` entries that do not exist under the repository root. */
  missingFiles: string[];
}

/**
 * Check a domain's file: its shape, its length against `maxLines`, and that the files it names
 * (`core_files`) exist.
 * @throws PlanError for a missing or malformed file.
 */
export async function validateExpertise(
  start: string,
  domain: string,
  maxLines: number,
): Promise<ExpertiseCheck> {
  if (!DOMAIN_PATTERN.test(domain)) {
    throw new PlanError(domain, [
      {
        line: 1,
        column: 1,
        field: '',
        message: `'${domain}' is not a domain name (lower-case letters, digits, '-' and '_'); known domains: ${KNOWN_DOMAINS.join(', ')}`,
      },
    ]);
  }
  const root = expertiseRoot(start);
  const file = expertisePath(root, domain);
  if (!existsSync(file)) {
    throw new PlanError(file, [
      {
        line: 1,
        column: 1,
        field: '',
        message: `no expertise file for ${domain}; write one (fields: ${EXPERTISE_FIELDS.join(', ')})`,
      },
    ]);
  }
  const text = await readFile(file, 'utf8');
  const expertise = parseExpertise(text, file, domain);
  const missingFiles = (expertise.core_files ?? []).filter((path) => {
    const target = resolve(root, path);
    return !existsSync(target) || (path.endsWith('/') && !statSync(target).isDirectory());
  });
  return { file, lines: text.replace(/\n$/, '').split('\n').length, maxLines, missingFiles };
}
