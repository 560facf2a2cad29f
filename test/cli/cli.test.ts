/**
 * The `baton` command end to end: real processes on a real SQLite file in a fresh temp dir.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord, TaskRecord, TaskSpec } from '../../src/core/types.ts';
import type { Baton } from '../../src/runtime/baton.ts';
import type { RunSummary } from '../../src/cli/render.ts';
import { EXAMPLES, useCli } from '../helpers/cli.ts';

const cli = useCli();

const QUICKSTART = join(EXAMPLES, 'quickstart.yaml');
const QUICKSTART_KEYS = [
  'fetch-users',
  'fetch-orders',
  'fetch-products',
  'fetch-reviews',
  'clean-users',
  'enrich-orders',
  'score-reviews',
  'catalogue',
  'join',
  'summary',
  'charts',
  'publish',
];

async function writePlan(name: string, text: string): Promise<string> {
  const file = join(cli.dir, name);
  await writeFile(file, text);
  return file;
}

describe('baton run', () => {
  it('runs the quickstart to success and prints the summary with the speed-up', async () => {
    const result = await cli.run(['run', QUICKSTART, '--store', cli.store]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const key of QUICKSTART_KEYS) {
      // One summary row per task: key, epic, agent, attempts, duration, state.
      expect(result.stdout).toMatch(
        new RegExp(`^${key}\\s+\\S+\\s+agent-\\d+\\s+1\\s+\\d+\\.\\d\\ds\\s+✓ succeeded$`, 'm'),
      );
    }
    expect(result.stdout).toMatch(/\(quickstart\) succeeded: 12 succeeded/);
    expect(result.stdout).toMatch(/^wall time\s+\d+\.\d\ds$/m);
    expect(result.stdout).toMatch(/^sum of tasks\s+\d+\.\d\ds$/m);
    expect(result.stdout).toMatch(/^speed-up\s+\d+\.\d\dx/m);
    // The longest chain of the quickstart goes through the join and ends at publish.
    expect(result.stdout).toMatch(
      /^critical path\s+\d+\.\d\ds \(lower bound\): fetch-\S+ -> .*join -> .*publish$/m,
    );
    // Not a TTY: one plain line per event, with the agent and the duration.
    expect(result.stdout).toMatch(/^\[\s*\d+\.\d\ds\] ✓ publish {2}agent-\d+ {2}\d+\.\d\ds$/m);

    const baton = await cli.open();
    const { runs } = await baton.runs();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.state).toBe('succeeded');
    const { tasks } = await baton.tasks({ runId: runs[0]!.id });
    expect(tasks.map((t) => t.state)).toEqual(QUICKSTART_KEYS.map(() => 'succeeded'));
  });

  it('prints the summary as JSON with --json, using exactly --concurrency agents', async () => {
    const result = await cli.run([
      'run',
      QUICKSTART,
      '--store',
      cli.store,
      '--json',
      '--concurrency',
      '2',
    ]);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as RunSummary;
    expect(summary.state).toBe('succeeded');
    expect(summary.tasks.map((t) => t.key)).toEqual(QUICKSTART_KEYS);
    expect(summary.tasks.every((t) => t.state === 'succeeded' && t.attempts === 1)).toBe(true);
    expect(new Set(summary.tasks.map((t) => t.agent))).toEqual(new Set(['agent-1', 'agent-2']));
    expect(summary.counts.succeeded).toBe(12);
    expect(summary.sumTaskMs).toBeGreaterThan(0);
    expect(summary.speedup).toBeCloseTo(summary.sumTaskMs / summary.wallMs, 5);
    expect(summary.criticalPath.keys.at(-1)).toBe('publish');
    expect(summary.criticalPath.ms).toBeLessThanOrEqual(summary.sumTaskMs);
  });

  it('exits 1 when a task fails, and shows the failure and what it skipped', async () => {
    const plan = await writePlan(
      'fail.yaml',
      [
        'name: failing',
        'tasks:',
        '  - key: broken',
        "    command: 'echo boom >&2; exit 3'",
        '    shell: true',
        '    maxAttempts: 1',
        '  - key: after',
        '    command: echo',
        '    dependsOn: [broken]',
        '  - key: fine',
        '    command: echo',
        '',
      ].join('\n'),
    );
    const result = await cli.run(['run', plan, '--store', cli.store]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^broken\s.*✗ failed$/m);
    expect(result.stdout).toMatch(/^after\s.*↷ skipped$/m);
    expect(result.stdout).toMatch(/^fine\s.*✓ succeeded$/m);
    expect(result.stdout).toMatch(/\(failing\) failed/);
    expect(result.stdout).toMatch(/^ {2}broken: .*exited with code 3/m);
  });

  it('shows the stderr tail of a failure: whole in the summary and in status, one line as it happens', async () => {
    const plan = await writePlan(
      'tail.yaml',
      [
        'name: tail',
        'tasks:',
        '  - key: broken',
        "    command: 'echo starting >&2; echo warning: disk low >&2; echo Error: boom >&2; exit 3'",
        '    shell: true',
        '    maxAttempts: 1',
        '',
      ].join('\n'),
    );
    const result = await cli.run(['run', plan, '--store', cli.store]);
    expect(result.code).toBe(1);
    // The plain event line: the first line and the last, on one line.
    expect(result.stdout).toMatch(
      /✗ broken {2}agent-1 {2}\d+\.\d\ds {2}sh -c ".*" exited with code 3; last lines of stderr: … Error: boom$/m,
    );
    const tail = [
      'failures:',
      expect.stringMatching(/^ {2}broken: sh -c ".*" exited with code 3; last lines of stderr:$/),
      '    starting',
      '    warning: disk low',
      '    Error: boom',
    ];
    const summary = result.stdout.trimEnd().split('\n');
    expect(summary.slice(-5)).toEqual(tail);

    const runId = /run (run_\w+) \(tail\) failed/.exec(result.stdout)?.[1];
    const status = await cli.run(['status', runId!, '--store', cli.store]);
    expect(status.code).toBe(0);
    // The table's cell: both ends of that line, cut in the middle; the whole message below.
    expect(status.stdout).toMatch(
      /^✗ broken\s+failed\s+1\s+agent-1\s+\S+\s+sh -c ".*….*Error: boom$/m,
    );
    expect(status.stdout.trimEnd().split('\n').slice(-5)).toEqual(tail);
  });

  it('refuses a task whose requires its agents lack, storing nothing, and says how to run it', async () => {
    const plan = await writePlan(
      'gpu.yaml',
      [
        'name: gpu',
        'tasks:',
        '  - key: train',
        '    command: echo',
        '    requires: [gpu]',
        '',
      ].join('\n'),
    );
    const result = await cli.run(['run', plan, '--store', cli.store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error [BATON_PLAN]: ${plan}:3:5: tasks[0].requires: task 'train' requires [gpu], but baton run's agents have only [shell]: ` +
        'nothing says this machine has gpu. If it has, say so with --capabilities gpu (or declare agents: in the plan); ' +
        'to run the task where they are, baton submit the plan and start baton worker --capabilities gpu there\n',
    );
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
    const withAgents = await cli.run([
      'run',
      join(EXAMPLES, 'agents.yaml'),
      '--capabilities',
      'gpu',
      '--store',
      cli.store,
    ]);
    expect(withAgents.code).toBe(2);
    expect(withAgents.stderr).toMatch(/--capabilities cannot be used with .*agents\.yaml/);
  });

  it('gives its agents the --capabilities this machine has, and logs claims at --log-level info', async () => {
    const plan = await writePlan(
      'caps.yaml',
      [
        'name: caps',
        'tasks:',
        '  - key: py',
        '    command: echo',
        '    requires: [python]',
        '  - key: gpu',
        '    command: echo',
        '    requires: [gpu, python]',
        '    dependsOn: [py]',
        '',
      ].join('\n'),
    );
    const result = await cli.run([
      'run',
      plan,
      '--capabilities',
      'python,gpu',
      '--store',
      cli.store,
      '--log-level',
      'info',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^gpu\s+agent-1\s+1\s+.*✓ succeeded$/m);
    // The agents block says what they had.
    expect(result.stdout).toMatch(/^agent-1\s+gpu, python, shell\s+2\s/m);
    const logs = result.stderr
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            msg: string;
            agent?: string;
            key?: string;
            capabilities?: string[];
          },
      );
    expect(logs.find((l) => l.msg === 'run submitted')?.capabilities).toEqual([
      'gpu',
      'python',
      'shell',
    ]);
    expect(logs.filter((l) => l.msg === 'task claimed').map((l) => [l.agent, l.key])).toEqual([
      ['agent-1', 'py'],
      ['agent-1', 'gpu'],
    ]);
    expect(logs.filter((l) => l.msg === 'task succeeded')).toHaveLength(2);
  });

  it('refuses a plan with a cycle, prints the cycle, and stores nothing', async () => {
    const plan = await writePlan(
      'cycle.yaml',
      [
        'tasks:',
        '  - key: build',
        '    command: echo',
        '    dependsOn: [package]',
        '  - key: test',
        '    command: echo',
        '    dependsOn: [build]',
        '  - key: package',
        '    command: echo',
        '    dependsOn: [test]',
        '',
      ].join('\n'),
    );
    for (const command of ['run', 'submit']) {
      const result = await cli.run([command, plan, '--store', cli.store]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^error \[BATON_PLAN\]: .*cycle\.yaml:\d+:\d+: .*build -> test -> package -> build/m,
      );
    }
    const baton = await cli.open();
    expect((await baton.runs()).runs).toEqual([]);
    expect((await baton.tasks()).tasks).toEqual([]);
  });

  it('reports the line of malformed YAML', async () => {
    const plan = await writePlan(
      'bad.yaml',
      [
        'name: bad',
        'tasks:',
        '  - key: a',
        '    command: echo',
        '   - key: b',
        '    command: echo',
        '',
      ].join('\n'),
    );
    const result = await cli.run(['run', plan, '--store', cli.store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error \[BATON_PLAN\]: .*bad\.yaml:5:\d+: /m);
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
  });

  it('refuses a plan nested 100,000 levels with its line, and stores nothing', async () => {
    const plan = await writePlan(
      'deep.yaml',
      `tasks:\n  - key: a\n    executor: echo\n    payload: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
    );
    const result = await cli.run(['submit', plan, '--store', cli.store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error \[BATON_PLAN\]: .*deep\.yaml:4:\d+: nests objects and arrays more than 264 levels deep/m,
    );
    expect(result.stderr).not.toMatch(/call stack/);
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
  });

  it('reports a missing plan file', async () => {
    const result = await cli.run(['submit', join(cli.dir, 'nope.yaml'), '--store', cli.store]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error \[BATON_PLAN\]: .*nope\.yaml.*no such file/);
  });
});

describe('usage errors', () => {
  it.each([
    [['run', QUICKSTART, '--bogus'], /unknown option '--bogus'/],
    [
      ['run', QUICKSTART, '--concurrency', 'abc'],
      /--concurrency <n>' argument 'abc' is invalid\. expected a whole number of 1 or more/,
    ],
    [
      ['run', QUICKSTART, '--concurrency', '0'],
      /argument '0' is invalid\. expected a whole number of 1 or more/,
    ],
    [['worker', '--concurrency', '-3'], /--concurrency/],
    [
      ['worker', '--heartbeat', '2s', '--agent-ttl', '1s'],
      /--agent-ttl \(1000 ms\) must be longer than --heartbeat \(2000 ms\)/,
    ],
    [
      ['tasks', '--state', 'done'],
      /unknown task state "done"; use one of blocked, delayed, ready, running, succeeded, failed, skipped, cancelled/,
    ],
    [['tasks', '--limit', 'many'], /--limit <n>' argument 'many' is invalid/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['run'], /missing required argument 'plan'/],
    [['retry'], /missing required argument 'task-id'/],
    [['retry', 'run_abc'], /baton retry takes a task id \(tsk_…\), not a run id/],
    [['retry', 'tsk_abc', '--force'], /unknown option '--force'/],
    [
      ['status', '--store', 'mongodb://nowhere'],
      /error \[BATON_STORE_URL\]: cannot open store 'mongodb:\/\/nowhere'/,
    ],
  ])('baton %j exits 2 with a clear message, touching no store', async (args, message) => {
    const withStore = args.includes('--store') ? args : [...args, '--store', cli.store];
    const result = await cli.run(withStore);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(existsSync(join(cli.dir, 'b.db'))).toBe(false);
  });
});

describe('--help', () => {
  it.each(['run', 'worker', 'submit', 'status', 'tasks', 'cancel', 'retry'])(
    'baton %s --help',
    async (command) => {
      const result = await cli.run([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: baton ${command} `, 'm'));
      expect(result.stdout).toContain('--store <url>');
      expect(result.stdout).toContain('--namespace <ns>');
      expect(result.stdout).toContain('--log-level <level>');
    },
  );

  it('read commands take --json', async () => {
    for (const command of ['run', 'submit', 'status', 'tasks', 'cancel', 'retry']) {
      expect((await cli.run([command, '--help'])).stdout).toContain('--json');
    }
  });

  it.each(['-v', '-V', '--version'])('baton %s prints the version', async (flag) => {
    const result = await cli.run([flag]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    expect(result.stderr).toBe('');
  });

  it('lists every command at the top level', async () => {
    const result = await cli.run(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['run', 'worker', 'submit', 'status', 'tasks', 'cancel', 'retry']) {
      expect(result.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    }
    expect(result.stdout).toContain('-v, --version');
  });
});

/** Submit `spec` and fail its one attempt for good, as an agent would; the task's id. */
async function failedTask(baton: Baton, spec: TaskSpec): Promise<string> {
  const { id } = await baton.submit(spec);
  await baton.backend.registerAgent({ id: 'agt_cli', capabilities: [], concurrency: 1 });
  const [lease] = await baton.backend.claim({
    agentId: 'agt_cli',
    capabilities: [],
    max: 1,
    leaseTtlMs: 30_000,
  });
  await baton.backend.fail([
    {
      taskId: id,
      token: lease!.token,
      agentId: lease!.agentId,
      error: { message: 'boom' },
      retryable: false,
    },
  ]);
  expect((await baton.get(id))?.state).toBe('failed');
  return id;
}

