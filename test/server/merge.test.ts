/**
 * `POST /v1/runs/:id/merge` over real HTTP: a run of a plan with `repo:` run by the real `baton`
 * command on a real git repository in a temp directory, then merged through `baton server`'s
 * API on the same store. The user's checkout (files, index, HEAD, status, other branches) is
 * unchanged throughout.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { RunMergedSchema } from '../../src/server/schemas.ts';
import { useCli } from '../helpers/cli.ts';
import { fingerprint, g, makeRepo } from '../workspace/repo.ts';
import { closeAll, startServer, type TestServer } from './harness.ts';

const TIMEOUT = 120_000;
const ADMIN = { authorization: 'Bearer admin-token-0123456789' };
const READER = { authorization: 'Bearer read-token-0123456789ab' };
const SUBMITTER = { authorization: 'Bearer submit-token-0123456789' };

describe('POST /v1/runs/:id/merge', () => {
  const cli = useCli();
  // Registered after useCli's hooks, so servers close before its temp directory goes.
  afterEach(closeAll);

  function sh(script: string): string {
    return `    command: sh\n    args: [-c, ${JSON.stringify(script)}]`;
  }

  async function codingRun(
    home: string,
    tasks: string,
  ): Promise<{ repo: string; runId: string; code: number | null }> {
    const repo = makeRepo(join(home, 'repo'));
    const file = join(home, 'plan.yaml');
    writeFileSync(file, `name: feat\nrepo: repo\ntasks:\n${tasks}`);
    const result = await cli.run(['run', file, '--store', cli.store, '--json']);
    const summary = JSON.parse(result.stdout) as { runId: string };
    return { repo, runId: summary.runId, code: result.code };
  }

  async function server(): Promise<TestServer> {
    return await startServer({
      store: cli.store,
      tokens: [
        { token: ADMIN.authorization.slice(7), scopes: ['admin'] },
        { token: READER.authorization.slice(7), scopes: ['read'] },
        { token: SUBMITTER.authorization.slice(7), scopes: ['submit'] },
      ],
    });
  }

  /** The checkout's fingerprint without the lines of the branches the test merges into. */
  function checkout(repo: string): string {
    return fingerprint(repo).replace(/refs\/heads\/(release|stable) \S+\n?/g, '');
  }

  it(
    'fast-forwards at once; a diverged branch is described and left alone until confirm; the checkout is untouched',
    async () => {
      const { repo, runId, code } = await codingRun(
        cli.dir,
        `  - key: feature\n${sh('echo feature > feature.txt')}\n`,
      );
      expect(code).toBe(0);
      g(repo, 'branch', 'release');
      // stable moves on after the run started (not checked out anywhere).
      g(repo, 'checkout', '-q', '-b', 'stable');
      writeFileSync(join(repo, 'hotfix.txt'), 'fix\n');
      g(repo, 'add', 'hotfix.txt');
      g(repo, 'commit', '-q', '-m', 'hotfix');
      g(repo, 'checkout', '-q', 'main');
      // A dirty checkout on main: nothing here may touch it.
      writeFileSync(join(repo, 'README.md'), 'uncommitted\n');
      const before = checkout(repo);
      const main = g(repo, 'rev-parse', 'main');
      const stable = g(repo, 'rev-parse', 'stable');
      const release = g(repo, 'rev-parse', 'release');
      const s = await server();
      const url = `/v1/runs/${runId}/merge`;

      // Scopes: read and submit tokens may not merge.
      for (const headers of [READER, SUBMITTER]) {
        const refused = await s.request('POST', url, { headers, body: { into: 'release' } });
        expect(refused.status).toBe(403);
        expect(refused.body.error.code).toBe('BATON_FORBIDDEN');
      }
      expect(g(repo, 'rev-parse', 'release')).toBe(release);

      // Bad bodies: 400, nothing changed.
      for (const body of [{ into: 'release', confirm: 'yes' }, { into: '' }, { branch: 'x' }]) {
        const bad = await s.request('POST', url, { headers: ADMIN, body });
        expect(bad.status, JSON.stringify(body)).toBe(400);
        expect(bad.body.error.code).toBe('BATON_VALIDATION');
      }

      const ff = await s.request('POST', url, { headers: ADMIN, body: { into: 'release' } });
      expect(ff.status, JSON.stringify(ff.body)).toBe(200);
      RunMergedSchema.parse(ff.body);
      const integration = ff.body.from as string;
      expect(integration).toMatch(/^baton\/feat-[a-z0-9]{8}$/);
      expect(ff.body).toMatchObject({ outcome: 'fast-forward', into: 'release' });
      expect(ff.body.sha).toBe(g(repo, 'rev-parse', integration));
      expect(g(repo, 'rev-parse', 'release')).toBe(ff.body.sha);
      expect(g(repo, 'show', 'release:feature.txt')).toBe('feature');

      const again = await s.request('POST', url, { headers: ADMIN, body: { into: 'release' } });
      expect(again.body).toMatchObject({ outcome: 'up-to-date', sha: ff.body.sha });

      const asked = await s.request('POST', url, { headers: ADMIN, body: { into: 'stable' } });
      expect(asked.status).toBe(200);
      RunMergedSchema.parse(asked.body);
      expect(asked.body.outcome).toBe('would-merge');
      expect(asked.body.sha).toBeUndefined();
      expect(asked.body.message).toContain('cannot fast-forward');
      expect(asked.body.message).toContain('confirm: true');
      expect(asked.body.message).toContain('nothing was changed');
      expect(g(repo, 'rev-parse', 'stable')).toBe(stable);

      const merged = await s.request('POST', url, {
        headers: ADMIN,
        body: { into: 'stable', confirm: true },
      });
      expect(merged.status, JSON.stringify(merged.body)).toBe(200);
      RunMergedSchema.parse(merged.body);
      expect(merged.body).toMatchObject({ outcome: 'merged', from: integration, into: 'stable' });
      expect(g(repo, 'rev-parse', 'stable')).toBe(merged.body.sha);
      expect(g(repo, 'rev-list', '--parents', '-n', '1', 'stable').split(' ')).toHaveLength(3);
      expect(g(repo, 'show', 'stable:feature.txt')).toBe('feature');
      expect(g(repo, 'show', 'stable:hotfix.txt')).toBe('fix');

      // Not a branch name at all (a revision, an option): 400, nothing run.
      for (const into of ['release~1', '--help', 'a..b']) {
        const odd = await s.request('POST', url, { headers: ADMIN, body: { into } });
        expect(odd.status, into).toBe(400);
        expect(odd.body.error.details.issues[0].path).toBe('into');
      }
      expect(g(repo, 'rev-parse', 'release')).toBe(ff.body.sha);

      // A branch that does not exist: 409, said clearly.
      const none = await s.request('POST', url, { headers: ADMIN, body: { into: 'nope' } });
      expect(none.status).toBe(409);
      expect(none.body.error.message).toContain("target branch 'nope' does not exist");

      // The default target is the base branch, main, checked out here with uncommitted
      // changes: Baton refuses rather than touch them.
      const dirty = await s.request('POST', url, { headers: ADMIN });
      expect(dirty.status).toBe(409);
      expect(dirty.body.error.message).toContain('uncommitted changes');
      expect(g(repo, 'rev-parse', 'main')).toBe(main);
      expect(checkout(repo)).toBe(before);
    },
    TIMEOUT,
  );

  it(
    'answers 404 for an unknown run and 409 for a run without worktrees, one not succeeded, or one whose repository is not here; no request names a repository',
    async () => {
      const failed = await codingRun(
        join(cli.dir, 'a'),
        `  - key: broken\n    maxAttempts: 1\n${sh('exit 3')}\n`,
      );
      expect(failed.code).not.toBe(0);
      const moved = await codingRun(
        join(cli.dir, 'b'),
        `  - key: feature\n${sh('echo feature > feature.txt')}\n`,
      );
      expect(moved.code).toBe(0);
      renameSync(moved.repo, join(cli.dir, 'b', 'elsewhere'));
      const s = await server();

      const unknown = await s.request('POST', '/v1/runs/run_missing/merge', { headers: ADMIN });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('BATON_NOT_FOUND');

      const plain = await s.request('POST', '/v1/runs', {
        headers: ADMIN,
        body: { name: 'plain', tasks: [{ key: 'a', type: 'echo' }] },
      });
      expect(plain.status).toBe(201);
      const noWorktrees = await s.request('POST', `/v1/runs/${plain.body.runId}/merge`, {
        headers: ADMIN,
        body: { confirm: true },
      });
      expect(noWorktrees.status).toBe(409);
      expect(noWorktrees.body.error.code).toBe('BATON_CONFLICT');
      expect(noWorktrees.body.error.message).toContain('has no worktrees');

      const before = fingerprint(failed.repo);
      const unfinished = await s.request('POST', `/v1/runs/${failed.runId}/merge`, {
        headers: ADMIN,
        body: { confirm: true },
      });
      expect(unfinished.status).toBe(409);
      expect(unfinished.body.error.message).toContain(`run ${failed.runId} is failed`);
      expect(fingerprint(failed.repo)).toBe(before);

      const elsewhere = await s.request('POST', `/v1/runs/${moved.runId}/merge`, {
        headers: ADMIN,
      });
      expect(elsewhere.status).toBe(409);
      expect(elsewhere.body.error.message).toContain('is not on this machine');
      expect(elsewhere.body.error.details.reason).toBe('elsewhere');

      // Nor can a client plant a run that names a repository: payload.workspace is Baton's own.
      const before2 = (await s.baton.runs({})).runs.length;
      const workspace = {
        v: 1,
        repo: failed.repo,
        baseSha: 'x',
        run: 'planted',
        slot: 'a',
        key: 'a',
      };
      const planted = await s.request('POST', '/v1/runs', {
        headers: ADMIN,
        body: { tasks: [{ key: 'a', type: 'shell', payload: { command: 'true', workspace } }] },
      });
      expect(planted.status).toBe(400);
      expect(planted.body.error.details.issues[0].path).toBe('tasks[0].payload.workspace');
      const plantedTask = await s.request('POST', '/v1/tasks', {
        headers: ADMIN,
        body: { type: 'shell', payload: { command: 'true', workspace } },
      });
      expect(plantedTask.status).toBe(400);
      expect(plantedTask.body.error.details.issues[0].path).toBe('payload.workspace');
      const plantedPlan = await s.request('POST', '/v1/runs', {
        headers: ADMIN,
        raw: `tasks:\n  - key: a\n    type: shell\n    payload: { command: 'true', workspace: { v: 1, repo: /tmp } }\n`,
        contentType: 'application/yaml',
      });
      expect(plantedPlan.status, JSON.stringify(plantedPlan.body)).toBe(400);
      expect((await s.baton.runs({})).runs).toHaveLength(before2);
    },
    TIMEOUT,
  );
});
