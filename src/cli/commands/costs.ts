/** `baton costs [runId] [--by epic|agent|model|task|run]`: what model calls cost (docs/costs.md). */
import type { CostGroup, CostReport, CostTotals } from '../../core/ledger.ts';
import { withBaton, type CliContext } from '../context.ts';
import { budgetText, count, formatUsd } from '../costs.ts';
import { renderTable } from '../render.ts';

export async function costsCommand(
  ctx: CliContext,
  runId: string | undefined,
  options: { by: CostGroup },
): Promise<number> {
  return await withBaton(ctx, async (baton) => {
    const report = await baton.costs({ ...(runId === undefined ? {} : { runId }), by: options.by });
    if (ctx.json) ctx.printJson(report);
    else ctx.print(renderCosts(report));
    return 0;
  });
}

const GROUP_HEADER = { run: 'RUN', epic: 'EPIC', task: 'TASK', agent: 'AGENT', model: 'MODEL' };

/** `baton costs`: the totals by group, then the total, then the run's budget. */
export function renderCosts(report: CostReport): string {
  const scope = report.runId === null ? 'all runs' : `run ${report.runId}`;
  if (report.total.calls === 0) {
    const none = `no model calls recorded for ${scope}`;
    return report.budget === null ? none : `${none}\n${budgetText(report.budget)}`;
  }
  const row = (key: string, t: CostTotals): string[] => [
    key,
    count(t.calls),
    count(t.inputTokens),
    count(t.outputTokens),
    count(t.cacheReadTokens),
    count(t.cacheWriteTokens),
    count(t.reasoningTokens),
    formatUsd(t.costUsd),
  ];
  const none = report.by === 'run' ? '(no run)' : report.by === 'epic' ? '(no epic)' : '-';
  const rows = report.groups.map((g) => row(g.key ?? none, g));
  if (rows.length !== 1) rows.push(row('total', report.total));
  const table = renderTable(
    [
      report.by === null ? '' : GROUP_HEADER[report.by],
      'CALLS',
      'INPUT',
      'OUTPUT',
      'CACHE READ',
      'CACHE WRITE',
      'REASONING',
      'COST',
    ],
    report.by === null ? [row('total', report.total)] : rows,
    { alignRight: [1, 2, 3, 4, 5, 6, 7] },
  );
  return [
    `model calls of ${scope}`,
    '',
    table,
    ...(report.budget === null ? [] : ['', budgetText(report.budget)]),
  ].join('\n');
}
