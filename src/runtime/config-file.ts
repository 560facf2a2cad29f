/**
 * Reading `baton.config.yaml` (docs/config.md): the YAML parse and the checks of every field,
 * with plan-style `file:line:column` errors. Apart from config.ts so that a command run where no
 * config file exists does not load the YAML parser.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { PlanError, type PlanIssue } from '../core/errors.ts';
import { describeValue, didYouMean } from '../core/text.ts';
import {
  findConfigFile,
  isRecord,
  resolveConfig,
  SHAPE,
  type ConfigFileValues,
  type ConfigFlags,
  type ResolvedConfig,
  type Segment,
  type Shape,
} from './config.ts';
import { readYamlDocument } from './plan.ts';

/**
 * Read and check a config file.
 * @throws PlanError (`BATON_PLAN`) listing every problem with its line, as plans do.
 */
export function loadConfigFile(file: string): ConfigFileValues {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PlanError(
      file,
      [
        {
          line: 1,
          column: 1,
          field: '',
          message:
            code === 'ENOENT'
              ? `no such config file (looked in ${resolve(file)})`
              : `cannot be read: ${(error as Error).message}`,
        },
      ],
      { cause: error },
    );
  }
  return parseConfig(text, file);
}

/** Check a config file given as text. @throws PlanError */
export function parseConfig(text: string, file: string): ConfigFileValues {
  const { doc, locator } = readYamlDocument(text, file);
  const data: unknown = doc.toJS({ maxAliasCount: 1000 });
  const issues: PlanIssue[] = [];
  const out: ConfigFileValues = { file, values: new Map(), lines: new Map() };
  const add = (path: Segment[], message: string, preferKey = false): void => {
    const { line, column } = locator.position(path, preferKey);
    issues.push({ line, column, field: path.join('.'), message });
  };
  if (data !== null && data !== undefined) {
    if (!isRecord(data)) {
      add(
        [],
        `the config file must be a mapping (store, parallel, cost, …); got ${describeValue(data)}`,
      );
    } else {
      walk(data, SHAPE, [], add, (path, value) => {
        const key = path.join('.');
        out.values.set(key, value);
        out.lines.set(key, locator.position(path).line);
      });
    }
  }
  if (issues.length > 0) {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new PlanError(file, issues);
  }
  return out;
}

function walk(
  data: Record<string, unknown>,
  shape: Shape,
  at: Segment[],
  add: (path: Segment[], message: string, preferKey?: boolean) => void,
  set: (path: Segment[], value: unknown) => void,
): void {
  const known = Object.keys(shape);
  for (const [field, value] of Object.entries(data)) {
    const path = [...at, field];
    const rule = shape[field];
    if (rule === undefined) {
      add(
        path,
        `unknown field '${field}'${didYouMean(field, known)}; allowed fields${at.length > 0 ? ` of ${at.join('.')}` : ''}: ${known.join(', ')}`,
        true,
      );
      continue;
    }
    if (value === null) continue; // `field:` with nothing: the default
    if (typeof rule === 'function') {
      const problem = rule(value);
      if (problem === null) set(path, value);
      else if (typeof problem === 'string') add(path, problem);
      else for (const p of problem) add([...path, ...p.below], p.message);
      continue;
    }
    if (!isRecord(value)) {
      add(
        path,
        `must be a mapping of ${Object.keys(rule).join(', ')}; got ${describeValue(value)}`,
      );
      continue;
    }
    walk(value, rule, path, add, set);
  }
}

/**
 * Find (or take `explicit`), read and merge the configuration.
 * @param cwd where the search starts. @throws PlanError for a bad or missing named file.
 */
export function loadConfig(options: {
  explicit?: string | undefined;
  cwd: string;
  env: NodeJS.ProcessEnv;
  flags?: ConfigFlags;
}): ResolvedConfig {
  const file =
    options.explicit !== undefined
      ? resolve(options.cwd, options.explicit)
      : findConfigFile(options.cwd);
  const values = file === null ? null : loadConfigFile(file);
  return resolveConfig(values, options.env, options.flags ?? {});
}
