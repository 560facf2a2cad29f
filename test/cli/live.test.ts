/**
 * `baton run`'s live display on a terminal, and Ctrl-C. Real `baton` processes on a
 * pseudo-terminal (util-linux `script`); what they write is played onto an emulated terminal
 * (`helpers/terminal.ts`) to read what a person would see, scrollback included. The display
 * itself is also driven directly, onto the same emulated terminal.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LiveDisplay } from '../../src/cli/live.ts';
import { useCli } from '../helpers/cli.ts';
import { Terminal } from '../helpers/terminal.ts';

const cli = useCli();

async function writePlan(name: string, lines: string[]): Promise<string> {
  const file = join(cli.dir, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** What a terminal of this size shows after `output`, scrollback included. */
function screen(output: string, columns: number, rows: number): string[] {
  const terminal = new Terminal(columns, rows);
  terminal.write(output);
  return terminal.lines();
}

describe('the emulated terminal', () => {
  it('wraps, scrolls, and moves and erases as escape sequences say', () => {
    const t = new Terminal(10, 3);
    t.write('abcdefghijKL\r\n1\r\n2\r\n3');
    expect(t.lines()).toEqual(['abcdefghij', 'KL', '1', '2', '3']);
    t.write('\u001b[2A\u001b[2K\u001b[Gx\u001b[1B\r\u001b[31my\u001b[39m');
    expect(t.lines()).toEqual(['abcdefghij', 'KL', 'x', 'y', '3']);
    const wide = new Terminal(5, 2);
    wide.write('数据数');
    expect(wide.lines()).toEqual(['数据', '数']);
  });
});

describe('LiveDisplay', () => {
  it('prints lines above the frame and leaves exactly one frame, however often it redraws', () => {
    const terminal = new Terminal(40, 10);
    // A terminal's driver turns each LF into CR LF on the way out (onlcr).
    const stream = {
      write: (s: string) => terminal.write(s.replaceAll('\n', '\r\n')),
      isTTY: true,
      columns: 40,
      rows: 10,
    };
    let n = 0;
    const display = new LiveDisplay(stream, stream, () => `frame ${n}\nline two of frame ${n}`, {
      intervalMs: 60_000,
    });
    for (n = 1; n <= 5; n++) {
      display.print('stderr', `log ${n}`);
      display.redraw();
    }
    display.print('stdout', 'a failure');
    n = 9;
    display.stop();
    expect(terminal.lines()).toEqual([
      'log 1',
      'log 2',
      'log 3',
      'log 4',
      'log 5',
      'a failure',
      'frame 9',
      'line two of frame 9',
    ]);
  });

  it('writes stderr lines straight through when stderr is not the terminal', () => {
    const terminal = new Terminal(40, 10);
    const out = {
      write: (s: string) => terminal.write(s.replaceAll('\n', '\r\n')),
      isTTY: true,
      columns: 40,
      rows: 10,
    };
    const file: string[] = [];
    const err = { write: (s: string) => file.push(s), isTTY: false };
    const display = new LiveDisplay(out, err, () => 'frame', { intervalMs: 60_000 });
    display.print('stderr', 'a log line');
    display.stop();
    expect(file).toEqual(['a log line\n']);
    expect(terminal.lines()).toEqual(['frame']);
  });
});

