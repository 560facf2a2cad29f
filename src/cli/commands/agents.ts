/**
 * `baton agents`: the registered agents with their health, load, process and counters, and the
 * tasks each holds. Stopped agents (workers that left) are hidden unless `--all`.
 */
import type { AgentRecord } from '../../core/types.ts';
import { withBaton, type CliContext } from '../context.ts';
import { formatAge, formatDuration, renderTable } from '../render.ts';
import { noColour, type Paint, type Tone } from '../colour.ts';

export interface AgentsCommandOptions {
  /** List stopped agents too. @default false */
  all: boolean;
}

export async function agentsCommand(
  ctx: CliContext,
  options: AgentsCommandOptions,
): Promise<number> {
  return await withBaton(ctx, async (baton) => {
    const agents = await baton.agents();
    const shown = options.all ? agents : agents.filter((a) => a.state !== 'stopped');
    if (ctx.json) ctx.printJson({ agents: shown });
    else ctx.print(renderAgentList(shown, Date.now(), agents.length - shown.length, ctx.paint));
    return 0;
  });
}

/**
 * The agents as a table, then the tasks each one holds.
 *
 * ```
 * ID        NAME     HEALTH  CAPABILITIES  LABELS   IN FLIGHT  HOST:PID  HEARTBEAT  CPU    RSS       TASKS (ok/failed, mean)
 * agt_01…   coder-1  ok      git,node      zone=eu  1/3        box:4242  1s ago     12.5%  48.0 MiB  build 2/1 2.00s
 *
 * coder-1 holds tsk_01…
 * ```
 *
 * @param hidden how many stopped agents were left out (a note says how to see them)
 */
export function renderAgentList(
  agents: readonly AgentRecord[],
  now: number,
  hidden = 0,
  paint: Paint = noColour,
): string {
  const note =
    hidden > 0
      ? `${hidden} stopped agent${hidden === 1 ? '' : 's'} not shown (--all lists them)`
      : null;
  if (agents.length === 0) return note === null ? 'no agents' : `no agents running; ${note}`;
  const rows = agents.map((a) => [
    a.id,
    a.name,
    paint(
      HEALTH_TONE[a.health],
      a.health === 'degraded'
        ? `degraded (${a.process.abandonedHandlers ?? 0} abandoned)`
        : a.health,
    ),
    a.capabilities.length > 0 ? a.capabilities.join(',') : '-',
    formatLabels(a.labels),
    `${a.inFlight.length}/${a.concurrency}`,
    a.host === null && a.pid === null ? '-' : `${a.host ?? '?'}:${a.pid ?? '?'}`,
    formatAge(now - a.lastHeartbeatAt),
    a.process.cpuPercent === null ? '-' : `${a.process.cpuPercent.toFixed(1)}%`,
    formatBytes(a.process.rssBytes),
    formatStats(a.stats),
  ]);
  const lines = [
    renderTable(
      [
        'ID',
        'NAME',
        'HEALTH',
        'CAPABILITIES',
        'LABELS',
        'IN FLIGHT',
        'HOST:PID',
        'HEARTBEAT',
        'CPU',
        'RSS',
        'TASKS (ok/failed, mean)',
      ],
      rows,
      { alignRight: [5, 8, 9] },
    ),
  ];
  const holding = agents.filter((a) => a.inFlight.length > 0);
  if (holding.length > 0) {
    lines.push('');
    for (const a of holding) lines.push(`${a.name} holds ${a.inFlight.join(', ')}`);
  }
  if (note !== null) lines.push('', note);
  return lines.join('\n');
}

const HEALTH_TONE: Readonly<Record<AgentRecord['health'], Tone>> = {
  ok: 'ok',
  stalled: 'warn',
  degraded: 'warn',
  lost: 'bad',
  stopped: 'muted',
};

/** `zone=eu,gpu=a100`, or `-`. */
function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  return entries.length > 0 ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '-';
}

/** `48.0 MiB`, `1.2 GiB`, or `-` when unknown (units of 1024, as `--max-memory` takes them). */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `build 2/1 2.00s; lint 0/3 -`: per type, succeeded/failed and the mean run time. */
function formatStats(stats: AgentRecord['stats']): string {
  const parts = Object.keys(stats)
    .sort()
    .map((type) => {
      const s = stats[type]!;
      return `${type} ${s.succeeded}/${s.failed} ${formatDuration(s.meanRunMs)}`;
    });
  return parts.length > 0 ? parts.join('; ') : '-';
}
