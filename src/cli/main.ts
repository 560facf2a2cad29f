/**
 * The `baton` command line. Parsing and usage errors are settled here, before any command opens
 * the store: a bad flag exits 2 having touched nothing. Errors Baton raises print as
 * `error [CODE]: message` and exit 1.
 *
 * Start-up time: this module imports only commander and a few pure helpers. Each command's
 * module (and with it the store, the executors, the HTTP server, pino…) is imported inside its
 * action, after its arguments were parsed, so `baton --version` or `baton status` does not pay
 * for what only `baton run` or `baton server` uses (`npm run bench:startup`,
 * docs/benchmarks.md).
 */
import { readFileSync } from 'node:fs';

import { Argument, Command, CommanderError, Option } from 'commander';

import { BatonError } from '../core/errors.ts';
import { TASK_STATES } from '../core/types.ts';
import type { PoolCommandOptions } from './commands/pool.ts';
import type { TasksFilter } from './commands/tasks.ts';
import type { WorkerCommandOptions } from './commands/worker.ts';
import type { CliContext, CliIO, CommonOptions } from './context.ts';
import { paintFor, wantsColour } from './colour.ts';
import {
  LOG_LEVELS,
  parseBytes,
  parseDurationMs,
  parseList,
  parseLogLevel,
  parseNonNegativeInt,
  parsePositiveInt,
  parseTaskState,
  parseUsd,
  type LogLevel,
} from './parse.ts';

/** Exit codes of the `baton` command. */
export const EXIT = {
  ok: 0,
  /** The run did not succeed, or Baton refused the request. */
  failure: 1,
  /** The command line was wrong: unknown command or flag, bad value. */
  usage: 2,
  /** Interrupted (SIGINT), as shells report 128 + 2. */
  interrupted: 130,
} as const;

/** The worker's heartbeat when `--heartbeat` is not given (WorkerOptions.heartbeatIntervalMs). */
const DEFAULT_HEARTBEAT_MS = 1000;

/** Codes of errors that are the command line's fault rather than the store's or the plan's. */
const USAGE_CODES = new Set(['BATON_STORE_URL']);

/**
 * Run the CLI with `argv` as given to Node (`[node, script, ...args]`) and resolve with the exit
 * code; the caller sets `process.exitCode`, so output streams drain before the process ends.
 */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const state = { exitCode: EXIT.ok as number };
  const program = buildProgram(io, (code) => {
    state.exitCode = code;
  });
  try {
    await program.parseAsync([...argv]);
    return state.exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Print an error the way every command does, and pick the exit code. */
export function reportError(error: unknown, io: CliIO): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (and the hint to use --help).
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof BatonError) {
    const paint = paintFor(wantsColour(io.stderr, io.env));
    io.stderr.write(`${paint('bad', `error [${error.code}]`)}: ${error.message}\n`);
    return USAGE_CODES.has(error.code) ? EXIT.usage : EXIT.failure;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`error: ${message}\n`);
  return EXIT.failure;
}

/** The package's version; `src/cli` and `dist/cli` both sit two levels below package.json. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

type SetExit = (code: number) => void;

/** Options shared by every command. */
function withCommonOptions(command: Command, options: { json?: boolean } = {}): Command {
  command
    .option(
      '--store <url>',
      'where state lives, e.g. sqlite:path/to/baton.db (default: $BATON_STORE, else sqlite:.baton/baton.db)',
    )
    .option('--namespace <ns>', 'isolates queues that share one store (default: "default")')
    .option(
      '--config <file>',
      'the configuration file (default: baton.config.yaml in this directory or the nearest one above it)',
    )
    .addOption(
      new Option(
        '--log-level <level>',
        `level of the logs on stderr, readable lines on a terminal and JSON otherwise ($BATON_LOG_FORMAT=json|pretty): ${LOG_LEVELS.join(', ')} (default: $BATON_LOG_LEVEL, else warn; info for worker, pool and server)`,
      ).argParser(parseLogLevel),
    );
  if (options.json) command.option('--json', 'print JSON instead of text');
  return command;
}

/**
 * The command's context (logger, store URL, the store opened on demand), imported when a
 * command runs: pino and the client are not loaded to print the version or a usage error.
 * @throws BatonError `BATON_STORE_URL` for a store URL of no known form, before anything opens.
 */
async function createContext(
  io: CliIO,
  options: CommonOptions,
  defaultLevel: LogLevel,
): Promise<CliContext> {
  const { createContext: create } = await import('./context.ts');
  return create(io, options, defaultLevel);
}

