import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  defaultRunConcurrency,
  parseDurationMs,
  parseList,
  parseLogLevel,
  parsePositiveInt,
  parseTaskState,
  resolveLogLevel,
  resolveStoreUrl,
} from '../../src/cli/parse.ts';

describe('parsePositiveInt', () => {
  it('accepts whole numbers of 1 or more', () => {
    expect(parsePositiveInt('1')).toBe(1);
    expect(parsePositiveInt(' 16 ')).toBe(16);
  });
  it.each(['0', 'abc', '-1', '1.5', '', '2e3', '99999999999999999999'])('refuses %j', (value) => {
    expect(() => parsePositiveInt(value)).toThrow(InvalidArgumentError);
  });
});

describe('parseDurationMs', () => {
  it('reads ms, s and m', () => {
    expect(parseDurationMs('500')).toBe(500);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('2m')).toBe(120_000);
  });
  it.each(['', 'soon', '0', '-3s', '1h'])('refuses %j', (value) => {
    expect(() => parseDurationMs(value)).toThrow(InvalidArgumentError);
  });
});

describe('parseTaskState', () => {
  it('accepts every state, case-insensitively', () => {
    expect(parseTaskState('ready')).toBe('ready');
    expect(parseTaskState('Succeeded')).toBe('succeeded');
  });
  it('names the valid states when refusing', () => {
    expect(() => parseTaskState('done')).toThrow(
      /unknown task state "done".*blocked, delayed, ready/,
    );
  });
});

describe('lists and levels', () => {
  it('splits, trims and dedupes lists', () => {
    expect(parseList('a, b,,a ,c')).toEqual(['a', 'b', 'c']);
    expect(parseList('')).toEqual([]);
  });
  it('checks log levels', () => {
    expect(parseLogLevel('INFO')).toBe('info');
    expect(() => parseLogLevel('loud')).toThrow(InvalidArgumentError);
  });
});

describe('resolution order', () => {
  it('prefers the flag, then BATON_STORE, then the embedded default', () => {
    expect(resolveStoreUrl('sqlite:x.db', { BATON_STORE: 'sqlite:y.db' })).toBe('sqlite:x.db');
    expect(resolveStoreUrl(undefined, { BATON_STORE: 'sqlite:y.db' })).toBe('sqlite:y.db');
    expect(resolveStoreUrl(undefined, {})).toBe('sqlite:.baton/baton.db');
  });
  it('prefers the flag, then a valid BATON_LOG_LEVEL, then the command default', () => {
    expect(resolveLogLevel('debug', 'warn', { BATON_LOG_LEVEL: 'info' })).toBe('debug');
    expect(resolveLogLevel(undefined, 'warn', { BATON_LOG_LEVEL: 'info' })).toBe('info');
    expect(resolveLogLevel(undefined, 'warn', { BATON_LOG_LEVEL: 'nonsense' })).toBe('warn');
    expect(resolveLogLevel(undefined, 'info', {})).toBe('info');
  });
  it('sizes the default pool from the DAG width, between 1 and 16', () => {
    expect(defaultRunConcurrency(0)).toBe(1);
    expect(defaultRunConcurrency(4)).toBe(4);
    expect(defaultRunConcurrency(40)).toBe(16);
  });
});
