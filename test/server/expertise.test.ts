/**
 * `GET /v1/expertise/:domain` on a real server and store: the project's file, else the latest
 * version the store keeps; `?version=N` from the store; 404 for an unknown domain or a version
 * the store does not have, 400 for a bad name or version; scope `read`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, expect, it } from 'vitest';

import { closeAll, startServer } from './harness.ts';

afterEach(closeAll);

it("serves a domain's file, a stored version, and clear 404s and 400s", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'baton-http-xp-'));
  try {
    mkdirSync(join(dir, '.git'));
    mkdirSync(join(dir, '.baton', 'expertise'), { recursive: true });
    const fileText = 'domain: api\noverview: The HTTP API\npatterns: [Handlers live in src/api/]\n';
    writeFileSync(join(dir, '.baton', 'expertise', 'api.yaml'), fileText);
    const s = await startServer({
      expertiseDir: dir,
      tokens: [
        { token: 'reader', scopes: ['read'] },
        { token: 'worker', scopes: ['work'] },
      ],
    });
    const auth = { headers: { authorization: 'Bearer reader' } };
    const b = s.baton.backend;
    await b.addExpertiseVersion({ domain: 'api', text: 'domain: api\n', source: 'learn' });
    await b.addExpertiseVersion({
      domain: 'database',
      text: 'domain: database\n',
      source: 'learn',
    });

    const file = await s.request('GET', '/v1/expertise/api', auth);
    expect(file.status).toBe(200);
    expect(file.body).toEqual({
      domain: 'api',
      source: 'file',
      file: join(dir, '.baton', 'expertise', 'api.yaml'),
      text: fileText.replace(/\n$/, ''),
      lines: 3,
      version: 1,
      versions: 1,
    });
    const stored = await s.request('GET', '/v1/expertise/database', auth);
    expect(stored.body).toMatchObject({
      source: 'store',
      file: null,
      version: 1,
      text: 'domain: database\n',
    });
    const v1 = await s.request('GET', '/v1/expertise/api?version=1', auth);
    expect(v1.body).toMatchObject({ source: 'store', version: 1, text: 'domain: api\n' });

    const missing = await s.request('GET', '/v1/expertise/api?version=5', auth);
    expect(missing.status).toBe(404);
    expect(JSON.stringify(missing.body)).toContain('has no version 5: the store keeps v1 to v1');
    const unknown = await s.request('GET', '/v1/expertise/billing', auth);
    expect(unknown.status).toBe(404);
    expect(JSON.stringify(unknown.body)).toContain('billing');
    const badName = await s.request('GET', '/v1/expertise/Api', auth);
    expect(badName.status).toBe(400);
    expect(JSON.stringify(badName.body)).toContain('is not a domain');
    const badVersion = await s.request('GET', '/v1/expertise/api?version=0', auth);
    expect(badVersion.status).toBe(400);
    const noScope = await s.request('GET', '/v1/expertise/api', {
      headers: { authorization: 'Bearer worker' },
    });
    expect(noScope.status).toBe(403);
    expect(await b.expertiseVersions('api'), 'reads change nothing').toHaveLength(1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
