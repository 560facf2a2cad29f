import { describe, expect, it } from 'vitest';
import type { SuiteEnv } from '../context.ts';
import { expectBatonError } from '../helpers.ts';

export function expertiseCases(env: SuiteEnv): void {
  describe('expertise versions', () => {
    it('numbers each domain 1, 2, … and reads them back, oldest first, in the namespace', async () => {
      const { b, clock } = env.ctx();
      expect(await b.getExpertiseVersion('api'), 'none yet').toBeNull();
      expect(await b.expertiseVersions('api')).toEqual([]);
      const first = await b.addExpertiseVersion({
        domain: 'api',
        text: 'domain: api\n',
        source: 'learn',
        origin: 'tsk_1#1',
      });
      expect(first).toEqual({
        domain: 'api',
        version: 1,
        text: 'domain: api\n',
        source: 'learn',
        origin: 'tsk_1#1',
        createdAt: clock.now(),
      });
      clock.advance(10);
      await b.addExpertiseVersion({
        domain: 'database',
        text: 'domain: database\n',
        source: 'learn',
      });
      const second = await b.addExpertiseVersion({
        domain: 'api',
        text: 'domain: api\npatterns: [a]\n',
        source: 'add_learning',
        origin: 'tsk_2#1',
      });
      expect(second).toMatchObject({ version: 2, createdAt: clock.now() });
      expect(
        (await b.expertiseVersions('api')).map((v) => [v.version, v.source, v.origin]),
      ).toEqual([
        [1, 'learn', 'tsk_1#1'],
        [2, 'add_learning', 'tsk_2#1'],
      ]);
      expect(await b.getExpertiseVersion('api')).toEqual(second);
      expect(await b.getExpertiseVersion('api', 1)).toEqual(first);
      expect(await b.getExpertiseVersion('api', 3), 'a version that does not exist').toBeNull();
      expect(await b.getExpertiseVersion('database')).toMatchObject({ version: 1, origin: null });
      const other = await env.ctx().open({ namespace: `${env.ctx().namespace}-other` });
      expect(await other.expertiseVersions('api'), 'another namespace has its own').toEqual([]);
    });

    it('versions recorded at once get distinct numbers', async () => {
      const { b } = env.ctx();
      const versions = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          b.addExpertiseVersion({ domain: 'api', text: `v${i}\n`, source: 'learn' }),
        ),
      );
      expect(versions.map((v) => v.version).sort((x, y) => x - y)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8,
      ]);
    });

    it('refuses a bad domain, version, source or text, and records nothing', async () => {
      const { b } = env.ctx();
      await expectBatonError(
        b.addExpertiseVersion({ domain: '../api', text: 'x', source: 'learn' }),
        'ValidationError',
        'BATON_VALIDATION',
        'a domain with a slash (domain)',
      );
      await expectBatonError(
        b.addExpertiseVersion({ domain: 'api', text: 'x', source: 'guess' }),
        'ValidationError',
        'BATON_VALIDATION',
        'an unknown source (source)',
      );
      await expectBatonError(
        b.addExpertiseVersion({
          domain: 'api',
          text: 'x'.repeat(1024 * 1024 + 1),
          source: 'learn',
        }),
        'ValidationError',
        'BATON_VALIDATION',
        'a text too large (text)',
      );
      await expectBatonError(
        b.getExpertiseVersion('api', 0),
        'ValidationError',
        'BATON_VALIDATION',
        'version 0 (version)',
      );
      await expectBatonError(
        b.expertiseVersions('API'),
        'ValidationError',
        'BATON_VALIDATION',
        'upper case (domain)',
      );
      expect(await b.expertiseVersions('api')).toEqual([]);
    });
  });
}