function common(command: Command): CommonOptions {
  const o = command.opts<{
    store?: string;
    namespace?: string;
    logLevel?: LogLevel;
    json?: boolean;
    config?: string;
  }>();
  const out: CommonOptions = { json: o.json === true };
  if (o.config !== undefined) out.config = o.config;
  if (o.store !== undefined) out.store = o.store;
  if (o.namespace !== undefined) out.namespace = o.namespace;
  if (o.logLevel !== undefined) out.logLevel = o.logLevel;
  return out;
}

/** The commander program: every command, its flags and their parsers. */
export function buildProgram(io: CliIO, setExit: SetExit = () => undefined): Command {
  const version = packageVersion();
  const program = new Command('baton')
    .description('A durable, parallel task queue and orchestrator for AI-agent workflows.')
    .version(version, '-v, --version', 'print the version')
    // -V as well, as commander's default had it.
    .addOption(new Option('-V').hideHelp())
    .on('option:V', () => {
      io.stdout.write(`${version}\n`);
      throw new CommanderError(EXIT.ok, 'commander.version', version);
    })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true);

  withCommonOptions(
    program
      .command('run')
      .description(
        'Submit a plan as a run and execute it on a local pool of in-process agents, with live progress and a summary.',
      )
      .argument('[plan]', 'plan file (YAML or JSON); or give --goal')
      .option(
        '--goal <goal>',
        'plan this goal in plain words and run the planned tasks, instead of a plan file (docs/planner.md)',
      )
      .addOption(
        new Option('--budget <usd>', "with --goal: the run's budget in US dollars").argParser(
          parseUsd,
        ),
      )
      .option(
        '--model <id>',
        'with --goal: the planner model (default: $BATON_PLANNER_MODEL, else anthropic:claude-sonnet-4-5)',
      )
      .option(
        '--task-model <id>',
        "with --goal: the planned tasks' model (default: $BATON_PLANNER_TASK_MODEL, else the planner's)",
      )
      .addOption(
        new Option(
          '-c, --concurrency <n>',
          "number of agents (default: the plan's widest DAG level, at most 16; 4 with --goal); not with a plan that declares agents:",
        ).argParser(parsePositiveInt),
      )
      .addOption(
        new Option(
          '--capabilities <list>',
          'comma-separated capabilities this machine has, e.g. gpu,python, given to the agents besides shell; a task that requires one they lack is refused (not with a plan that declares agents:)',
        ).argParser(parseList),
      )
      .addOption(
        new Option(
          '--grace <duration>',
          'on Ctrl-C (SIGINT) or SIGTERM, how long running tasks may finish before they are stopped and given back (default: 10s)',
        ).argParser(parseDurationMs),
      )
      .option(
        '--sequential',
        'run one task at a time, on one agent (as parallel.enabled: false in baton.config.yaml)',
      ),
    { json: true },
  )
    .addHelpText(
      'after',
      `
Ctrl-C (SIGINT) stops it: no new task starts, and the running ones may finish within --grace
(a terminal shows the time left); Ctrl-C again stops them at once and gives them back to the
queue. The run stays in the store; \`baton worker\` resumes it.

Exit code: 0 when every task succeeded, 1 otherwise, 2 for a usage error, 130 after Ctrl-C
(143 after SIGTERM).

Examples:
  $ baton run examples/quickstart.yaml
  $ baton run examples/agents.yaml     # on the agents the plan declares
  $ baton run plan.yaml --concurrency 8 --store sqlite:/tmp/baton.db
  $ baton run train.yaml --capabilities gpu  # its tasks require gpu, and this machine has one
  $ baton run plan.yaml --json > summary.json
  $ baton run --goal "Calculate factorial of 10" --budget 0.5`,
    )
    .action(async (plan: string | undefined, _opts: unknown, command: Command) => {
      const o = command.opts<{
        concurrency?: number;
        capabilities?: string[];
        grace?: number;
        goal?: string;
        budget?: number;
        model?: string;
        taskModel?: string;
        sequential?: boolean;
      }>();
      const goalOnly = ['budget', 'model', 'taskModel'].filter(
        (k) => o[k as keyof typeof o] !== undefined,
      );
      if (
        (plan === undefined) === (o.goal === undefined) ||
        (o.goal === undefined && goalOnly.length > 0)
      ) {
        const why =
          plan !== undefined && o.goal !== undefined
            ? 'give a plan file or --goal, not both'
            : plan === undefined && o.goal === undefined
              ? `missing required argument 'plan' (a plan file), or give --goal "<what to do>" to plan and run a goal`
              : `--${goalOnly.map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(', --')} ${goalOnly.length === 1 ? 'goes' : 'go'} with --goal only`;
        io.stderr.write(`error: ${why}\n(add --help for usage)\n`);
        setExit(EXIT.usage);
        return;
      }
      if (o.sequential === true && o.concurrency !== undefined) {
        command.error('error: --sequential runs one task at a time; it cannot take --concurrency', {
          exitCode: EXIT.usage,
          code: 'baton.usage',
        });
      }
      const ctx = await createContext(
        io,
        {
          ...common(command),
          ...(o.concurrency === undefined ? {} : { maxConcurrency: o.concurrency }),
          ...(o.sequential === true ? { sequential: true } : {}),
        },
        'warn',
      );
      setExit(
        await (
          await import('./commands/run.ts')
        ).runCommand(ctx, plan, {
          ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency }),
          ...(o.capabilities === undefined ? {} : { capabilities: o.capabilities }),
          ...(o.grace === undefined ? {} : { graceMs: o.grace }),
          ...(o.goal === undefined ? {} : { goal: o.goal }),
          ...(o.budget === undefined ? {} : { budgetUsd: o.budget }),
          ...(o.model === undefined ? {} : { model: o.model }),
          ...(o.taskModel === undefined ? {} : { taskModel: o.taskModel }),
        }),
      );
    });

  withCommonOptions(
    program
      .command('plan')
      .description(
        'Plan a goal into tasks with the planner model and write them as a plan file to review; nothing runs (docs/planner.md).',
      )
      .argument('<goal>', 'the goal in plain words, 10 to 5,000 characters')
      .option('-o, --out <file>', 'write the plan file here (default: print it)')
      .option(
        '--model <id>',
        'the planner model (default: $BATON_PLANNER_MODEL, else anthropic:claude-sonnet-4-5)',
      )
      .option(
        '--task-model <id>',
        "the planned tasks' model (default: $BATON_PLANNER_TASK_MODEL, else the planner's)",
      )
      .addOption(
        new Option(
          '--capabilities <list>',
          'comma-separated capabilities the agents that will run the plan have besides shell (give baton run the same)',
        ).argParser(parseList),
      ),
    { json: true },
  )
    .addHelpText(
      'after',
      `
The planner's call is a task of a run of its own (so it has a log and a cost: baton logs,
baton costs). Its tasks are llm tasks; review the file, then run it with baton run.

Examples:
  $ baton plan "Calculate factorial of 10" --out plan.yaml
  $ baton run plan.yaml`,
    )
    .action(async (goal: string, _opts: unknown, command: Command) => {
      const o = command.opts<{
        out?: string;
        model?: string;
        taskModel?: string;
        capabilities?: string[];
      }>();
      const ctx = await createContext(io, common(command), 'warn');
      setExit(
        await (
          await import('./commands/plan.ts')
        ).planCommand(ctx, goal, {
          ...(o.out === undefined ? {} : { out: o.out }),
          ...(o.model === undefined ? {} : { model: o.model }),
          ...(o.taskModel === undefined ? {} : { taskModel: o.taskModel }),
          ...(o.capabilities === undefined ? {} : { capabilities: o.capabilities }),
        }),
      );
    });

  withCommonOptions(
    program
      .command('worker')
      .description(
        'Run a worker process on the store: claims tasks its capabilities allow until SIGINT/SIGTERM.',
      )
      .addOption(
        new Option(
          '--capabilities <list>',
          'comma-separated capabilities, e.g. shell,python (shell is always added)',
        ).argParser(parseList),
      )
      .addOption(
        new Option('-c, --concurrency <n>', 'tasks run at once')
          .argParser(parsePositiveInt)
          .default(4),
      )
      .option('--agent-id <id>', 'stable agent id (default: generated)')
      .option('--name <name>', 'agent name shown in status and logs (default: the host and pid)')
      .addOption(
        new Option(
          '--heartbeat <duration>',
          'how often the agent heartbeats and renews its leases, e.g. 500ms, 2s (default: 1s)',
        ).argParser(parseDurationMs),
      )
      .addOption(
        new Option(
          '--agent-ttl <duration>',
          'an agent silent this long is declared lost and its leases released at once (default: 3s)',
        ).argParser(parseDurationMs),
      )
      .addOption(
        new Option(
          '--lease-ttl <duration>',
          'how long a lease lasts without renewal (default: 30s)',
        ).argParser(parseDurationMs),
      )
      .addOption(
        new Option(
          '--grace <duration>',
          'on SIGINT/SIGTERM, how long running tasks may finish before they are aborted and given back (default: 10s)',
        ).argParser(parseDurationMs),
      ),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ baton worker --capabilities python,gpu --concurrency 8
  $ baton worker --store sqlite:/srv/baton.db --agent-id build-box-1 --name build-box-1`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const o = command.opts<WorkerCommandOptions>();
      const heartbeat = o.heartbeat ?? DEFAULT_HEARTBEAT_MS;
      for (const [flag, ttl] of [
        ['--agent-ttl', o.agentTtl],
        ['--lease-ttl', o.leaseTtl],
      ] as const) {
        if (ttl !== undefined && ttl <= heartbeat) {
          command.error(
            `error: ${flag} (${ttl} ms) must be longer than --heartbeat (${heartbeat} ms), or a live agent would look silent between heartbeats`,
            { exitCode: EXIT.usage, code: 'baton.usage' },
          );
        }
      }
      const ctx = await createContext(io, common(command), 'info');
      setExit(await (await import('./commands/worker.ts')).workerCommand(ctx, o));
    });

  withCommonOptions(
    program
      .command('pool')
      .description(
        'Supervise worker processes on the store: add workers when the backlog grows, stop idle ones, restart crashed or oversized ones, until SIGINT/SIGTERM.',
      )
      .addOption(
        new Option(
          '--capabilities <list>',
          'comma-separated capabilities of every worker, e.g. shell,python (shell is always added)',
        ).argParser(parseList),
      )
      .addOption(
        new Option('-c, --concurrency <n>', 'tasks each worker runs at once')
          .argParser(parsePositiveInt)
          .default(4),
      )
      .addOption(
        new Option('--min <n>', 'fewest workers, even with nothing to do')
          .argParser(parseNonNegativeInt)
          .default(1),
      )
      .addOption(new Option('--max <n>', 'most workers').argParser(parsePositiveInt).default(10))
      .addOption(
        new Option(
          '--spawn-threshold <n>',
          'add workers while the ready tasks they could take, per worker, exceed this',
        )
          .argParser(parseNonNegativeInt)
          .default(5),
      )
      .addOption(
        new Option(
          '--idle-timeout <duration>',
          'stop a worker that has had no task for this long, e.g. 60s, 5m (default: 60s)',
        ).argParser(parseDurationMs),
      )
      .addOption(
        new Option(
          '--max-memory <size>',
          'restart a worker whose resident memory exceeds this, e.g. 512MB, 1GB; its tasks run again (default: no limit)',
        ).argParser(parseBytes),
      )
      .addOption(
        new Option(
          '--tick <duration>',
          'how often the pool reads the queue and decides (default: 1s)',
        ).argParser(parseDurationMs),
      )
      .addOption(
        new Option(
          '--stop-grace <duration>',
          'after SIGTERM, how long a worker may drain before it is killed (default: 30s)',
        ).argParser(parseDurationMs),
      )
      .addOption(
        new Option(
          '--heartbeat <duration>',
          "each worker's heartbeat and lease-renewal interval (default: 1s)",
        ).argParser(parseDurationMs),
      )
      .addOption(
        new Option(
          '--agent-ttl <duration>',
          'a worker silent this long is declared lost and its tasks run elsewhere (default: 3s)',
        ).argParser(parseDurationMs),
      )
      .addOption(
        new Option(
          '--lease-ttl <duration>',
          'how long a lease lasts without renewal (default: 30s)',
        ).argParser(parseDurationMs),
      )
      .addOption(
        new Option(
          '--grace <duration>',
          "on SIGTERM, how long a worker's running tasks may finish before they are given back (default: 10s)",
        ).argParser(parseDurationMs),
      ),
  )
    .addHelpText(
      'after',
      `
Each decision is logged on stderr with its reason (pool.scaled_up, pool.scaled_down,
pool.restarted). The first SIGINT/SIGTERM drains the workers and exits 0; a second one tells
them to stop at once (running tasks go back to the queue).

Examples:
  $ baton pool --capabilities python --min 1 --max 50 --spawn-threshold 5 --idle-timeout 60s
  $ baton pool --store redis://10.0.0.5:6379 --max 8 --concurrency 2 --max-memory 512MB`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const o = command.opts<Omit<PoolCommandOptions, 'idleTimeout'> & { idleTimeout?: number }>();
      const usage = (message: string): never =>
        command.error(`error: ${message}`, { exitCode: EXIT.usage, code: 'baton.usage' });
      if (o.min > o.max) {
        usage(`--min (${o.min}) is above --max (${o.max}); lower --min or raise --max`);
      }
      const heartbeat = o.heartbeat ?? DEFAULT_HEARTBEAT_MS;
      for (const [flag, ttl] of [
        ['--agent-ttl', o.agentTtl],
        ['--lease-ttl', o.leaseTtl],
      ] as const) {
        if (ttl !== undefined && ttl <= heartbeat) {
          usage(
            `${flag} (${ttl} ms) must be longer than --heartbeat (${heartbeat} ms), or a live worker would look silent between heartbeats`,
          );
        }
      }
      const ctx = await createContext(io, common(command), 'info');
      setExit(
        await (
          await import('./commands/pool.ts')
        ).poolCommand(ctx, { ...o, idleTimeout: o.idleTimeout ?? 60_000 }),
      );
    });

  withCommonOptions(
    program
      .command('submit')
      .description('Enqueue a plan as a run without running it; prints the run id.')
      .argument('<plan>', 'plan file (YAML or JSON)'),
    { json: true },
  ).action(async (plan: string, _opts: unknown, command: Command) => {
    const ctx = await createContext(io, common(command), 'warn');
    setExit(await (await import('./commands/submit.ts')).submitCommand(ctx, plan));
  });

  withCommonOptions(
    program
      .command('status')
      .description(
        "One run's progress, or the list of recent runs; with --follow, a run followed live until it ends.",
      )
      .argument(
        '[runId]',
        'a run id (run_…); omit to list recent runs (with --follow: follow the newest run)',
      )
      .addOption(
        new Option('--limit <n>', 'runs listed without a run id')
          .argParser(parsePositiveInt)
          .default(20),
      )
      .option(
        '-f, --follow',
        'follow the run live from the event stream until it ends, wherever it was started (baton submit, another baton run, the HTTP API)',
      ),
    { json: true },
  )
    .addHelpText(
      'after',
      `
With --follow, a terminal shows the run's progress as baton run does (one line per event
elsewhere), then its status when it ends. Exit code: 0 when the run succeeded, 1 when it failed
or was cancelled, 130 on Ctrl-C (which stops following, not the run). --json --follow prints
each of the run's events as one JSON line.

Examples:
  $ baton status
  $ baton status run_01J… --follow
  $ baton status --follow --store redis://10.0.0.5:6379     # the newest run`,
    )
    .action(async (runId: string | undefined, _opts: unknown, command: Command) => {
      const o = command.opts<{ limit: number; follow?: boolean }>();
      const ctx = await createContext(io, common(command), 'warn');
      setExit(
        await (
          await import('./commands/status.ts')
        ).statusCommand(ctx, runId, { limit: o.limit, follow: o.follow === true }),
      );
    });

  withCommonOptions(
    program
      .command('costs')
      .description(
        'What model calls cost: the totals of a run (or of every run), by model, epic, agent, task or run, with the run budget.',
      )
      .argument('[runId]', 'a run id (run_…); omit for every run of the namespace')
      .addOption(
        new Option('--by <group>', 'totals by this group')
          .choices(['model', 'epic', 'agent', 'task', 'run'])
          .default('model'),
      ),
    { json: true },
  )
    .addHelpText(
      'after',
      `
Examples:
  $ baton costs                          # every run, by model
  $ baton costs run_01J… --by epic
  $ baton costs --by run --json`,
    )
    .action(async (runId: string | undefined, _opts: unknown, command: Command) => {
      const o = command.opts<{ by: 'model' | 'epic' | 'agent' | 'task' | 'run' }>();
      const ctx = await createContext(io, common(command), 'warn');
      setExit(await (await import('./commands/costs.ts')).costsCommand(ctx, runId, { by: o.by }));
    });

  withCommonOptions(
    program
      .command('tasks')
      .description('List tasks in submission order.')
      .addOption(
        new Option(
          '--state <state>',
          `only tasks in this state: ${TASK_STATES.join(', ')}`,
        ).argParser(parseTaskState),
      )
      .option('--run <runId>', 'only tasks of this run')
      .addOption(
        new Option('--limit <n>', 'at most this many').argParser(parsePositiveInt).default(100),
      ),
    { json: true },
  ).action(async (_opts: unknown, command: Command) => {
    const o = command.opts<{ state?: (typeof TASK_STATES)[number]; run?: string; limit: number }>();
    const ctx = await createContext(io, common(command), 'warn');
    const filter: TasksFilter = { limit: o.limit };
    if (o.state !== undefined) filter.state = o.state;
    if (o.run !== undefined) filter.runId = o.run;
    setExit(await (await import('./commands/tasks.ts')).tasksCommand(ctx, filter));
  });

  withCommonOptions(
    program
      .command('logs')
      .description(
        "Print what a task's attempts wrote (stdout, stderr, ctx.log), or every task of a run interleaved, prefixed with each task's key.",
      )
      .argument('<id>', 'a task id (tsk_…) or a run id (run_…)')
      .addOption(
        new Option('--attempt <n>', 'only this attempt (1 for the first)').argParser(
          parsePositiveInt,
        ),
      )
      .option('-f, --follow', 'keep printing new lines until the task or run has finished')
      .addOption(
        new Option('--stream <stream>', 'only lines of this stream').choices([
          'stdout',
          'stderr',
          'log',
        ]),
      ),
    { json: true },
  )
    .addHelpText(
      'after',
      `
Each attempt keeps its first 64 KiB and last 256 KiB of output; a line "[baton] lines … were
cut" stands for what was dropped in between (docs/logs.md). A failed attempt keeps its output.
With --json, one line object per line (seq, taskId, attempt, agentId, stream, level, at, text).

Examples:
  $ baton logs tsk_01J…                     # every attempt of a task
  $ baton logs tsk_01J… --attempt 2 --stream stderr
  $ baton logs run_01J… --follow            # a run's tasks, live, like docker compose logs
  $ baton logs run_01J… --json --store redis://10.0.0.5:6379`,
    )
    .action(async (id: string, _opts: unknown, command: Command) => {
      const o = command.opts<{
        attempt?: number;
        follow?: boolean;
        stream?: 'stdout' | 'stderr' | 'log';
      }>();
      const ctx = await createContext(io, common(command), 'warn');
      const { logsCommand } = await import('./commands/logs.ts');
      setExit(
        await logsCommand(ctx, id, {
          follow: o.follow === true,
          ...(o.attempt === undefined ? {} : { attempt: o.attempt }),
          ...(o.stream === undefined ? {} : { stream: o.stream }),
        }),
      );
    });

  withCommonOptions(
    program
      .command('agents')
      .description(
        'List the agents: health (ok, stalled, lost), load, process CPU and memory, counters per task type, and the tasks each holds.',
      )
      .option('--all', 'also list stopped agents (workers that left)'),
    { json: true },
  )
    .addHelpText(
      'after',
      `
An agent is stalled when it still heartbeats but its worker loop has made no progress for a
while (a handler blocking the event loop, or a task past its timeout it has not reported); lost
when it stopped heartbeating (its tasks were given to others).

Examples:
  $ baton agents
  $ baton agents --all --json --store redis://10.0.0.5:6379`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const o = command.opts<{ all?: boolean }>();
      const ctx = await createContext(io, common(command), 'warn');
      setExit(
        await (await import('./commands/agents.ts')).agentsCommand(ctx, { all: o.all === true }),
      );
    });

  withCommonOptions(
    program
      .command('mcp')
      .description(
        "Serve Baton's MCP tools (tasks, shared state, files, read-only SQL) over stdio, for an agent that launches it.",
      ),
  )
    .addHelpText(
      'after',
      `
With BATON_MCP_TOKEN (the attempt-scoped token of the configuration Baton writes for the
agents it starts) the tools reach only that attempt's run; without it, the whole store.
The same tools are served over HTTP at /mcp by baton server. See docs/mcp.md.

Examples:
  $ claude mcp add baton-queue -- npx baton mcp --store sqlite:.baton/baton.db`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const ctx = await createContext(io, common(command), 'warn');
      setExit(await (await import('./commands/mcp.ts')).mcpCommand(ctx));
    });

  withCommonOptions(
    program
      .command('server')
      .description(
        'Serve the HTTP API (tasks, runs, agents, stats, events as SSE) on the store until SIGINT/SIGTERM.',
      )
      .option(
        '--host <host>',
        'address to bind; anything but loopback needs BATON_API_TOKENS',
        '127.0.0.1',
      )
      .addOption(
        new Option('--port <n>', 'port to listen on (0: any free port)')
          .argParser(parseNonNegativeInt)
          .default(7400),
      )
      .addOption(
        new Option(
          '--cors <origins>',
          'comma-separated browser origins allowed to call the API, or * (default: CORS off)',
        ).argParser(parseList),
      )
      .addOption(
        new Option(
          '--agent-ttl <duration>',
          'an agent silent this long (no heartbeat, claim or renew) is declared lost and its tasks run elsewhere (default: 3s)',
        ).argParser(parseDurationMs),
      )
      .option(
        '--no-sweep',
        'do not recover lost work in this process (leave it to the workers and pools on the store)',
      )
      .option('--no-dashboard', 'do not serve the web dashboard at / (the API only)')
      .addOption(
        new Option(
          '--allowed-hosts <names>',
          'comma-separated host names (name or name:port) the API answers to besides localhost, 127.0.0.1 and [::1]',
        ).argParser(parseList),
      ),
  )
    .addHelpText(
      'after',
      `
Auth: set BATON_API_TOKENS=token:scope1+scope2,token2:read (scopes: read, submit, work, admin;
tokens of 16+ random characters, e.g. from \`openssl rand -hex 32\`); clients send
Authorization: Bearer <token>. Without tokens the server binds loopback only, and refuses
requests for any host name but localhost, 127.0.0.1 and [::1] (and --allowed-hosts), and
requests from web pages on other sites (except --cors origins).

The dashboard is at / (the address printed at start); --no-dashboard leaves it out.

The server also sweeps the store every 500 ms: the leases of HTTP agents that went silent run
out, and an agent silent for --agent-ttl is declared lost and its tasks given to others.

Examples:
  $ baton server --store sqlite:.baton/baton.db --port 7400
  $ BATON_API_TOKENS="$(openssl rand -hex 32):admin" baton server --host 0.0.0.0 --store redis://10.0.0.5:6379`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const o = command.opts<{
        host: string;
        port: number;
        cors?: string[];
        agentTtl?: number;
        sweep: boolean;
        allowedHosts?: string[];
        dashboard: boolean;
      }>();
      if (o.port > 65_535) {
        command.error(`error: --port ${o.port} is not a TCP port; use 0 to 65535`, {
          exitCode: EXIT.usage,
          code: 'baton.usage',
        });
      }
      const ctx = await createContext(io, common(command), 'info');
      setExit(
        await (
          await import('./commands/server.ts')
        ).serverCommand(ctx, {
          host: o.host,
          port: o.port,
          ...(o.cors === undefined ? {} : { cors: o.cors }),
          sweep: o.sweep ? (o.agentTtl === undefined ? {} : { agentTtlMs: o.agentTtl }) : false,
          ...(o.allowedHosts === undefined ? {} : { allowedHosts: o.allowedHosts }),
          dashboard: o.dashboard,
        }),
      );
    });

  withCommonOptions(
    program
      .command('cancel')
      .description('Cancel a task, or every unfinished task of a run (an id starting with run_).')
      .argument('<id>', 'a task id (tsk_…) or a run id (run_…)')
      .option(
        '--reason <text>',
        "why it is cancelled, recorded in the task.cancelled events (default: 'cancelled from the command line')",
      ),
    { json: true },
  )
    .addHelpText(
      'after',
      `
A running task's handler sees its abort signal fire; its worker stops it (a shell task's
processes get SIGTERM) and records it cancelled. Finished tasks are left as they are.

Examples:
  $ baton cancel run_01J… --reason "wrong input data"
  $ baton cancel tsk_01J…`,
    )
    .action(async (id: string, _opts: unknown, command: Command) => {
      const o = command.opts<{ reason?: string }>();
      const ctx = await createContext(io, common(command), 'warn');
      setExit(
        await (
          await import('./commands/cancel.ts')
        ).cancelCommand(ctx, id, o.reason === undefined ? {} : { reason: o.reason }),
      );
    });

  withCommonOptions(
    program
      .command('retry')
      .description(
        'Retry (replay) a failed task: ready again with a fresh attempt budget; its run reopens and the tasks its failure skipped wait for it again.',
      )
      .argument('<task-id>', 'the id of a failed task (tsk_…)')
      .option('--reason <text>', 'why it is retried, recorded in its task.retried event'),
    { json: true },
  )
    .addHelpText(
      'after',
      `
Only a failed task can be retried; anything else is refused (exit 1) and nothing changes.
Find failed tasks with: baton tasks --state failed

Examples:
  $ baton retry tsk_01J… --reason "API key rotated"`,
    )
    .action(async (id: string, _opts: unknown, command: Command) => {
      const o = command.opts<{ reason?: string }>();
      if (id.startsWith('run_')) {
        command.error(
          `error: baton retry takes a task id (tsk_…), not a run id; list the run's failed tasks with: baton tasks --run ${id} --state failed`,
          { exitCode: EXIT.usage, code: 'baton.usage' },
        );
      }
      const ctx = await createContext(io, common(command), 'warn');
      setExit(
        await (
          await import('./commands/retry.ts')
        ).retryCommand(ctx, id, o.reason === undefined ? {} : { reason: o.reason }),
      );
    });

  withCommonOptions(
    program
      .command('config')
      .description(
        'Print the merged configuration (flags, environment, baton.config.yaml, defaults) with the source of each value; secrets masked.',
      ),
    { json: true },
  )
    .addHelpText(
      'after',
      `
Examples:
  $ baton config
  $ baton config --config ci/baton.config.yaml --json`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const ctx = await createContext(io, common(command), 'warn');
      setExit((await import('./commands/config.ts')).configCommand(ctx));
    });

  program
    .command('init')
    .description(
      'Write a commented baton.config.yaml and an example plan (baton.plan.yaml) in this directory.',
    )
    .option('--force', 'overwrite files that exist')
    .addHelpText(
      'after',
      `
Existing files are left alone (exit 1, nothing written) unless --force is given.

Examples:
  $ baton init
  $ baton run baton.plan.yaml`,
    )
    .action(async (_opts: unknown, command: Command) => {
      const o = command.opts<{ force?: boolean }>();
      setExit(
        await (
          await import('./commands/init.ts')
        ).initCommand(io, process.cwd(), { force: o.force === true }),
      );
    });

  const expertise = program
    .command('expertise')
    .description(
      'Show or check the expertise files of .baton/expertise/<domain>.yaml, and the versions the store keeps.',
    );
  const expertiseActions = {
    show: "Print a domain's expertise, as agent prompts get it; with a version, that version from the store.",
    validate:
      "Check a domain's expertise file: its fields, its length, and that the files it names exist.",
    history: "List the versions of a domain's expertise the store keeps.",
    rollback:
      "Write a version from the store back to the domain's file (recorded as a new version).",
  } as const;
  for (const [action, description] of Object.entries(expertiseActions) as [
    keyof typeof expertiseActions,
    string,
  ][]) {
    const sub = expertise
      .command(action)
      .description(description)
      .argument('<domain>', 'a domain, e.g. api, database, frontend');
    if (action === 'show') sub.argument('[version]', 'a version from the store (history)');
    if (action === 'rollback') sub.argument('<version>', 'the version to restore (history)');
    withCommonOptions(sub, { json: true }).action(async (domain: string, ...rest: unknown[]) => {
      const command = rest.at(-1) as Command;
      const version = typeof rest[0] === 'string' ? rest[0] : undefined;
      const ctx = await createContext(io, common(command), 'warn');
      setExit(
        await (
          await import('./commands/expertise.ts')
        ).expertiseCommand(ctx, action, domain, version),
      );
    });
  }

  withCommonOptions(
    program
      .command('merge')
      .description(
        "Put a run's integration branch (its tasks' merged work, docs/worktrees.md) into a branch: a fast-forward, or with --yes a merge commit.",
      )
      .argument('<runId>', 'a run of a plan with worktrees (run_…)')
      .option(
        '--into <branch>',
        "the branch to update (default: the plan's merge.into, else its base branch)",
      )
      .option('--yes', 'allow a merge commit when the branch cannot be fast-forwarded'),
    { json: true },
  )
    .addHelpText(
      'after',
      `
A fast-forward is done at once. Anything else is only said (exit 1, nothing changed) until
--yes. A branch checked out with uncommitted changes is never touched.

Examples:
  $ baton merge run_01J… --into main
  $ baton merge run_01J… --into main --yes`,
    )
    .action(async (runId: string, _opts: unknown, command: Command) => {
      const o = command.opts<{ into?: string; yes?: boolean }>();
      const ctx = await createContext(io, common(command), 'warn');
      setExit(
        await (
          await import('./commands/worktrees.ts')
        ).mergeCommand(ctx, runId, {
          ...(o.into === undefined ? {} : { into: o.into }),
          yes: o.yes === true,
        }),
      );
    });

  withCommonOptions(
    program
      .command('worktrees')
      .description(
        "Baton's git worktrees in this repository (docs/worktrees.md): list them with their tasks, or prune the ones that can go.",
      )
      .addArgument(
        new Argument('[action]', 'list or prune').choices(['list', 'prune']).default('list'),
      )
      .option('--repo <path>', 'the repository (default: the one of the current directory)')
      .option('--failed', "prune also failed tasks' worktrees (kept for inspection otherwise)"),
    { json: true },
  )
    .addHelpText(
      'after',
      `
prune removes the worktrees whose tasks all finished (none failed) and stray ones no task of a
known run uses, and deletes each one's branch once its merge is recorded.

Examples:
  $ baton worktrees
  $ baton worktrees prune --failed`,
    )
    .action(async (action: 'list' | 'prune', _opts: unknown, command: Command) => {
      const o = command.opts<{ repo?: string; failed?: boolean }>();
      const ctx = await createContext(io, common(command), 'warn');
      setExit(
        await (
          await import('./commands/worktrees.ts')
        ).worktreesCommand(ctx, action, {
          ...(o.repo === undefined ? {} : { repo: o.repo }),
          failed: o.failed === true,
        }),
      );
    });

  return program;
}