describe('baton run on a terminal', () => {
  it('prints log lines above the live frame and leaves no stale copy of it', async () => {
    const plan = await writePlan('par.yaml', [
      'name: par',
      'tasks:',
      "  - { key: a, command: sleep, args: ['0.2'] }",
      "  - { key: b, command: sleep, args: ['0.2'] }",
      "  - { key: c, command: sleep, args: ['0.2'], dependsOn: [a] }",
      "  - { key: d, command: sleep, args: ['0.2'], dependsOn: [b] }",
      "  - { key: e, command: 'echo oops >&2; exit 1', shell: true, maxAttempts: 1 }",
    ]);
    const run = cli.startTty(['run', plan, '--store', cli.store, '--log-level', 'info'], {
      columns: 100,
      rows: 40,
    });
    const result = await run.exited;
    expect(result.code).toBe(1);
    const lines = screen(result.stdout, 100, 40);
    const frames = lines.filter((l) => /^par {2}\d+\.\d\ds {2}\d\/5 done$/.test(l));
    expect(frames, lines.join('\n')).toEqual([expect.stringMatching(/ 5\/5 done$/)]);
    // Every log line is whole, on lines of its own: five claims, four successes.
    expect(lines.filter((l) => l.includes('task claimed'))).toHaveLength(5);
    expect(lines.filter((l) => l.includes('task succeeded'))).toHaveLength(4);
    // The failure's line stays above the frame.
    expect(lines.filter((l) => /✗ e {2}agent-\d/.test(l))).toHaveLength(1);
  });

  it('draws an epic of hundreds of tasks to fit the terminal, not wrapped', async () => {
    const tasks = Array.from(
      { length: 150 },
      (_, i) => `  - { key: t${i}, epic: build, command: 'true' }`,
    );
    const plan = await writePlan('wide.yaml', ['name: wide', 'tasks:', ...tasks]);
    const run = cli.startTty(['run', plan, '--store', cli.store, '--concurrency', '4'], {
      columns: 60,
      rows: 20,
    });
    const result = await run.exited;
    expect(result.code).toBe(0);
    const lines = screen(result.stdout, 60, 20);
    const lanes = lines.filter((l) => l.startsWith('  build  '));
    // One lane line, whole: the bar fits in the 60 columns with its count at the end.
    expect(lanes, lines.join('\n')).toEqual([
      expect.stringMatching(/^ {2}build {2}✓{42} {2}150\/150$/),
    ]);
    expect(lines.filter((l) => /^wide {2}/.test(l))).toHaveLength(1);
  });

  it('Ctrl-C during a short task: shows at once that it stops and the grace left, starts nothing new', async () => {
    const plan = await writePlan('short.yaml', [
      'name: short',
      'tasks:',
      "  - { key: first, command: sleep, args: ['1'] }",
      '  - { key: second, command: echo, dependsOn: [first] }',
      '  - { key: third, command: echo, dependsOn: [second] }',
    ]);
    const run = cli.startTty(['run', plan, '--store', cli.store, '--grace', '20s'], {
      columns: 200,
      rows: 30,
    });
    await run.waitFor(/1 running/);
    run.type('\u0003'); // Ctrl-C: the terminal sends SIGINT to the command
    // At once, while the task still runs: what happens, and the grace left.
    await run.waitFor(/grace left \d+(\.\d)?s of 20s; Ctrl-C again to stop at once/);
    expect(run.stdout).toContain(
      'SIGINT: stopping; no new task starts; 1 running task may finish within the grace period',
    );
    const result = await run.exited;
    expect(result.code).toBe(130);
    const lines = screen(result.stdout, 200, 30);
    const text = lines.join('\n');
    expect(text).toMatch(
      /interrupted: run run_\w+ is left in the store with 2 of 3 tasks unfinished \(1 blocked · 1 ready · 1 succeeded\); no task started after SIGINT\./,
    );
    expect(lines.filter((l) => /^short {2}/.test(l))).toHaveLength(1);

    const baton = await cli.open();
    const [left] = (await baton.runs()).runs;
    const tasks = (await baton.tasks({ runId: left!.id })).tasks;
    // The short task finished within the grace; nothing started after the interrupt.
    expect(tasks.map((t) => [t.key, t.state, t.attempts])).toEqual([
      ['first', 'succeeded', 1],
      ['second', 'ready', 0],
      ['third', 'blocked', 0],
    ]);
  });

  it('a second Ctrl-C stops the running task at once and gives it back', async () => {
    const plan = await writePlan('long.yaml', [
      'name: long',
      'tasks:',
      "  - { key: slow, command: sleep, args: ['30'] }",
    ]);
    const run = cli.startTty(['run', plan, '--store', cli.store], { columns: 200, rows: 30 });
    await run.waitFor(/1 running/);
    run.type('\u0003');
    await run.waitFor(/grace left/);
    run.type('\u0003');
    const result = await run.exited;
    expect(result.code).toBe(130);
    const text = screen(result.stdout, 200, 30).join('\n');
    expect(text).toContain('SIGINT: stopping; no new task starts, and none is running');
    expect(text).toMatch(/with 1 of 1 tasks unfinished \(1 ready\)/);
    const baton = await cli.open();
    const [left] = (await baton.runs()).runs;
    expect((await baton.tasks({ runId: left!.id })).tasks.map((t) => t.state)).toEqual(['ready']);
  });
});
