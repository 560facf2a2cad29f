import { stripVTControlCharacters, styleText } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { BatonEvent, RunRecord, TaskRecord } from '../../src/core/types.ts';
import {
  countStates,
  elapsedTag,
  formatAge,
  formatCounts,
  formatDuration,
  formatSpeedup,
  groupByEpic,
  renderAgentsBlock,
  renderEventLine,
  renderLiveFrame,
  renderRunList,
  renderRunStatus,
  renderSummary,
  renderTable,
  renderTaskList,
  oneLine,
  renderFailures,
  type EventLineContext,
  type LiveTask,
  type RunSummary,
} from '../../src/cli/render.ts';
import { paintFor, wantsColour } from '../../src/cli/colour.ts';
import { displayWidth, fitWidth, padWidth } from '../../src/cli/width.ts';

describe('formatDuration', () => {
  it('shows seconds with two decimals under a minute', () => {
    expect(formatDuration(410)).toBe('0.41s');
    expect(formatDuration(12_300)).toBe('12.30s');
  });
  it('switches to minutes at one minute', () => {
    expect(formatDuration(125_000)).toBe('2m05.0s');
  });
  it('shows a dash when unknown and clamps negatives', () => {
    expect(formatDuration(null)).toBe('-');
    expect(formatDuration(undefined)).toBe('-');
    expect(formatDuration(Number.NaN)).toBe('-');
    expect(formatDuration(-5)).toBe('0.00s');
  });
  it('pads the elapsed tag to a fixed width', () => {
    expect(elapsedTag(1230)).toBe('[  1.23s]');
    expect(elapsedTag(61_000)).toBe('[1m01.0s]');
  });
  it('formats speed-ups and ages', () => {
    expect(formatSpeedup(3.4159)).toBe('3.42x');
    expect(formatSpeedup(null)).toBe('-');
    expect(formatAge(5_000)).toBe('5s ago');
    expect(formatAge(180_000)).toBe('3m ago');
    expect(formatAge(7_200_000)).toBe('2h ago');
    expect(formatAge(3 * 86_400_000)).toBe('3d ago');
  });
});

describe('renderTable', () => {
  it('pads columns to their widest cell and right-aligns the asked ones', () => {
    const text = renderTable(
      ['A', 'NUM'],
      [
        ['long value', '1'],
        ['x', '100'],
      ],
      { alignRight: [1] },
    );
    expect(text.split('\n')).toEqual([
      'A           NUM',
      '──────────  ───',
      'long value    1',
      'x           100',
    ]);
  });
  it('counts symbols as one column', () => {
    const text = renderTable(['S', 'K'], [['✓ ok', 'a']]);
    expect(text.split('\n')[2]).toBe('✓ ok  a');
  });
});

describe('counts', () => {
  it('counts every state and prints only the non-zero ones, in state order', () => {
    const counts = countStates(['succeeded', 'running', 'succeeded', 'blocked']);
    expect(counts.succeeded).toBe(2);
    expect(counts.failed).toBe(0);
    expect(formatCounts(counts)).toBe('1 blocked · 1 running · 2 succeeded');
    expect(formatCounts(countStates([]))).toBe('no tasks');
  });
});

