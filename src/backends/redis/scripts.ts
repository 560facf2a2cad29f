/**
 * The Lua scripts, one per operation in `lua/<name>-<numKeys>.lua` (BullMQ's layout), read from
 * disk once per process and registered on each client with ioredis `defineCommand`, which runs
 * them by EVALSHA and falls back to EVAL when Redis does not know the script yet (after a
 * restart or a SCRIPT FLUSH).
 *
 * Shared Lua lives in `lua/includes/`; a line `--@include <name>` is replaced by the text of
 * `lua/includes/<name>.lua` when the script is loaded (Redis has no `require`).
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
  | 'stats';

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
    `the Redis backend cannot find its ${name}/ folder next to ${fileURLToPath(import.meta.url)}; reinstall baton`,
  );
}

let loaded: Map<ScriptName, LoadedScript> | null = null;

/** Every script with its includes expanded; read from disk on the first call only. */
export function loadScripts(): Map<ScriptName, LoadedScript> {
  if (loaded) return loaded;
  const dir = assetDir('lua');
  const includes = new Map<string, string>();
  const include = (name: string, from: string): string => {
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
    const source = readFileSync(dir + file, 'utf8');
    const lua = source.replace(/^--@include (\S+)[ \t]*$/gm, (_, inc: string) =>
      include(inc, file),
    );
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
      `the Redis backend has no script lua/${name}-<n>.lua; reinstall baton`,
    );
  }
  return found;
}
