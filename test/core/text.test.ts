import { describe, expect, it } from 'vitest';
import {
  closestMatches,
  describeValue,
  didYouMean,
  editDistance,
  formatList,
} from '../../src/core/text.ts';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and neighbour swaps', () => {
    expect(editDistance('build', 'build')).toBe(0);
    expect(editDistance('build', 'buil')).toBe(1);
    expect(editDistance('build', 'builds')).toBe(1);
    expect(editDistance('build', 'bxild')).toBe(1);
    expect(editDistance('hihg', 'high')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('stops early past the limit', () => {
    expect(editDistance('a', 'abcdefgh', 2)).toBe(3);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3);
    expect(editDistance('abcdef', 'abcdxf', 2)).toBe(1);
  });
});

describe('suggestions', () => {
  it('prefers an exact case-insensitive match', () => {
    expect(closestMatches('dependson', ['dependsOn', 'dependson2'])).toEqual(['dependsOn']);
  });

  it('offers close candidates, closest first, and nothing for distant ones', () => {
    expect(closestMatches('packge', ['packages', 'deploy', 'package'])).toEqual([
      'package',
      'packages',
    ]);
    expect(closestMatches('tset', ['test', 'toast'])).toEqual(['test']);
    expect(closestMatches('xyz', ['build', 'test'])).toEqual([]);
    expect(didYouMean('jiter', ['jitter', 'factor'])).toBe(" (did you mean 'jitter'?)");
    expect(didYouMean('zzz', ['jitter'])).toBe('');
  });
});

describe('formatting', () => {
  it('lists at most max items', () => {
    expect(formatList(['a', 'b'])).toBe('a, b');
    expect(formatList(['a', 'b', 'c', 'd'], 2)).toBe('a, b, … (2 more)');
  });

  it('describes values for messages', () => {
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue({})).toBe('an object');
    expect(describeValue(3)).toBe('the number 3');
    expect(describeValue(Number.NaN)).toBe('NaN');
    expect(describeValue('x'.repeat(50))).toBe(`the string '${'x'.repeat(40)}…'`);
    expect(describeValue(false)).toBe('false');
  });
});