describe('renderLiveFrame', () => {
  it('draws one lane per epic in order of first appearance', () => {
    const frame = renderLiveFrame(
      'demo',
      [
        { key: 'a', epic: 'ingest', state: 'succeeded' },
        { key: 'b', epic: 'ingest', state: 'running' },
        { key: 'c', epic: 'report', state: 'blocked' },
        { key: 'd', epic: null, state: 'ready' },
      ],
      4210,
    );
    expect(frame.split('\n')).toEqual([
      'demo  4.21s  1/4 done',
      '  ingest  ✓▶  1/2',
      '  report  ·  0/1',
      '  (none)  ○  0/1',
      '1 blocked · 1 ready · 1 running · 1 succeeded',
    ]);
  });
  const many = (n: number, epic: string | null, state: (i: number) => LiveTask['state']) =>
    Array.from({ length: n }, (_, i) => ({ key: `t${i}`, epic, state: state(i) }));

  it('draws an epic of hundreds of tasks as a bar that fits the terminal', () => {
    // 500 tasks: 120 succeeded, 2 failed, 4 running, the rest ready.
    const tasks = many(500, 'build', (i) =>
      i < 120 ? 'succeeded' : i < 122 ? 'failed' : i < 126 ? 'running' : 'ready',
    );
    const frame = renderLiveFrame('big', tasks, 1000, { columns: 60, rows: 24 });
    const lines = frame.split('\n');
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(60);
    // 60 columns - '  build  ' (9) - '  122/500' (9) = 42 cells, in proportion, each state seen.
    expect(lines[1]).toBe(`  build  ${'✓'.repeat(10)}✗▶${'○'.repeat(30)}  122/500`);
    expect(lines[2]).toBe('374 ready · 4 running · 120 succeeded · 2 failed');
  });

  it('keeps one symbol per task while they fit', () => {
    // '  x  ' + 40 symbols + '  0/40' is 51 columns.
    const tasks = many(40, 'x', () => 'ready');
    expect(renderLiveFrame('r', tasks, 0, { columns: 51 }).split('\n')[1]).toBe(
      `  x  ${'○'.repeat(40)}  0/40`,
    );
    expect(renderLiveFrame('r', tasks, 0, { columns: 50 }).split('\n')[1]).toBe(
      `  x  ${'○'.repeat(39)}  0/40`,
    );
  });

  it('counts CJK characters and emoji as two columns', () => {
    const frame = renderLiveFrame(
      '発射 🚀',
      [
        { key: 'a', epic: '数据', state: 'succeeded' },
        { key: 'b', epic: 'ab', state: 'ready' },
      ],
      0,
      { columns: 40 },
    );
    expect(frame.split('\n')).toEqual([
      '発射 🚀  0.00s  1/2 done',
      // '数据' is four columns wide: 'ab' is padded to four, not to two.
      '  数据  ✓  1/1',
      '  ab    ○  0/1',
      '1 ready · 1 succeeded',
    ]);
    expect(displayWidth('発射 🚀')).toBe(7);
  });

  it('cuts long names and the counts to the width, counting wide characters', () => {
    const tasks = [
      { key: 'a', epic: '長い長い長い長い長い名前', state: 'succeeded' as const },
      { key: 'b', epic: 'x', state: 'failed' as const },
      { key: 'c', epic: 'x', state: 'running' as const },
      { key: 'd', epic: 'x', state: 'blocked' as const },
    ];
    const frame = renderLiveFrame('a very long run name indeed', tasks, 0, {
      columns: 24,
      rows: 24,
    });
    const lines = frame.split('\n');
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(24);
    expect(lines).toEqual([
      'a very…  0.00s  2/4 done',
      // Epic names get at most a quarter of the width: 6 columns.
      '  長い…   ✓  1/1',
      '  x       ✗▶·  1/3',
      '1 blocked · 1 running …',
    ]);
  });

  it('never draws more lines than the terminal has rows, unfinished epics first', () => {
    const tasks = Array.from({ length: 30 }, (_, i) => ({
      key: `t${i}`,
      epic: `e${i}`,
      state: i < 20 ? ('succeeded' as const) : ('running' as const),
    }));
    const frame = renderLiveFrame('r', tasks, 0, { columns: 80, rows: 8, footer: ['stopping'] });
    expect(frame.split('\n')).toEqual([
      'r  0.00s  20/30 done',
      '  e20  ▶  0/1',
      '  e21  ▶  0/1',
      '  e22  ▶  0/1',
      '  … 27 more epics: 20/27 done',
      '10 running · 20 succeeded',
      'stopping',
    ]);
  });

  it('paints state symbols when colour is on, and nothing when it is off', () => {
    const tasks = [
      { key: 'a', epic: null, state: 'succeeded' as const },
      { key: 'b', epic: null, state: 'failed' as const },
    ];
    const coloured = renderLiveFrame('r', tasks, 0, { paint: paintFor(true) });
    expect(coloured).toContain(`${styleText('green', '✓', { validateStream: false })}`);
    expect(coloured).toContain(`${styleText('red', '✗', { validateStream: false })}`);
    expect(stripVTControlCharacters(coloured)).toBe(renderLiveFrame('r', tasks, 0));
    expect(renderLiveFrame('r', tasks, 0, { paint: paintFor(false) })).not.toContain('\u001b');
  });

  it('cuts a long footer to the width before colouring it, so the colour ends on its line', () => {
    const frame = renderLiveFrame('r', [], 0, {
      columns: 20,
      paint: paintFor(true),
      footer: ['x'.repeat(50)],
    });
    expect(frame.split('\n').at(-1)).toBe(
      styleText('yellow', `${'x'.repeat(19)}…`, { validateStream: false }),
    );
  });

  it('groups tasks by epic keeping their order', () => {
    const lanes = groupByEpic([
      { epic: 'x', n: 1 },
      { epic: 'y', n: 2 },
      { epic: 'x', n: 3 },
    ]);
    expect([...lanes.keys()]).toEqual(['x', 'y']);
    expect(lanes.get('x')!.map((t) => t.n)).toEqual([1, 3]);
  });
});

