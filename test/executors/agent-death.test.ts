/**
 * A coding agent dies with its worker: a real `baton worker` running an agent task (the fake
 * claude, named by baton.config.yaml, which has started a child of its own) is SIGKILLed; the
 * agent and its child are gone soon after, though nobody signalled them but the supervisor.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { useCli } from '../helpers/cli.ts';
import { isLive, pollFor, processInfo } from '../helpers/proc.ts';

const FAKE_CLAUDE = resolve(import.meta.dirname, '../helpers/fake-claude.mjs');
const cli = useCli();

function pids(file: string): { self: number; children: number[] } | undefined {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const self = lines.find((l) => l.startsWith('self '));
    const children = lines.filter((l) => l.startsWith('child ')).map((l) => Number(l.slice(6)));
    return self === undefined || children.length === 0
      ? undefined
      : { self: Number(self.slice(5)), children };
  } catch {
    return undefined;
  }
}

describe('an agent task whose worker is SIGKILLed', () => {
  it(
    'takes the agent CLI and the process it started down with it',
    { timeout: 90_000 },
    async () => {
      writeFileSync(
        join(cli.dir, 'baton.config.yaml'),
        `agents:\n  claude: { path: ${JSON.stringify(FAKE_CLAUDE)} }\n`,
      );
      writeFileSync(
        join(cli.dir, 'plan.yaml'),
        [
          'tasks:',
          '  - key: held',
          '    executor: agent',
          '    kind: claude',
          '    prompt: "fake: spawn-child\\nfake: hang"',
          '',
        ].join('\n'),
      );
      const submitted = await cli.run(['submit', 'plan.yaml', '--store', cli.store, '--json']);
      expect(submitted.code, submitted.stderr).toBe(0);
      const pidFile = join(cli.dir, 'pids');
      const worker = cli.start(['worker', '--store', cli.store, '--concurrency', '1'], {
        env: { FAKE_AGENT_PID_FILE: pidFile },
      });
      const running = await pollFor(() => pids(pidFile), 30_000);
      expect(running, `the agent never started\n${worker.stderr}`).toBeDefined();
      const all = [running!.self, ...running!.children];
      expect(all.every((p) => isLive(processInfo(p)))).toBe(true);

      worker.child.kill('SIGKILL');
      await worker.exited;
      const gone = await pollFor(
        () => (all.every((p) => !isLive(processInfo(p))) ? true : undefined),
        20_000,
      );
      expect(gone, `still running: ${all.filter((p) => isLive(processInfo(p))).join(', ')}`).toBe(
        true,
      );
    },
  );
});