describe('submit, status, tasks, cancel', () => {
  it('submits, then shows the run and its ready tasks as JSON', async () => {
    const submitted = await cli.run(['submit', QUICKSTART, '--store', cli.store, '--json']);
    expect(submitted.code).toBe(0);
    const { runId, tasks } = JSON.parse(submitted.stdout) as {
      runId: string;
      tasks: { id: string; key: string; state: string }[];
    };
    expect(runId).toMatch(/^run_/);
    expect(tasks.map((t) => t.key)).toEqual(QUICKSTART_KEYS);

    const status = await cli.run(['status', runId, '--store', cli.store, '--json']);
    expect(status.code).toBe(0);
    const shown = JSON.parse(status.stdout) as { run: RunRecord; tasks: TaskRecord[] };
    expect(shown.run.id).toBe(runId);
    expect(shown.run.state).toBe('running');
    expect(shown.run.progress.byState).toMatchObject({ ready: 4, blocked: 8 });
    expect(shown.tasks).toHaveLength(12);

    const ready = await cli.run(['tasks', '--json', '--state', 'ready', '--store', cli.store]);
    expect(ready.code).toBe(0);
    const list = (JSON.parse(ready.stdout) as { tasks: TaskRecord[] }).tasks;
    expect(list.map((t) => t.key)).toEqual([
      'fetch-users',
      'fetch-orders',
      'fetch-products',
      'fetch-reviews',
    ]);
    expect(list.every((t) => t.state === 'ready' && t.runId === runId)).toBe(true);

    const limited = await cli.run([
      'tasks',
      '--json',
      '--run',
      runId,
      '--limit',
      '2',
      '--store',
      cli.store,
    ]);
    expect((JSON.parse(limited.stdout) as { tasks: TaskRecord[] }).tasks.map((t) => t.key)).toEqual(
      ['fetch-users', 'fetch-orders'],
    );

    const runs = await cli.run(['status', '--json', '--store', cli.store]);
    expect((JSON.parse(runs.stdout) as { runs: RunRecord[] }).runs.map((r) => r.id)).toEqual([
      runId,
    ]);
  });

  it('prints the run id alone on stdout without --json, and text views of status and tasks', async () => {
    const submitted = await cli.run(['submit', QUICKSTART, '--store', cli.store]);
    expect(submitted.code).toBe(0);
    const runId = submitted.stdout.trim();
    expect(runId).toMatch(/^run_\w+$/);

    const status = await cli.run(['status', runId, '--store', cli.store]);
    expect(status.stdout).toContain(`run ${runId} (quickstart) running`);
    expect(status.stdout).toContain('8 blocked · 4 ready');
    expect(status.stdout).toMatch(/^○ fetch-users\s+ingest\s+ready/m);

    const list = await cli.run(['status', '--store', cli.store]);
    expect(list.stdout).toMatch(new RegExp(`^${runId}\\s+quickstart\\s+running\\s+0/12`, 'm'));

    const tasks = await cli.run(['tasks', '--state', 'blocked', '--store', cli.store]);
    expect(tasks.stdout.trim().split('\n')).toHaveLength(2 + 8);
  });

  it('cancels a run: every unfinished task is cancelled', async () => {
    const runId = (await cli.run(['submit', QUICKSTART, '--store', cli.store])).stdout.trim();
    const cancelled = await cli.run(['cancel', runId, '--store', cli.store]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`run ${runId} cancelled: 12 cancelled`);

    const status = JSON.parse(
      (await cli.run(['status', runId, '--json', '--store', cli.store])).stdout,
    ) as {
      run: RunRecord;
      tasks: TaskRecord[];
    };
    expect(status.run.state).toBe('cancelled');
    expect(status.tasks.every((t) => t.state === 'cancelled')).toBe(true);
  });

  it('cancels one task by id', async () => {
    const { tasks } = JSON.parse(
      (await cli.run(['submit', QUICKSTART, '--store', cli.store, '--json'])).stdout,
    ) as {
      tasks: { id: string }[];
    };
    const id = tasks[0]!.id;
    const result = await cli.run(['cancel', id, '--store', cli.store, '--json']);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { task: TaskRecord }).task.state).toBe('cancelled');
    const baton = await cli.open();
    expect((await baton.get(id))?.state).toBe('cancelled');
    expect((await baton.get(tasks[1]!.id))?.state).toBe('ready');
  });

  it('retries a failed task by id; a task that is not failed is refused with exit 1', async () => {
    const baton = await cli.open();
    const id = await failedTask(baton, { type: 'x', key: 'flaky', maxAttempts: 1 });

    const retried = await cli.run(['retry', id, '--reason', 'fixed it', '--store', cli.store]);
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(0);
    expect(retried.stdout).toBe(
      `task ${id} (flaky) ready: retried with 1 attempt to go\n` +
        `It runs when a worker on ${cli.store} with a handler for type 'x' takes it (the SDK's baton.worker({ handlers: { 'x': … } })).\n`,
    );
    expect((await baton.get(id))?.state).toBe('ready');
    const events = [];
    for await (const e of baton.events({ follow: false })) {
      if (e.type === 'task.retried') events.push(e.data);
    }
    expect(events).toEqual([{ reason: 'fixed it', previousAttempts: 1 }]);

    const again = await cli.run(['retry', id, '--store', cli.store, '--json']);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(
      `error [BATON_CONFLICT]: task ${id} is ready: only failed tasks can be retried`,
    );
    const missing = await cli.run(['retry', 'tsk_nope', '--store', cli.store]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error [BATON_NOT_FOUND]: task tsk_nope not found');
  });

  it('retry says which worker runs a shell task, and status shows no duration while it is ready', async () => {
    const baton = await cli.open();
    const { runId, tasks } = await baton.submitRun({
      name: 'gpu',
      tasks: [{ key: 'train', type: 'shell', requires: ['gpu'], maxAttempts: 1 }],
    });
    const id = tasks[0]!.id;
    await baton.backend.registerAgent({ id: 'agt_cli', capabilities: ['gpu'], concurrency: 1 });
    const [lease] = await baton.backend.claim({
      agentId: 'agt_cli',
      capabilities: ['gpu'],
      max: 1,
      leaseTtlMs: 30_000,
    });
    await baton.backend.fail([
      {
        taskId: id,
        token: lease!.token,
        agentId: 'agt_cli',
        error: { message: 'oom' },
        retryable: false,
      },
    ]);
    const failed = await cli.run(['status', runId, '--store', cli.store]);
    expect(failed.stdout).toMatch(/^✗ train\s+failed\s+1\s+agt_cli\s+\d+\.\d\ds\s+oom$/m);

    const retried = await cli.run(['retry', id, '--store', cli.store, '--namespace', 'default']);
    expect(retried.code).toBe(0);
    expect(retried.stdout.split('\n')[1]).toBe(
      `It runs when a worker takes it; if none is running on this store, start one: baton worker --store ${cli.store} --namespace default --capabilities gpu`,
    );
    const ready = await cli.run(['status', runId, '--store', cli.store]);
    // A ready task is not running and has not finished: no duration, whatever ran before.
    expect(ready.stdout).toMatch(/^○ train\s+ready\s+1\s+agt_cli\s+-$/m);
  });

  it('cancel --reason records why', async () => {
    const baton = await cli.open();
    const { id } = await baton.submit({ type: 'shell', payload: { command: 'true' } });
    const result = await cli.run(['cancel', id, '--reason', 'wrong input', '--store', cli.store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`task ${id} cancelled\n`);
    expect((await baton.get(id))?.error?.message).toBe('wrong input');
    const other = await baton.submit({ type: 'shell', payload: { command: 'true' } });
    await cli.run(['cancel', other.id, '--store', cli.store]);
    expect((await baton.get(other.id))?.error?.message).toBe('cancelled from the command line');
  });

  it('retry --json prints the task', async () => {
    const baton = await cli.open();
    const id = await failedTask(baton, { type: 'x', maxAttempts: 1 });
    const result = await cli.run(['retry', id, '--store', cli.store, '--json']);
    expect(result.code).toBe(0);
    const { task } = JSON.parse(result.stdout) as { task: TaskRecord };
    expect(task).toMatchObject({ id, state: 'ready', attempts: 1, maxAttempts: 2, error: null });
  });

  it('says what was not found, with exit 1', async () => {
    const status = await cli.run(['status', 'run_nope', '--store', cli.store]);
    expect(status.code).toBe(1);
    expect(status.stderr).toBe('error [BATON_NOT_FOUND]: run run_nope not found\n');
    const cancel = await cli.run(['cancel', 'tsk_nope', '--store', cli.store]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain('error [BATON_NOT_FOUND]: task tsk_nope not found');
  });

  it('reads the store from BATON_STORE', async () => {
    const submitted = await cli.run(['submit', QUICKSTART], { env: { BATON_STORE: cli.store } });
    expect(submitted.code).toBe(0);
    const baton = await cli.open();
    expect((await baton.getRun(submitted.stdout.trim()))?.name).toBe('quickstart');
  });

  it('keeps namespaces apart', async () => {
    await cli.run(['submit', QUICKSTART, '--store', cli.store, '--namespace', 'other']);
    const here = JSON.parse((await cli.run(['status', '--json', '--store', cli.store])).stdout) as {
      runs: unknown[];
    };
    const there = JSON.parse(
      (await cli.run(['status', '--json', '--store', cli.store, '--namespace', 'other'])).stdout,
    ) as {
      runs: unknown[];
    };
    expect(here.runs).toHaveLength(0);
    expect(there.runs).toHaveLength(1);
  });
});

describe('interrupting a run and resuming it with baton worker', () => {
  it('stops on SIGINT with exit 130, leaves the run in the store, and a worker finishes it', async () => {
    const plan = await writePlan(
      'slow.yaml',
      [
        'name: slow',
        'tasks:',
        '  - key: first',
        // Runs until the test has seen the interrupt taken: no race with a loaded machine.
        "    command: 'while [ ! -e go ]; do sleep 0.05; done'",
        '    shell: true',
        '  - key: second',
        '    command: echo',
        '    dependsOn: [first]',
        '  - key: third',
        '    command: echo',
        '    dependsOn: [second]',
        '',
      ].join('\n'),
    );
    const run = cli.start(['run', plan, '--store', cli.store]);
    await run.waitFor(/▶ first {2}agent-1/);
    run.child.kill('SIGINT');
    await run.waitFor(
      /SIGINT: stopping; no new task starts; running tasks may finish within the grace period\ngrace 10s; Ctrl-C again to stop at once/,
      'stderr',
    );
    await writeFile(join(cli.dir, 'go'), '');
    const stopped = await run.exited;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(
      /interrupted: run run_\w+ is left in the store with 2 of 3 tasks unfinished \(1 blocked · 1 ready · 1 succeeded\); no task started after SIGINT\./,
    );
    expect(stopped.stderr).toContain(`baton worker --store ${cli.store}`);

    const baton = await cli.open();
    const [left] = (await baton.runs()).runs;
    expect(left?.state).toBe('running');
    // The running task finished; nothing started after the interrupt.
    expect((await baton.tasks({ runId: left!.id })).tasks.map((t) => t.state)).toEqual([
      'succeeded',
      'ready',
      'blocked',
    ]);

    const worker = cli.start(['worker', '--store', cli.store, '--name', 'resumer']);
    const done = await baton.wait(left!.id, { timeoutMs: 20_000 });
    expect(done.state).toBe('succeeded');
    const { tasks } = await baton.tasks({ runId: left!.id });
    expect(tasks.map((t) => t.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);

    worker.child.kill('SIGTERM');
    const ended = await worker.exited;
    expect(ended.code).toBe(0);
    // The worker logs (info by default) which task it claimed and how it ended.
    expect(ended.stderr).toMatch(/"key":"third".*"msg":"task claimed"/);
    expect(ended.stderr).toMatch(/"key":"third".*"msg":"task succeeded"/);
  });
});