describe('renderEventLine', () => {
  const ctx: EventLineContext = {
    startedAt: 1000,
    taskLabel: (id) => (id === 't1' ? 'build' : id),
    agentLabel: (id) => (id === 'a2' ? 'agent-2' : id),
    attemptStartedAt: (id) => (id === 't1' ? 1820 : undefined),
  };
  const event = (type: BatonEvent['type'], data: BatonEvent['data'] = {}): BatonEvent => ({
    id: 'e1',
    type,
    at: 2230,
    taskId: 't1',
    runId: 'r1',
    agentId: 'a2',
    data,
  });
  it('prints a success with the agent and the attempt duration', () => {
    expect(renderEventLine(event('task.succeeded'), ctx)).toBe('[  1.23s] ✓ build  agent-2  0.41s');
  });
  it('prints a claim, with the attempt number after the first', () => {
    expect(renderEventLine(event('task.claimed', { attempt: 1 }), ctx)).toBe(
      '[  1.23s] ▶ build  agent-2',
    );
    expect(renderEventLine(event('task.claimed', { attempt: 2 }), ctx)).toBe(
      '[  1.23s] ▶ build  agent-2  attempt 2',
    );
  });
  it('prints a failure message on one line: its first line and its last', () => {
    const line = renderEventLine(
      event('task.failed', { error: { message: 'exit code 3\nstack…' } }),
      ctx,
    );
    expect(line).toBe('[  1.23s] ✗ build  agent-2  0.41s  exit code 3 stack…');
    expect(renderEventLine(event('task.retrying', { error: { message: 'boom' } }), ctx)).toBe(
      '[  1.23s] ↻ build  agent-2  0.41s  retrying: boom',
    );
  });
  it('ignores events nobody watching needs', () => {
    expect(renderEventLine(event('task.submitted'), ctx)).toBeNull();
    expect(renderEventLine(event('task.ready'), ctx)).toBeNull();
  });
});

const run: RunRecord = {
  id: 'run_1',
  name: 'demo',
  state: 'running',
  createdAt: 0,
  finishedAt: null,
  progress: {
    total: 3,
    done: 1 / 3,
    byState: { ...countStates([]), succeeded: 1, running: 1, blocked: 1 },
  },
};

function task(over: Partial<TaskRecord>): TaskRecord {
  return {
    id: 'tsk_1',
    runId: 'run_1',
    type: 'shell',
    payload: null,
    key: 'a',
    title: null,
    epic: 'e',
    requires: [],
    priority: 3,
    maxAttempts: 3,
    timeoutMs: null,
    backoff: { baseMs: 1000, maxMs: 60_000, factor: 2, jitter: 'equal' },
    idempotencyKey: null,
    runAfter: null,
    dependsOn: [],
    affinity: [],
    criticalPath: 1,
    failedAgents: [],
    state: 'succeeded',
    attempts: 1,
    agentId: 'agt_1',
    leaseExpiresAt: null,
    result: null,
    error: null,
    createdAt: 0,
    updatedAt: 0,
    startedAt: 100,
    finishedAt: 600,
    ...over,
  };
}

