/**
 * Tasks of type `agent` end to end: a real worker on a real SQLite file runs the fake `claude` and
 * `codex` scripts (test/helpers/fake-*.mjs, which speak the real CLIs' output formats) as child
 * processes in a temp directory. The streamed lines reach the task log while the agent runs; the
 * ledger gets Claude's reported cost and Codex's table-priced tokens; error results map onto
 * Baton's retry model; cancel and timeout kill the agent and what it started.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { LogLine } from '../../src/core/logs.ts';
import type { Json, TaskRecord, TaskSpec } from '../../src/core/types.ts';
import { agentHandler, type AgentHandlerOptions } from '../../src/executors/agent/index.ts';
import { Baton } from '../../src/runtime/baton.ts';
import type { TaskContext, Worker } from '../../src/runtime/worker.ts';
import { isLive, pollFor, processInfo } from '../helpers/proc.ts';

const FAKE_CLAUDE = resolve(import.meta.dirname, '../helpers/fake-claude.mjs');
const FAKE_CODEX = resolve(import.meta.dirname, '../helpers/fake-codex.mjs');
const quick = { baseMs: 1, maxMs: 1, jitter: 'none' as const };

let dir: string;
let work: string;
let baton: Baton;
let worker: Worker | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'baton-agent-'));
  work = join(dir, 'work');
  mkdirSync(work);
  baton = await Baton.open(`sqlite:${join(dir, 'baton.db')}`, {
    logger: pino({ level: 'silent' }),
  });
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await baton.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: AgentHandlerOptions<TaskContext> = {}): Promise<void> {
  worker = baton.worker({
    handlers: {
      agent: agentHandler<TaskContext>({
        binaries: { claude: FAKE_CLAUDE, codex: FAKE_CODEX },
        workdir: () => work,
        env: { ...process.env, FAKE_AGENT_ARGV_FILE: join(dir, 'argv.json') },
        killGraceMs: 500,
        ...options,
      }),
    },
    idleWaitMs: 100,
  });
  await worker.start();
}

async function runTask(
  spec: Omit<TaskSpec, 'type' | 'payload'> & { payload: Json },
): Promise<TaskRecord> {
  const { id } = await baton.submit({ type: 'agent', maxAttempts: 1, backoff: quick, ...spec });
  return (await baton.wait(id, { timeoutMs: 30_000 })) as TaskRecord;
}

async function logOf(taskId: string): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of baton.logs(taskId)) lines.push(line);
  return lines;
}

function started(): { argv: string[]; cwd: string; prompt: string; env: Record<string, string> } {
  return JSON.parse(readFileSync(join(dir, 'argv.json'), 'utf8')) as never;
}

function pidsIn(file: string): { self: number; children: number[] } {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const self = Number(lines.find((l) => l.startsWith('self '))?.slice(5));
  const children = lines.filter((l) => l.startsWith('child ')).map((l) => Number(l.slice(6)));
  return { self, children };
}

describe('agent tasks: Claude Code', () => {
  it('runs claude in the workdir with the prompt on stdin, edits files, logs the stream and records the reported cost', async () => {
    await start();
    const task = await runTask({
      title: 'Add a greeting',
      payload: {
        kind: 'claude',
        model: 'anthropic:claude-sonnet-4-5',
        description: 'fake: say Writing the file\nfake: write src/hello.txt hello there',
        maxBudgetUsd: 0.5,
      },
    });
    expect(task.error).toBeNull();
    expect(task.state).toBe('succeeded');
    expect(task.result).toMatchObject({
      kind: 'claude',
      text: 'Writing the file',
      costUsd: 0.0105,
      numTurns: 2,
      exitCode: 0,
      workdir: work,
    });
    expect(readFileSync(join(work, 'src/hello.txt'), 'utf8')).toBe('hello there\n');

    const run = started();
    expect(run.cwd).toBe(work);
    expect(run.argv).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--model',
      'claude-sonnet-4-5',
      '--max-budget-usd',
      '0.5',
    ]);
    expect(run.prompt).toContain('# Add a greeting');
    expect(run.env['BATON_TASK_ID']).toBe(task.id);

    const texts = (await logOf(task.id)).map((l) => `${l.stream} ${l.text}`);
    expect(texts).toEqual(
      expect.arrayContaining([
        'stdout Writing the file',
        expect.stringMatching(
          /^log tool Write: \{"file_path":"src\/hello.txt"/,
        ) as unknown as string,
        expect.stringMatching(
          /^log claude session .* started: model claude-sonnet-4-5/,
        ) as unknown as string,
      ]),
    );

    // One ledger row, at the cost Claude reported: the assistant lines' opening usage is not added.
    const usage = await baton.usage(task.id);
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      inputTokens: 1000,
      outputTokens: 500,
      costUsd: 0.0105,
      costBasis: 'provider',
    });
  });

  it('records one row per model of modelUsage (a subagent on another model)', async () => {
    await start();
    const task = await runTask({
      payload: { kind: 'claude', prompt: 'fake: subagent claude-haiku-4-5\nfake: tokens 2000 100' },
    });
    expect(task.state).toBe('succeeded');
    const usage = await baton.usage(task.id);
    expect(
      usage.map((u) => [u.model, u.inputTokens, u.outputTokens, u.costUsd, u.costBasis]),
    ).toEqual([
      ['claude-sonnet-4-5', 2000, 100, 0.0075, 'provider'],
      ['claude-haiku-4-5', 100, 50, 0.00035, 'provider'],
    ]);
  });

  it('--max-budget-usd is the reservation: the handler default capped by what the task budget has left', async () => {
    await start({ maxBudgetUsd: 3 });
    const task = await runTask({
      budget: { usd: 0.25 },
      payload: { kind: 'claude', prompt: 'hi' },
    });
    expect(task.state).toBe('succeeded');
    const argv = started().argv;
    expect(argv[argv.indexOf('--max-budget-usd') + 1]).toBe('0.25');
    expect((await baton.usage(task.id)).map((u) => u.costUsd)).toEqual([0.0105]);

    // Without a budget, the handler's default is the limit.
    const free = await runTask({ payload: { kind: 'claude', prompt: 'hi' } });
    expect(free.state).toBe('succeeded');
    const again = started().argv;
    expect(again[again.indexOf('--max-budget-usd') + 1]).toBe('3');
  });

  it('a budget with nothing left refuses the next session before the CLI starts', async () => {
    const pidFile = join(dir, 'pids');
    await start({ env: { ...process.env, FAKE_AGENT_PID_FILE: pidFile } });
    // The first session costs $0.0105 against $0.01 and ends retryably; nothing is left for a second.
    const task = await runTask({
      maxAttempts: 2,
      budget: { usd: 0.01 },
      payload: { kind: 'claude', prompt: 'fake: result error_max_turns' },
    });
    expect(task.state).toBe('failed');
    expect(task.attempts).toBe(2);
    expect(task.error?.code).toBe('BATON_BUDGET_EXCEEDED');
    expect(readFileSync(pidFile, 'utf8').trim().split('\n')).toHaveLength(1);
    expect((await baton.usage(task.id)).map((u) => u.attempt)).toEqual([1]);
  });

  it('error_max_budget_usd fails the task at once; the money spent is still recorded', async () => {
    await start();
    const task = await runTask({
      maxAttempts: 3,
      payload: { kind: 'claude', prompt: 'fake: tokens 100000 10000', maxBudgetUsd: 0.01 },
    });
    expect(task.state).toBe('failed');
    expect(task.attempts).toBe(1);
    expect(task.error).toMatchObject({ code: 'AGENT_MAX_BUDGET', retryable: false });
    expect(task.error?.message).toMatch(/spending limit of \$0.01/);
    expect((await baton.usage(task.id)).map((u) => u.costUsd)).toEqual([0.45]);
  });

  it.each([
    ['error_max_turns', 'AGENT_MAX_TURNS'],
    ['error_during_execution', 'AGENT_ERROR'],
    ['is_error', 'AGENT_ERROR'],
  ])('%s is a retryable failure (%s)', async (subtype, code) => {
    await start();
    const task = await runTask({
      maxAttempts: 2,
      payload: { kind: 'claude', prompt: `fake: result ${subtype}` },
    });
    expect(task.state).toBe('failed');
    expect(task.attempts).toBe(2);
    expect(task.error).toMatchObject({ code, retryable: true });
  });

  it('a crash before the result line is a retryable AGENT_EXIT quoting stderr', async () => {
    await start();
    const task = await runTask({
      payload: {
        kind: 'claude',
        prompt: 'fake: no-result\nfake: stderr boom: out of memory\nfake: exit 3',
      },
    });
    expect(task.error).toMatchObject({ code: 'AGENT_EXIT', retryable: true });
    expect(task.error?.message).toMatch(
      /exited with code 3 before its result line[\s\S]*boom: out of memory/,
    );
    expect(
      (await logOf(task.id)).some((l) => l.stream === 'stderr' && l.text === 'boom: out of memory'),
    ).toBe(true);
  });

  it('passes --mcp-config when the handler is given one, resolved against the workdir', async () => {
    writeFileSync(join(work, 'mcp.json'), '{"mcpServers":{}}');
    await start({ mcpConfig: 'mcp.json' });
    const task = await runTask({ payload: { kind: 'claude', prompt: 'hi', maxTurns: 4 } });
    expect(task.state).toBe('succeeded');
    const argv = started().argv;
    expect(argv.slice(argv.indexOf('--max-turns'))).toEqual([
      '--max-turns',
      '4',
      '--mcp-config',
      join(work, 'mcp.json'),
    ]);
  });

  it('an MCP config that does not exist fails at once, naming it', async () => {
    await start({ mcpConfig: 'missing-mcp.json' });
    const task = await runTask({ maxAttempts: 3, payload: { kind: 'claude', prompt: 'hi' } });
    expect(task.attempts).toBe(1);
    expect(task.error?.message).toContain(
      `the MCP config ${join(work, 'missing-mcp.json')} does not exist`,
    );
  });

  it('a binary that is not found fails at once, saying where to set its path', async () => {
    await start({ binaries: { claude: join(dir, 'no-such-claude') } });
    const task = await runTask({ maxAttempts: 3, payload: { kind: 'claude', prompt: 'hi' } });
    expect(task.state).toBe('failed');
    expect(task.attempts).toBe(1);
    expect(task.error?.retryable).toBe(false);
    expect(task.error?.message).toMatch(
      /the claude CLI '.*no-such-claude' was not found .*agents\.claude\.path in baton\.config\.yaml/,
    );
  });

  it('streams lines to the log while it runs; cancel kills the agent and its child', async () => {
    const pidFile = join(dir, 'pids');
    await start({ env: { ...process.env, FAKE_AGENT_PID_FILE: pidFile } });
    const { id } = await baton.submit({
      type: 'agent',
      maxAttempts: 1,
      payload: { kind: 'claude', prompt: 'fake: say halfway there\nfake: spawn-child\nfake: hang' },
    });
    // The line is in the log while the agent still runs (it never ends on its own).
    for await (const line of baton.logs(id, { follow: true, pollMs: 20 })) {
      if (line.text === 'halfway there') break;
    }
    expect((await baton.get(id))?.state).toBe('running');
    const pids = await pollFor(() => {
      try {
        const p = pidsIn(pidFile);
        return p.children.length > 0 ? p : undefined;
      } catch {
        return undefined;
      }
    }, 10_000);
    expect(isLive(processInfo(pids!.self))).toBe(true);
    await baton.cancel(id);
    const done = (await baton.wait(id, { timeoutMs: 20_000 })) as TaskRecord;
    expect(done.state).toBe('cancelled');
    const gone = await pollFor(
      () =>
        [pids!.self, ...pids!.children].every((p) => !isLive(processInfo(p))) ? true : undefined,
      10_000,
    );
    expect(gone).toBe(true);
  });

  it('a timeout kills the agent and its child; the attempt fails with BATON_TIMEOUT', async () => {
    const pidFile = join(dir, 'pids');
    await start({ env: { ...process.env, FAKE_AGENT_PID_FILE: pidFile } });
    const task = await runTask({
      timeoutMs: 1500,
      payload: { kind: 'claude', prompt: 'fake: spawn-child\nfake: hang' },
    });
    expect(task.state).toBe('failed');
    expect(task.error?.code).toBe('BATON_TIMEOUT');
    const pids = pidsIn(pidFile);
    expect(pids.children).toHaveLength(1);
    const gone = await pollFor(
      () =>
        [pids.self, ...pids.children].every((p) => !isLive(processInfo(p))) ? true : undefined,
      10_000,
    );
    expect(gone).toBe(true);
  });
});

describe('agent tasks: expertise', () => {
  it("puts the domain's expertise at the top of the prompt: the task's domain, else its epic", async () => {
    const asked: string[] = [];
    await start({
      expertise: (domain) => {
        asked.push(domain);
        return Promise.resolve(domain === 'api' ? 'patterns: ["Routes in src/api"]' : null);
      },
    });
    const byEpic = await runTask({
      epic: 'api',
      title: 'Add a route',
      payload: { kind: 'claude', description: 'GET /x' },
    });
    expect(byEpic.state).toBe('succeeded');
    expect(started().prompt).toBe(
      '## Expertise of the api domain (what earlier sessions learned)\n\npatterns: ["Routes in src/api"]\n\n# Add a route\n\nGET /x',
    );
    const named = await runTask({
      epic: 'api',
      payload: { kind: 'claude', prompt: 'Fix the page', domain: 'frontend' },
    });
    expect(named.state).toBe('succeeded');
    expect(started().prompt).toBe('Fix the page');
    expect(asked).toEqual(['api', 'frontend']);
  });
});

describe('agent tasks: Codex and commands', () => {
  it('codex: tokens from turn.completed, priced from the table; messages and file changes in the log', async () => {
    await start();
    const task = await runTask({
      payload: {
        kind: 'codex',
        model: 'openai:gpt-4.1',
        prompt: 'fake: write notes.md remember\nfake: say All done',
      },
    });
    expect(task.error).toBeNull();
    expect(task.result).toMatchObject({ kind: 'codex', text: 'All done', numTurns: 1 });
    expect(started().argv).toEqual(['exec', '--json', '--model', 'gpt-4.1', '-']);
    expect(readFileSync(join(work, 'notes.md'), 'utf8')).toBe('remember\n');
    const usage = await baton.usage(task.id);
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({
      provider: 'openai',
      model: 'gpt-4.1',
      inputTokens: 1200,
      cacheReadTokens: 200,
      outputTokens: 300,
      costBasis: 'table',
    });
    expect(usage[0]!.costUsd).toBeGreaterThan(0);
    const texts = (await logOf(task.id)).map((l) => l.text);
    expect(texts).toEqual(expect.arrayContaining(['All done', 'tool file_change: add notes.md']));
  });

  it('codex: turn.failed is a retryable AGENT_ERROR', async () => {
    await start();
    const task = await runTask({
      maxAttempts: 2,
      payload: { kind: 'codex', prompt: 'fake: result boom' },
    });
    expect(task.attempts).toBe(2);
    expect(task.error).toMatchObject({ code: 'AGENT_ERROR', retryable: true });
    expect(task.error?.message).toContain('stream error: boom');
  });

  it('command: the prompt on stdin and in $BATON_PROMPT_FILE; stdout in the log and the result', async () => {
    await start();
    const task = await runTask({
      title: 'Count',
      payload: {
        kind: 'command',
        command: 'sh',
        args: ['-c', 'wc -l; cat "$BATON_PROMPT_FILE" | head -1; pwd'],
        description: 'one\ntwo',
      },
    });
    expect(task.error).toBeNull();
    expect((task.result as { text: string }).text).toBe(`3\n# Count\n${work}`);
    expect((await logOf(task.id)).map((l) => l.text)).toEqual(expect.arrayContaining(['# Count']));
  });

  it('a malformed payload fails at once, naming each field', async () => {
    await start();
    const task = await runTask({
      maxAttempts: 3,
      payload: { kind: 'claud', maxBudgetUsd: -1, prompt: 'x' },
    });
    expect(task.attempts).toBe(1);
    expect(task.error?.message).toMatch(
      /kind: must be one of claude, codex, command; got the string 'claud' \(did you mean 'claude'\?\)/,
    );
    expect(task.error?.message).toMatch(/maxBudgetUsd: must be a number of USD above 0/);
  });
});
