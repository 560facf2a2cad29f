import { describe, expect, it } from 'vitest';

import { useCli } from '../helpers/cli.ts';
import { rawRequest } from './raw-http.ts';

describe('baton server', () => {
  const cli = useCli();

  it('serves the API, and closes gracefully on SIGTERM', async () => {
    const server = cli.start(['server', '--store', cli.store, '--port', '0']);
    await server.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 'stderr');
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stderr)![1]!;
    const created = await fetch(`${url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'echo' }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    server.child.kill('SIGTERM');
    const result = await server.exited;
    expect(result.code).toBe(0);
    const baton = await cli.open();
    expect((await baton.tasks()).tasks).toHaveLength(1);
  });

  it('refuses to bind a non-loopback address without tokens', async () => {
    const result = await cli.run([
      'server',
      '--store',
      cli.store,
      '--host',
      '0.0.0.0',
      '--port',
      '0',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/without authentication.*BATON_API_TOKENS/);
  });

  it('refuses BATON_API_TOKENS="," (no token at all) rather than serve without auth', async () => {
    const result = await cli.run(['server', '--store', cli.store, '--port', '0'], {
      env: { BATON_API_TOKENS: ',' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/BATON_API_TOKENS\[0\]: is empty/);
    expect(result.stderr).not.toMatch(/listening/);
  });

  it('answers to the names given with --allowed-hosts, and refuses others', async () => {
    const server = cli.start([
      'server',
      '--store',
      cli.store,
      '--port',
      '0',
      '--allowed-hosts',
      'baton.internal,other.internal:1',
    ]);
    await server.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 'stderr');
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stderr)![1]!;
    const allowed = await rawRequest(url, { path: '/health', headers: { host: 'baton.internal' } });
    expect(allowed.status).toBe(200);
    const refused = await rawRequest(url, { path: '/health', headers: { host: 'evil.example' } });
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toContain('baton.internal, other.internal:1');
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });

  it('refuses a malformed BATON_API_TOKENS before opening the store', async () => {
    const result = await cli.run(['server', '--store', cli.store, '--port', '0'], {
      env: { BATON_API_TOKENS: 'abc:wrong' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown scope 'wrong'/);
    expect(result.stderr).not.toContain('abc');
  });
});
