/**
 * Human log lines on a terminal, JSON elsewhere: the formatter on strings, then real `worker`,
 * `server` and `pool` processes on a pseudo-terminal and through a pipe.
 */
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatLogLine, resolveLogFormat } from '../../src/cli/log-format.ts';
import { noColour, paintFor } from '../../src/cli/colour.ts';
import { useCli } from '../helpers/cli.ts';

const cli = useCli();

/** 12:04:31.207 in local time, as the formatter prints a pino `time`. */
const AT = new Date(2026, 11, 6, 12, 4, 31, 207).getTime();

describe('formatLogLine', () => {
  it('prints time, level, agent and message, then the other fields as name=value', () => {
    const line = JSON.stringify({
      level: 30,
      time: AT,
      pid: 42,
      hostname: 'box',
      agent: 'agent-2',
      agentId: 'agt_1',
      taskId: 'tsk_1',
      key: 'build',
      attempt: 1,
      durationMs: 412,
      msg: 'task succeeded',
    });
    expect(formatLogLine(`${line}\n`, noColour)).toBe(
      '12:04:31.207 INFO  agent-2 task succeeded  agentId=agt_1 taskId=tsk_1 key=build attempt=1 durationMs=412\n',
    );
  });

  it('quotes values with spaces, prints objects as JSON, and an error stack below', () => {
    const line = JSON.stringify({
      level: 50,
      time: AT,
      msg: 'worker loop',
      capabilities: ['shell', 'gpu'],
      note: 'two words',
      err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (x.ts:1:1)' },
    });
    expect(formatLogLine(line, noColour)).toBe(
      [
        '12:04:31.207 ERROR worker loop  capabilities=["shell","gpu"] note="two words" err=boom',
        '    Error: boom',
        '        at f (x.ts:1:1)',
        '',
      ].join('\n'),
    );
  });

  it('colours the level, and passes a line that is not JSON through', () => {
    const warn = formatLogLine(JSON.stringify({ level: 40, time: AT, msg: 'x' }), paintFor(true));
    expect(warn).toContain('\u001b[33mWARN \u001b[39m');
    expect(stripVTControlCharacters(warn)).toBe('12:04:31.207 WARN  x\n');
    expect(formatLogLine('not json\n', noColour)).toBe('not json\n');
  });

  it('is pretty on a terminal and JSON elsewhere, unless BATON_LOG_FORMAT says', () => {
    expect(resolveLogFormat({ isTTY: true }, {})).toBe('pretty');
    expect(resolveLogFormat({ isTTY: false }, {})).toBe('json');
    expect(resolveLogFormat({ isTTY: true }, { BATON_LOG_FORMAT: 'json' })).toBe('json');
    expect(resolveLogFormat({ isTTY: false }, { BATON_LOG_FORMAT: 'pretty' })).toBe('pretty');
    expect(resolveLogFormat({ isTTY: false }, { BATON_LOG_FORMAT: 'xml' })).toBe('json');
  });
});

/** Lines of a terminal's output, without colour or carriage returns. */
function plain(output: string): string[] {
  return stripVTControlCharacters(output)
    .replaceAll('\r', '')
    .split('\n')
    .map((l) => l.replace(/^\^C/, ''));
}

const PRETTY = /^\d\d:\d\d:\d\d\.\d{3} (INFO |WARN |ERROR|DEBUG) /;

describe('logs of long-running commands', () => {
  it('a worker on a terminal prints readable lines; a success names the task key', async () => {
    const worker = cli.startTty(['worker', '--store', cli.store, '--name', 'w1']);
    await worker.waitFor(/waiting for tasks/);
    const baton = await cli.open();
    const { runId } = await baton.submitRun({
      name: 'r',
      tasks: [{ key: 'build', type: 'shell', payload: { command: 'true' } }],
    });
    await baton.wait(runId, { timeoutMs: 20_000 });
    await worker.waitFor(/task succeeded/);
    worker.type('\u0003');
    const result = await worker.exited;
    expect(result.code).toBe(0);
    const lines = plain(result.stdout).filter((l) => l.trim() !== '' && l !== '^C');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      expect(line).toMatch(PRETTY);
      expect(line).not.toMatch(/^\{/);
    }
    expect(lines).toContainEqual(expect.stringMatching(/INFO {2}w1 task succeeded {2}.*key=build/));
  });

  it('a worker through a pipe logs JSON, with the key on the success', async () => {
    const worker = cli.start(['worker', '--store', cli.store]);
    await worker.waitFor(/waiting for tasks/, 'stderr');
    const baton = await cli.open();
    const { runId } = await baton.submitRun({
      name: 'r',
      tasks: [{ key: 'build', type: 'shell', payload: { command: 'true' } }],
    });
    await baton.wait(runId, { timeoutMs: 20_000 });
    await worker.waitFor(/task succeeded/, 'stderr');
    worker.child.kill('SIGTERM');
    const { stderr } = await worker.exited;
    const records = stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.find((r) => r['msg'] === 'task succeeded')).toMatchObject({ key: 'build' });
  });

  it('BATON_LOG_FORMAT=json keeps JSON on a terminal', async () => {
    const worker = cli.startTty(['worker', '--store', cli.store], {
      env: { BATON_LOG_FORMAT: 'json' },
    });
    await worker.waitFor(/waiting for tasks/);
    worker.type('\u0003');
    const result = await worker.exited;
    const lines = plain(result.stdout).filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.some((l) => l.includes('"msg":"waiting for tasks'))).toBe(true);
  });

  it('the server logs no line per request at info, and one at debug', async () => {
    for (const level of ['info', 'debug'] as const) {
      const server = cli.start([
        'server',
        '--store',
        cli.store,
        '--port',
        '0',
        '--log-level',
        level,
      ]);
      await server.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 'stderr');
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stderr)![1]!;
      for (let i = 0; i < 3; i++) expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/v1/nope`)).status).toBe(404);
      server.child.kill('SIGTERM');
      const { code, stderr } = await server.exited;
      expect(code).toBe(0);
      const records = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(
        records.filter((r) => /incoming request|request completed/.test(String(r['msg']))),
      ).toEqual([]);
      const requests = records.filter((r) => r['msg'] === 'request');
      if (level === 'info') {
        expect(requests).toEqual([]);
      } else {
        expect(requests.map((r) => [r['method'], r['url'], r['statusCode']])).toEqual([
          ['GET', '/health', 200],
          ['GET', '/health', 200],
          ['GET', '/health', 200],
          ['GET', '/v1/nope', 404],
        ]);
      }
    }
  });

  it('a pool on a terminal prints readable lines, its workers too', async () => {
    const pool = cli.startTty([
      'pool',
      '--store',
      cli.store,
      '--min',
      '1',
      '--max',
      '1',
      '--tick',
      '200ms',
    ]);
    await pool.waitFor(/waiting for tasks/);
    pool.type('\u0003');
    const result = await pool.exited;
    expect(result.code).toBe(0);
    const lines = plain(result.stdout).filter((l) => l.trim() !== '' && l !== '^C');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(line).toMatch(PRETTY);
    expect(lines).toContainEqual(expect.stringMatching(/pool/));
  });
});
