/**
 * `baton expertise show|validate|history|rollback <domain>`: a domain's expertise file
 * (`.baton/expertise/<domain>.yaml`, docs/agents.md#expertise), as prompts get it, or checked:
 * its fields, its length against `learning.expertiseMaxLines`, and that the files it names exist;
 * the versions of it the store keeps (each merge of the learn step or of MCP `add_learning`, each
 * rollback), one of them (`show <domain> <version>`), and `rollback <domain> <version>`, which
 * writes that version back to the file (under the learners' lease) and records it as a new one.
 */
import { DOMAIN_PATTERN } from '../../core/agent.ts';
import { BatonError, ValidationError } from '../../core/errors.ts';
import { restoreExpertise } from '../../runtime/expertise-merge.ts';
import { expertiseRoot, readExpertise, validateExpertise } from '../../runtime/expertise.ts';
import type { CliContext } from '../context.ts';

export type ExpertiseAction = 'show' | 'validate' | 'history' | 'rollback';

export async function expertiseCommand(
  ctx: CliContext,
  action: ExpertiseAction,
  domain: string,
  versionArg?: string,
): Promise<number> {
  const maxLines = ctx.config.config.learning.expertiseMaxLines;
  if (!DOMAIN_PATTERN.test(domain))
    throw new ValidationError([
      {
        path: 'domain',
        message: `'${domain}' is not a domain: 1-64 lowercase letters, digits, '-' and '_' (e.g. api, database)`,
      },
    ]);
  const version = versionArg === undefined ? undefined : parseVersion(versionArg);
  if (action === 'history' || action === 'rollback' || version !== undefined)
    return storedVersions(ctx, action, domain, version);
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

function parseVersion(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new ValidationError([
      {
        path: 'version',
        message: `'${text}' is not a version: a whole number from 1 (see baton expertise history <domain>)`,
      },
    ]);
  return n;
}

function lineCount(text: string): number {
  return text.replace(/\n$/, '').split('\n').length;
}

async function storedVersions(
  ctx: CliContext,
  action: ExpertiseAction,
  domain: string,
  version: number | undefined,
): Promise<number> {
  const baton = await ctx.open();
  try {
    const backend = baton.backend;
    if (action === 'history') {
      const versions = await backend.expertiseVersions(domain);
      if (versions.length === 0) throw noVersions(domain);
      if (ctx.json) {
        ctx.printJson({
          domain,
          versions: versions.map(({ text, ...v }) => ({ ...v, lines: lineCount(text) })),
        });
      } else {
        for (const v of versions)
          ctx.print(
            `v${v.version}  ${new Date(v.createdAt).toISOString()}  ${v.source.padEnd(12)}  ${String(lineCount(v.text)).padStart(5)} lines  ${v.origin ?? ''}`.trimEnd(),
          );
      }
      return 0;
    }
    if (version === undefined)
      throw new ValidationError([
        {
          path: 'version',
          message: `name the version to roll back to: baton expertise rollback ${domain} <version> (see baton expertise history ${domain})`,
        },
      ]);
    const found = await backend.getExpertiseVersion(domain, version);
    if (found === null) {
      const latest = await backend.getExpertiseVersion(domain);
      if (latest === null) throw noVersions(domain);
      throw new BatonError(
        'BATON_NOT_FOUND',
        `the expertise of '${domain}' has no version ${version}: the store keeps v1 to v${latest.version} (baton expertise history ${domain})`,
        { details: { domain, version, latest: latest.version } },
      );
    }
    if (action === 'show') {
      if (ctx.json) ctx.printJson({ ...found });
      else ctx.print(found.text.replace(/\n$/, ''));
      return 0;
    }
    let recorded = 0;
    const { file } = await restoreExpertise(expertiseRoot(process.cwd()), domain, found.text, {
      onWrite: async (text) => {
        recorded = (
          await backend.addExpertiseVersion({
            domain,
            text,
            source: 'rollback',
            origin: `v${version}`,
          })
        ).version;
      },
    });
    if (ctx.json) ctx.printJson({ domain, file, restored: version, version: recorded });
    else ctx.print(`${file}: restored v${version} of ${domain}, recorded as v${recorded}`);
    return 0;
  } finally {
    await baton.close();
  }
}

function noVersions(domain: string): BatonError {
  return new BatonError(
    'BATON_NOT_FOUND',
    `the store has no versions of the expertise of '${domain}': they are recorded each time the learn step or MCP add_learning merges into .baton/expertise/${domain}.yaml`,
    { details: { domain } },
  );
}
