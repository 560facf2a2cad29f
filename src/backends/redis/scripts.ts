/**
 * The Lua scripts, one per operation in `lua/<name>-<numKeys>.lua` (BullMQ's layout), read from
 * disk once per process and registered on each client with ioredis `defineCommand`, which runs
 * them by EVALSHA and falls back to EVAL when Redis does not know the script yet (after a
 * restart or a SCRIPT FLUSH).
 *
 * Shared Lua lives in `lua/includes/`; a line `--@include <name>` is replaced by the text of
 * `lua/includes/<name>.lua` when the script is loaded (Redis has no `require`), keeping only the
 * definitions the script uses (see {@link pruneIncludes}).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BatonError } from '../../core/errors.ts';

/** Every script the adapter runs, by the name of its file without `-<numKeys>.lua`. */
export type ScriptName =
  | 'submit'
  | 'submit-stage'
  | 'submit-commit'
  | 'submit-publish'
  | 'submit-abort'
  | 'claim'
  | 'renew'
  | 'complete'
  | 'fail'
  | 'release'
  | 'cancel-task'
  | 'retry-task'
  | 'cancel-run'
  | 'register-agent'
  | 'heartbeat'
  | 'deregister-agent'
  | 'sweep'
  | 'sweep-timeouts'
  | 'sweep-unlock'
  | 'wait-prepare'
  | 'record-event'
  | 'get-task'
  | 'run-keys'
  | 'list-tasks'
  | 'list-runs'
  | 'list-agents'
  | 'stats'
  | 'record-usage'
  | 'record-model-choice'
  | 'reserve-budget'
  | 'release-reservation'
  | 'sweep-reservations'
  | 'append-logs'
  | 'read-logs'
  | 'read-agent-logs'
  | 'state-get'
  | 'state-set'
  | 'state-delete'
  | 'state-list';

export interface LoadedScript {
  name: ScriptName;
  /** The ioredis command name it is registered under. */
  command: string;
  numberOfKeys: number;
  lua: string;
}

/** What `defineCommand` needs of a client (a `Redis` or a `Cluster`). */
export interface ScriptHost {
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
}

/** A folder shipped next to this module (or under `src/` when running from `dist/`). */
function assetDir(name: string): string {
  const candidates = [
    new URL(`./${name}/`, import.meta.url),
    new URL(`../../../src/backends/redis/${name}/`, import.meta.url),
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new BatonError(
    'BATON_STORE_UNAVAILABLE',
    `the Redis backend cannot find its ${name}/ folder next to ${fileURLToPath(import.meta.url)}; reinstall the baton-queue package`,
  );
}

/** A top-level `local` definition of an include: the names it defines and its text. */
interface Definition {
  names: string[];
  text: string;
  /** Identifiers its code mentions (comments left out). */
  mentions: Set<string>;
}

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/g;

function mentionsOf(code: string): Set<string> {
  return new Set(code.replace(/--.*$/gm, '').match(IDENTIFIER) ?? []);
}

/**
 * The top-level definitions of an include, in order. Each starts at a line `local ...` in the
 * first column (as every top-level statement of lua/includes/ does) and runs to the next one;
 * comments between two go with the first.
 */
function definitionsOf(text: string): Definition[] {
  const definitions: Definition[] = [];
  for (const part of text.split(/^(?=local )/m)) {
    const head =
      /^local (?:function ([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_, ]*?)\s*(?:=|$))/m.exec(
        part,
      );
    const names = !part.startsWith('local ')
      ? [] // the include's leading comment
      : head?.[1] !== undefined
        ? [head[1]]
        : (head?.[2] ?? '').split(',').map((name) => name.trim());
    definitions.push({ names, text: part, mentions: mentionsOf(part) });
  }
  return definitions;
}

/**
 * The script's text with each `--@include` line replaced by the definitions of that include the
 * script needs: those whose names its own code mentions, and what those mention in turn. A
 * script runs its whole text on every call, so an unused helper still costs Redis a closure
 * (and its garbage) each time; pruning cuts what every call pays before it does anything.
 * A name mentioned only in a string or left in by mistake keeps a definition it need not:
 * pruning may keep too much, never too little.
 */
export function pruneIncludes(source: string, include: (name: string) => string): string {
  const parts: (string | Definition[])[] = [];
  let last = 0;
  for (const match of source.matchAll(/^--@include (\S+)[ \t]*$/gm)) {
    parts.push(source.slice(last, match.index));
    parts.push(definitionsOf(include(match[1]!)));
    last = match.index + match[0].length;
  }
  parts.push(source.slice(last));
  const needed = mentionsOf(parts.filter((p) => typeof p === 'string').join('\n'));
  const kept = new Set<Definition>();
  for (let grew = true; grew;) {
    grew = false;
    for (const part of parts) {
      if (typeof part === 'string') continue;
      for (const definition of part) {
        if (kept.has(definition) || !definition.names.some((name) => needed.has(name))) continue;
        kept.add(definition);
        for (const name of definition.mentions) needed.add(name);
        grew = true;
      }
    }
  }
  return parts
    .map((part) =>
      typeof part === 'string'
        ? part
        : part
            .filter((definition) => kept.has(definition))
            .map((definition) => definition.text)
            .join(''),
    )
    .join('');
}

let loaded: Map<ScriptName, LoadedScript> | null = null;

/** Every script with its includes expanded; read from disk on the first call only. */
export function loadScripts(): Map<ScriptName, LoadedScript> {
  if (loaded) return loaded;
  const dir = assetDir('lua');
  const includes = new Map<string, string>();
  const includeFrom =
    (from: string) =>
    (name: string): string => {
      let text = includes.get(name);
      if (text === undefined) {
        const file = `${dir}includes/${name}.lua`;
        if (!existsSync(file)) {
          throw new BatonError(
            'BATON_STORE_UNAVAILABLE',
            `lua/${from} includes '${name}', but ${file} does not exist`,
          );
        }
        text = readFileSync(file, 'utf8');
        includes.set(name, text);
      }
      return text;
    };
  const scripts = new Map<ScriptName, LoadedScript>();
  for (const file of readdirSync(dir)) {
    const match = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
    if (!match) continue;
    const name = match[1] as ScriptName;
    const lua = pruneIncludes(readFileSync(dir + file, 'utf8'), includeFrom(file));
    scripts.set(name, { name, command: commandName(name), numberOfKeys: Number(match[2]), lua });
  }
  loaded = scripts;
  return scripts;
}

/** `submit-stage` → `batonSubmitStage`: a method name no built-in command uses. */
function commandName(name: string): string {
  return `baton${name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}`;
}

/** Register every script on a client. */
export function defineScripts(client: ScriptHost): void {
  for (const script of loadScripts().values()) {
    client.defineCommand(script.command, { lua: script.lua, numberOfKeys: script.numberOfKeys });
  }
}

/** The script of an operation; throws if a file is missing (a broken install). */
export function script(name: ScriptName): LoadedScript {
  const found = loadScripts().get(name);
  if (!found) {
    throw new BatonError(
      'BATON_STORE_UNAVAILABLE',
      `the Redis backend has no script lua/${name}-<n>.lua; reinstall the baton-queue package`,
    );
  }
  return found;
}
