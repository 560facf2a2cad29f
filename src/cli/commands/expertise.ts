/**
 * `baton expertise show|validate <domain>`: a domain's expertise file
 * (`.baton/expertise/<domain>.yaml`, docs/agents.md#expertise), as prompts get it, or checked:
 * its fields, its length against `learning.expertiseMaxLines`, and that the files it names exist.
 */
import { readExpertise, validateExpertise } from '../../runtime/expertise.ts';
import type { CliContext } from '../context.ts';

export async function expertiseCommand(
  ctx: CliContext,
  action: 'show' | 'validate',
  domain: string,
): Promise<number> {
  const maxLines = ctx.config.config.learning.expertiseMaxLines;
  if (action === 'show') {
    const check = await validateExpertise(process.cwd(), domain, maxLines);
    const found = await readExpertise(process.cwd(), domain, maxLines);
    if (ctx.json) ctx.printJson({ domain, file: check.file, text: found?.text ?? '' });
    else ctx.print(found?.text ?? '');
    return 0;
  }
  const check = await validateExpertise(process.cwd(), domain, maxLines);
  const problems: string[] = [];
  if (check.lines > maxLines) {
    problems.push(
      `${check.lines} lines, more than learning.expertiseMaxLines (${maxLines}): prompts get its first ${maxLines}; prune it`,
    );
  }
  for (const path of check.missingFiles) {
    problems.push(`core_files names ${path}, which does not exist`);
  }
  if (ctx.json) {
    ctx.printJson({ domain, ...check, ok: problems.length === 0, problems });
  } else {
    ctx.print(`${check.file}: ${check.lines} lines (at most ${maxLines})`);
    for (const problem of problems) ctx.print(`${ctx.paint('bad', 'problem')}: ${problem}`);
    if (problems.length === 0) ctx.print(ctx.paint('ok', 'ok'));
  }
  return problems.length === 0 ? 0 : 1;
}
