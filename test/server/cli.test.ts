import { describe, expect, it } from 'vitest';

import { useCli } from '../helpers/cli.ts';

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

  it('refuses a malformed BATON_API_TOKENS before opening the store', async () => {
    const result = await cli.run(['server', '--store', cli.store, '--port', '0'], {
      env: { BATON_API_TOKENS: 'abc:wrong' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown scope 'wrong'/);
    expect(result.stderr).not.toContain('abc');
  });
});
