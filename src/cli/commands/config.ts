/**
 * `baton config`: the merged configuration (docs/config.md), each value with where it came from
 * — a flag, an environment variable, baton.config.yaml (file:line), or the default. Secrets (the
 * providers' keys) are masked.
 */
import { describeConfig, formatSource } from '../../runtime/config.ts';
import type { CliContext } from '../context.ts';

export function configCommand(ctx: CliContext): number {
  const rows = describeConfig(ctx.config);
  if (ctx.json) {
    ctx.printJson({
      file: ctx.config.file,
      values: rows.map((r) => ({ path: r.path, value: r.value, source: formatSource(r.source) })),
    });
    return 0;
  }
  ctx.print(
    ctx.config.file === null
      ? 'config file: none (baton.config.yaml not found here or above; baton init writes one)'
      : `config file: ${ctx.config.file}`,
  );
  const width = Math.max(...rows.map((r) => r.path.length));
  for (const row of rows) {
    const value = row.value === null ? '-' : JSON.stringify(row.value);
    ctx.print(
      `${row.path.padEnd(width)}  ${value}  ${ctx.paint('muted', `(${formatSource(row.source)})`)}`,
    );
  }
  return 0;
}
