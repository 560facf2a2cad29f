/**
 * What the fake coding agents (fake-claude.mjs, fake-codex.mjs) share: reading the prompt from
 * stdin, and the directives in it that tell them what to do. A directive is a line of the prompt
 * that starts with `fake:`:
 *
 *   fake: say <text>              the assistant writes <text>
 *   fake: write <path> <text>     a tool call that writes <text> (and a newline) to <path>
 *   fake: sleep <ms>              wait
 *   fake: hang                    never finish (until killed)
 *   fake: hang-once <marker>      hang (as `hang`) unless the file <marker> (absolute, outside the
 *                                 worktree) exists; create it first: only the first session hangs
 *   fake: spawn-child             start `sleep 600` as a child; its pid goes to $FAKE_AGENT_PID_FILE
 *   fake: result <subtype>        end with this result subtype (error_max_turns, error_max_budget_usd,
 *                                 error_during_execution, is_error) — Claude; for Codex any value fails the turn
 *   fake: tokens <in> <out>       the session's tokens (default 1000 500)
 *   fake: subagent <model>        a second model used in the session (its own 100 in / 50 out)
 *   fake: no-result               end without the result line
 *   fake: stderr <text>           write a line to stderr
 *   fake: exit <code>             exit with this code at the end
 *   fake: need-file <path> [<text>] exit 3 at once (stderr says why) unless <path> exists in
 *                                 the working directory (and holds <text>) — Claude
 *   fake: union <path>            resolve the conflict markers in <path>, keeping both sides — Claude
 *   fake: on-conflict <directive> run <directive> only in a resolve-conflict session (a prompt
 *                                 with a line `# Resolve the merge conflict…`), whose other
 *                                 directives are skipped: the conflicting task's own are in it
 *   fake: need <text>             fail the session (error_during_execution) unless the prompt, not
 *                                 counting its fake: lines, holds <text> — Claude
 *   fake: mcp <tool> <json>       call Baton's MCP tool <tool> with the arguments <json>, through the
 *                                 server the --mcp-config file names (the SDK's Client over stdio);
 *                                 a tool error is written to stderr and the session exits 1 — Claude
 *
 * $FAKE_AGENT_ARGV_FILE, when set, receives {argv, cwd, prompt, env: {BATON_*}} as JSON.
 * $FAKE_AGENT_RECORD_DIR, when set, receives the same as <pid>.json (one file per session).
 * $FAKE_AGENT_PID_FILE, when set, receives a line `self <pid>` and one `child <pid>` per child.
 */
/* eslint-disable @typescript-eslint/no-unsafe-call -- plain JavaScript, run by whatever node is on PATH */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function readPrompt() {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

export function directives(prompt) {
  const conflict = /^# Resolve the merge conflict/m.test(prompt);
  const out = [];
  for (const line of prompt.split('\n')) {
    const m = /^\s*fake:\s*(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'on-conflict') {
      const inner = /^(\S+)\s*(.*)$/.exec(m[2] ?? '');
      if (conflict && inner) out.push({ verb: inner[1], rest: inner[2] ?? '' });
    } else if (!conflict) out.push({ verb: m[1], rest: m[2] ?? '' });
  }
  return out;
}

/** `fake: need-file <path> [<text>]`: the reason it is not met, or null. */
export function unmetNeed(rest) {
  const [path, ...words] = rest.split(' ');
  const target = resolve(process.cwd(), path);
  if (!existsSync(target)) return `${path} does not exist in ${process.cwd()}`;
  const text = words.join(' ');
  if (text !== '' && !readFileSync(target, 'utf8').includes(text))
    return `${path} does not hold '${text}'`;
  return null;
}

/** `fake: union <path>`: both sides of each conflict, markers removed; false without markers. */
export function unionConflict(path) {
  const target = resolve(process.cwd(), path);
  const text = readFileSync(target, 'utf8');
  if (!/^<<<<<<< /m.test(text)) return false;
  const kept = text
    .split('\n')
    .filter((line) => !/^(<<<<<<< |=======$|>>>>>>> |\|\|\|\|\|\|\| )/.test(line));
  writeFileSync(target, kept.join('\n'));
  return true;
}

export function recordStart(prompt) {
  const argvFile = process.env.FAKE_AGENT_ARGV_FILE;
  if (argvFile) {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k.startsWith('BATON_')),
    );
    writeFileSync(
      argvFile,
      JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), prompt, env }),
    );
  }
  const recordDir = process.env.FAKE_AGENT_RECORD_DIR;
  if (recordDir) {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k.startsWith('BATON_')),
    );
    mkdirSync(recordDir, { recursive: true });
    writeFileSync(
      resolve(recordDir, `${process.pid}.json`),
      JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), prompt, env }),
    );
  }
  pidLine(`self ${process.pid}`);
}

function pidLine(line) {
  const pidFile = process.env.FAKE_AGENT_PID_FILE;
  if (pidFile) appendFileSync(pidFile, `${line}\n`);
}

export function writeFile(rest) {
  const [path, ...words] = rest.split(' ');
  const target = resolve(process.cwd(), path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, `${words.join(' ')}\n`);
  return { path, content: `${words.join(' ')}\n` };
}

export function spawnChild() {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  pidLine(`child ${child.pid}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `fake: hang-once <marker>`: true (and the marker made) when no session has hung on it yet. */
export function firstToHang(marker) {
  const path = marker.trim();
  if (existsSync(path)) return false;
  writeFileSync(path, `${process.pid}\n`);
  return true;
}

export function hang() {
  setInterval(() => undefined, 1 << 30);
  return new Promise(() => undefined);
}

export function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/**
 * The MCP client of a session: connects (once) to the `baton` server of the --mcp-config file,
 * over stdio, with the official SDK's Client.
 */
export async function mcpClient(configPath) {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  const server = config.mcpServers.baton;
  const client = new Client({ name: 'fake-claude', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: server.command,
      args: server.args,
      env: { ...server.env, PATH: process.env.PATH ?? '' },
      stderr: 'inherit',
    }),
  );
  return client;
}

/**
 * The directives both fake agents take alike, about time and processes: `sleep <ms>`, `hang`,
 * `hang-once <marker>` (only the first run to reach it), `spawn-child`. Any other is ignored.
 */
export async function processDirective(verb, rest) {
  switch (verb) {
    case 'sleep':
      await sleep(Number(rest));
      break;
    case 'hang':
      await hang();
      break;
    case 'hang-once':
      if (firstToHang(rest)) await hang();
      break;
    case 'spawn-child':
      spawnChild();
      break;
  }
}
