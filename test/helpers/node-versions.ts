/**
 * The Node.js installations on this machine besides the one running the tests: the system Node
 * (often older than 24, as on a fresh machine before `npm install`) is what a person who types
 * `node bin/baton.js` or `baton` gets, so the tests run the command on it too.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface NodeInstall {
  /** The executable. */
  path: string;
  /** `process.versions.node` as that Node reports it. */
  version: string;
  major: number;
}

/**
 * Every `node` on the PATH (outside node_modules, where the node@24 dev dependency sits) and in
 * the usual system places, each real executable once, with its version.
 */
export function systemNodes(): NodeInstall[] {
  const candidates = [
    ...(process.env['PATH'] ?? '')
      .split(delimiter)
      .filter((dir) => dir !== '' && !dir.includes('node_modules'))
      .map((dir) => join(dir, 'node')),
    '/usr/bin/node',
    '/usr/local/bin/node',
  ];
  const seen = new Set<string>();
  const found: NodeInstall[] = [];
  for (const candidate of candidates) {
    let real: string;
    try {
      accessSync(candidate, constants.X_OK);
      real = realpathSync(candidate);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    const version = execFileSync(real, ['-p', 'process.versions.node'], {
      encoding: 'utf8',
    }).trim();
    found.push({ path: real, version, major: Number(version.split('.')[0]) });
  }
  return found;
}

/** A Node.js older than 24 on this machine, if there is one. */
export function oldNode(): NodeInstall | undefined {
  return systemNodes().find((node) => node.major < 24);
}

export interface ProgramResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a program to completion and collect its output (any exit code resolves). */
export function runProgram(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 120_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
