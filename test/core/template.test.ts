import { describe, expect, it } from 'vitest';

import {
  TemplateError,
  checkTemplate,
  parseTemplate,
  renderTemplate,
  type TemplateValues,
} from '../../src/core/template.ts';
import type { DependencyOutcome, Json } from '../../src/core/types.ts';

function outcome(
  key: string,
  result: Json,
  extra: Partial<DependencyOutcome> = {},
): DependencyOutcome {
  return {
    taskId: `tsk_${key}`,
    key,
    state: 'succeeded',
    soft: false,
    result,
    error: null,
    ...extra,
  };
}

function values(payload: Json, deps: DependencyOutcome[] = []): TemplateValues {
  return { payload, dependencies: Object.fromEntries(deps.map((d) => [d.key, d])) };
}

function renderError(text: string, v: TemplateValues): string {
  try {
    renderTemplate(text, v);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return (error as Error).message;
  }
  throw new Error('expected renderTemplate to throw');
}

describe('renderTemplate', () => {
  it('fills payload fields and dependency results, strings as they are and the rest as JSON', () => {
    const v = values({ topic: 'bees', n: 3, tags: ['a', 'b'], nested: { deep: { x: true } } }, [
      outcome('research', { findings: [{ title: 'Bees dance' }], count: 2 }),
      outcome('notes', 'plain text'),
    ]);
    expect(
      renderTemplate(
        'About {{ payload.topic }} ({{payload.n}}, {{ payload.tags }}, {{ payload.nested.deep.x }}): ' +
          '{{ deps.research.result }} / {{ deps.research.result.findings.0.title }} / {{ deps.notes.result }}',
        v,
      ),
    ).toBe(
      'About bees (3, ["a","b"], true): {"findings":[{"title":"Bees dance"}],"count":2} / Bees dance / plain text',
    );
  });

  it('gives a dependency state and error message, empty when it has none', () => {
    const v = values({}, [
      outcome('ok', 1),
      outcome('broke', null, {
        state: 'failed',
        soft: true,
        error: { message: 'exit code 2', code: 'EXIT_CODE' },
      }),
    ]);
    expect(
      renderTemplate(
        '[{{ deps.ok.state }}|{{ deps.ok.error }}] [{{ deps.broke.state }}|{{ deps.broke.error }}|{{ deps.broke.result }}]',
        v,
      ),
    ).toBe('[succeeded|] [failed|exit code 2|null]');
  });

  it('matches a dependency key that has dots in it whole', () => {
    const v = values({}, [outcome('fetch', 'short'), outcome('fetch.v2', { body: 'long' })]);
    expect(renderTemplate('{{ deps.fetch.v2.result.body }} {{ deps.fetch.result }}', v)).toBe(
      'long short',
    );
  });

  it('writes \\{{ as a literal {{ and leaves lone braces alone', () => {
    expect(renderTemplate('a \\{{ b }} {c} }} {{ payload.x }}', values({ x: 'y' }))).toBe(
      'a {{ b }} {c} }} y',
    );
  });

  it('refuses a path the result does not have, naming what it has', () => {
    const v = values({}, [outcome('research', { findings: [] })]);
    expect(renderError('{{ deps.research.result.summary }}', v)).toBe(
      "{{ deps.research.result.summary }}: the result of 'research' has no 'summary'; it has findings",
    );
    expect(renderError('{{ deps.research.result.findings.0 }}', v)).toContain(
      "the result of 'research' at 'findings' has no '0'; it is an array of 0",
    );
  });

  it('refuses a dependency the task does not have', () => {
    expect(renderError('{{ deps.reserch.result }}', values({}, [outcome('research', 1)]))).toBe(
      "{{ deps.reserch.result }}: 'reserch' is not a dependency of this task (did you mean 'research'?); its dependsOn: research. Add it to dependsOn or fix the name",
    );
  });
});

describe('checkTemplate', () => {
  const scope = { payload: { topic: 'bees', model: 'x' } as Json, dependencyKeys: ['research'] };

  it('accepts a good template', () => {
    expect(
      checkTemplate(
        '{{ payload.topic }} {{ deps.research.result.any.path }} {{ deps.research.state }}',
        scope,
      ),
    ).toEqual([]);
  });

  it('reports every problem of a template, not just the first', () => {
    expect(
      checkTemplate(
        '{{ foo }} {{ deps.reserch.result }} {{ payload.nope }} {{ deps.research.value }} {{ deps.research }} {{ deps.research.state.x }} {{ }} {{ payload..x }}',
        scope,
      ),
    ).toEqual([
      "{{ foo }}: unknown name 'foo'; a name starts with payload. (the task's payload) or deps. (its dependencies' outcomes)",
      "empty '{{ }}' at character 130; name a value such as {{ payload.topic }} or {{ deps.<key>.result }}",
      "{{ payload..x }}: '' is not a name; names are letters, digits, '_', '-', ':' and '$', joined by single dots",
      "{{ deps.reserch.result }}: 'reserch' is not a dependency of this task (did you mean 'research'?); its dependsOn: research. Add it to dependsOn or fix the name",
      "{{ payload.nope }}: the payload has no 'nope'; it has topic, model",
      "{{ deps.research.value }}: a dependency has no field 'value'; use .result (its result, or a path into it), .state or .error",
      "{{ deps.research }}: name what of 'research' to insert: {{ deps.research.result }}, .state or .error",
      '{{ deps.research.state.x }}: .state is a string; only .result takes a path after it',
    ]);
  });

  it('reports an unclosed {{', () => {
    expect(checkTemplate('Hello {{ payload.topic', scope)).toEqual([
      "'{{' at character 7 is never closed with '}}'; write \\{{ for a literal '{{'",
    ]);
  });

  it('names a dependency when the task has none', () => {
    expect(checkTemplate('{{ deps.a.result }}', { dependencyKeys: [] })[0]).toContain(
      'its dependsOn: none',
    );
  });

  it('skips payload checks when the payload is not known', () => {
    expect(checkTemplate('{{ payload.anything }}', { dependencyKeys: [] })).toEqual([]);
  });
});

describe('parseTemplate', () => {
  it('splits literal text and references', () => {
    expect(parseTemplate('a {{ payload.x }}b')).toEqual([
      'a ',
      { expression: 'payload.x', root: 'payload', segments: ['x'], offset: 2 },
      'b',
    ]);
  });

  it('throws the first syntax problem', () => {
    expect(() => parseTemplate('{{ nope.x }}')).toThrow(TemplateError);
  });
});