describe('status and task lists', () => {
  it('lists runs with their progress', () => {
    const text = renderRunList([run], 65_000);
    expect(text).toContain('run_1');
    expect(text).toContain('1/3');
    expect(text).toContain('1m ago');
    expect(renderRunList([], 0)).toBe('no runs in this store');
  });
  it('shows one run with a line per task', () => {
    const text = renderRunStatus(
      run,
      [task({}), task({ id: 'tsk_2', key: 'b', state: 'failed', error: { message: 'bad\nmore' } })],
      1000,
    );
    expect(text).toContain('run run_1 (demo) running');
    expect(text).toContain('1 blocked · 1 running · 1 succeeded');
    expect(text).toContain('✓ a');
    expect(text).toContain('✗ b');
    expect(text).toContain('0.50s');
    expect(text).toMatch(/bad$/m);
  });
  it('lists tasks', () => {
    expect(renderTaskList([task({})])).toContain('tsk_1');
    expect(renderTaskList([])).toBe('no tasks match');
  });
});

describe('renderSummary', () => {
  it('prints the table, wall time, sum, speed-up and the critical path', () => {
    const summary: RunSummary = {
      runId: 'run_1',
      name: 'demo',
      state: 'succeeded',
      tasks: [
        {
          id: 't1',
          key: 'fetch',
          epic: 'ingest',
          agent: 'agent-1',
          attempts: 1,
          durationMs: 500,
          state: 'succeeded',
          error: null,
        },
        {
          id: 't2',
          key: 'report',
          epic: 'report',
          agent: 'agent-2',
          attempts: 2,
          durationMs: 300,
          state: 'succeeded',
          error: null,
        },
      ],
      agents: [
        {
          id: 'agt_1',
          name: 'agent-1',
          capabilities: ['shell'],
          labels: {},
          concurrency: 1,
          tasks: 1,
          busyMs: 500,
        },
        {
          id: 'agt_2',
          name: 'agent-2',
          capabilities: ['shell'],
          labels: {},
          concurrency: 1,
          tasks: 1,
          busyMs: 300,
        },
      ],
      counts: { ...countStates([]), succeeded: 2 },
      wallMs: 400,
      sumTaskMs: 800,
      speedup: 2,
      criticalPath: { keys: ['fetch', 'report'], ms: 800 },
    };
    const text = renderSummary(summary);
    expect(text).toMatch(/^fetch\s+ingest\s+agent-1\s+1\s+0\.50s\s+✓ succeeded$/m);
    expect(text).toMatch(/^report\s+report\s+agent-2\s+2\s+0\.30s\s+✓ succeeded$/m);
    expect(text).toContain('run run_1 (demo) succeeded: 2 succeeded');
    expect(text).toMatch(/^wall time\s+0\.40s$/m);
    expect(text).toMatch(/^sum of tasks\s+0\.80s$/m);
    expect(text).toMatch(/^speed-up\s+2\.00x/m);
    expect(text).toMatch(/^critical path\s+0\.80s \(lower bound\): fetch -> report$/m);
    expect(text).not.toContain('failures:');
    // The agents block: no LABELS column when no agent has labels.
    expect(text).toMatch(/^AGENT\s+CAPABILITIES\s+TASKS\s+BUSY$/m);
    expect(text).toMatch(/^agent-2\s+shell\s+1\s+0\.30s$/m);
  });

  it('shows each agent with its capabilities, labels, tasks and busy time', () => {
    const text = renderAgentsBlock([
      {
        id: 'agt_1',
        name: 'analyst',
        capabilities: ['data_analysis', 'shell'],
        labels: { region: 'eu', tier: 'a' },
        concurrency: 2,
        tasks: 3,
        busyMs: 1250,
      },
      {
        id: 'agt_2',
        name: 'idle',
        capabilities: [],
        labels: {},
        concurrency: 1,
        tasks: 0,
        busyMs: 0,
      },
      {
        id: 'agt_3',
        name: 'agt_3',
        capabilities: null,
        labels: {},
        concurrency: null,
        tasks: 1,
        busyMs: 100,
      },
    ]);
    expect(text.split('\n')).toEqual([
      'AGENT    CAPABILITIES          LABELS             TASKS   BUSY',
      '───────  ────────────────────  ─────────────────  ─────  ─────',
      'analyst  data_analysis, shell  region=eu, tier=a      3  1.25s',
      'idle     -                     -                      0  0.00s',
      'agt_3    ?                     -                      1  0.10s',
    ]);
  });
});

