/**
 * `GET /v1/expertise/:domain` (docs/http-api.md, docs/agents.md#expertise): a domain's expertise,
 * as agent prompts get it — the file `.baton/expertise/<domain>.yaml` of the server's project
 * when it has one, else the latest version the store keeps — or, with `?version=N`, that version
 * from the store. Scope `read`. 404 for a domain with neither, or a version the store does not
 * have; 400 for a name that is not a domain.
 */
import type { FastifyInstance } from 'fastify';

import { BatonError, NotFoundError, ValidationError } from '../core/errors.ts';
import { DOMAIN_PATTERN } from '../core/agent.ts';
import { readExpertise } from '../runtime/expertise.ts';
import type { Baton } from '../runtime/baton.ts';
import type { Scope } from './auth.ts';
import { ExpertiseParamsSchema, ExpertiseQuerySchema } from './schemas.ts';

export function registerExpertiseRoutes(
  app: FastifyInstance,
  baton: Baton,
  options: { dir: string; maxLines: number },
): void {
  const config = { config: { scope: 'read' as Scope, query: ExpertiseQuerySchema } };
  app.get('/v1/expertise/:domain', config, async (request) => {
    const { domain } = ExpertiseParamsSchema.parse(request.params);
    if (!DOMAIN_PATTERN.test(domain))
      throw new ValidationError([
        {
          path: 'params.domain',
          message: `'${domain.slice(0, 80)}' is not a domain: 1-64 lowercase letters, digits, '-' and '_' (e.g. api)`,
        },
      ]);
    const { version } = ExpertiseQuerySchema.parse(request.query);
    const backend = baton.backend;
    const latest = await backend.getExpertiseVersion(domain);
    const versions = latest?.version ?? 0;
    if (version !== undefined) {
      const found = await backend.getExpertiseVersion(domain, version);
      if (found === null) {
        throw new BatonError(
          'BATON_NOT_FOUND',
          `the expertise of '${domain}' has no version ${version}${versions === 0 ? ': the store has none' : `: the store keeps v1 to v${versions}`}`,
          { details: { what: 'expertise version', id: `${domain}@${version}` } },
        );
      }
      return expertiseBody(domain, 'store', null, found.text, found.version, versions);
    }
    const file = await readExpertise(options.dir, domain, options.maxLines);
    if (file !== null)
      return expertiseBody(domain, 'file', file.file, file.text, latest?.version ?? null, versions);
    if (latest === null) throw new NotFoundError('expertise of domain', domain);
    return expertiseBody(domain, 'store', null, latest.text, latest.version, versions);
  });
}

function expertiseBody(
  domain: string,
  source: 'file' | 'store',
  file: string | null,
  text: string,
  version: number | null,
  versions: number,
) {
  return {
    domain,
    source,
    file,
    text,
    lines: text === '' ? 0 : text.replace(/\n$/, '').split('\n').length,
    version,
    versions,
  };
}
