import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseBytes, parseNonNegativeInt } from '../../src/cli/parse.ts';

describe('parseBytes', () => {
  it('reads bare bytes and units of 1024, case-insensitively', () => {
    expect(parseBytes('4096')).toBe(4096);
    expect(parseBytes('10B')).toBe(10);
    expect(parseBytes('800KB')).toBe(800 * 1024);
    expect(parseBytes('512MB')).toBe(512 * 1024 * 1024);
    expect(parseBytes('512mb')).toBe(512 * 1024 * 1024);
    expect(parseBytes('512 MiB')).toBe(512 * 1024 * 1024);
    expect(parseBytes('1GB')).toBe(1024 ** 3);
    expect(parseBytes('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes(' 2TB ')).toBe(2 * 1024 ** 4);
  });

  it.each(['', 'big', '0', '0MB', '-1MB', '12XB', '1e3', 'MB', '5 M B'])('refuses %j', (value) => {
    expect(() => parseBytes(value)).toThrow(InvalidArgumentError);
  });

  it('says which forms it accepts', () => {
    expect(() => parseBytes('lots')).toThrow(
      /expected a size such as 512MB, 1.5GB or 800KB.*"lots"/,
    );
  });
});

describe('parseNonNegativeInt', () => {
  it('accepts 0 and whole numbers', () => {
    expect(parseNonNegativeInt('0')).toBe(0);
    expect(parseNonNegativeInt(' 7 ')).toBe(7);
  });
  it.each(['', '-1', '1.5', 'x', '99999999999999999999'])('refuses %j', (value) => {
    expect(() => parseNonNegativeInt(value)).toThrow(InvalidArgumentError);
  });
});