describe('error messages', () => {
  const shell =
    'sh -c "make" exited with code 2; last lines of stderr:\nmake[1]: entering\n\nmake: *** [all] Error 1\n';

  it('oneLine keeps the first line and the last, and cuts long ones in the middle', () => {
    expect(oneLine('plain')).toBe('plain');
    expect(oneLine('first\nlast')).toBe('first last');
    expect(oneLine(shell)).toBe(
      'sh -c "make" exited with code 2; last lines of stderr: … make: *** [all] Error 1',
    );
    const long = oneLine(`${'a'.repeat(100)}\n${'b'.repeat(100)}`, 21);
    expect(long).toBe(`${'a'.repeat(10)}…${'b'.repeat(10)}`);
    expect(long).toHaveLength(21);
  });

  it('renderFailures prints each failed task with its whole message, indented', () => {
    expect(
      renderFailures([
        { key: 'build', state: 'failed', error: shell },
        { key: 'ok', state: 'succeeded', error: 'an earlier attempt failed' },
        { key: 'pkg', state: 'skipped', error: 'dependency build failed' },
        { key: 'fine', state: 'succeeded', error: null },
      ]),
    ).toEqual([
      'failures:',
      '  build: sh -c "make" exited with code 2; last lines of stderr:',
      '    make[1]: entering',
      '',
      '    make: *** [all] Error 1',
      '  pkg: dependency build failed',
    ]);
    expect(renderFailures([{ key: 'a', state: 'succeeded', error: null }])).toEqual([]);
  });
});

describe('colour and width', () => {
  it('colours only a terminal, never with NO_COLOR, and as FORCE_COLOR says', () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(wantsColour(tty, {})).toBe(true);
    expect(wantsColour(pipe, {})).toBe(false);
    expect(wantsColour(tty, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColour(tty, { NO_COLOR: '' })).toBe(true);
    expect(wantsColour(tty, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(wantsColour(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantsColour(tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(wantsColour(tty, { TERM: 'dumb' })).toBe(false);
  });

  it('measures, cuts and pads in terminal columns', () => {
    expect(displayWidth('✓ ok')).toBe(4);
    expect(displayWidth('数据')).toBe(4);
    expect(displayWidth(styleText('red', 'ab', { validateStream: false }))).toBe(2);
    expect(fitWidth('数据数据', 5)).toBe('数据…');
    expect(fitWidth('abc', 3)).toBe('abc');
    expect(padWidth('数', 4)).toBe('数  ');
    expect(padWidth('7', 3, true)).toBe('  7');
  });

  it('aligns table columns holding CJK text and colour', () => {
    const paint = paintFor(true);
    const text = renderTable(
      ['KEY', 'STATE'],
      [
        ['数据', paint('ok', 'ok')],
        ['a', 'x'],
      ],
    );
    expect(stripVTControlCharacters(text).split('\n')).toEqual([
      'KEY   STATE',
      '────  ─────',
      '数据  ok',
      'a     x',
    ]);
  });

  it('colours the summary state, the failures and the status table', () => {
    const paint = paintFor(true);
    const line = renderEventLine(
      {
        id: '1',
        type: 'task.failed',
        at: 2000,
        taskId: 't',
        runId: 'r',
        agentId: null,
        data: { error: { message: 'boom' } },
      },
      { startedAt: 1000, taskLabel: () => 'build', agentLabel: (id) => id, paint },
    );
    expect(line).toContain(styleText('red', '✗', { validateStream: false }));
    expect(line).toContain(styleText('red', 'boom', { validateStream: false }));
    expect(renderFailures([{ key: 'build', state: 'failed', error: 'boom' }], paint)[0]).toBe(
      styleText('red', 'failures:', { validateStream: false }),
    );
  });
});
