/**
 * Human log lines for a terminal. Baton logs with pino, one JSON object per line: right for a
 * file or a log collector, hard to read on a terminal. On a terminal the CLI turns each line into
 *
 * ```
 * 12:04:31.207 INFO  agent-2  task succeeded  key=build taskId=tsk_01… attempt=1 durationMs=412
 * ```
 *
 * (time, level, the agent when there is one, the message, then the other fields as `name=value`,
 * an error's stack on the lines below), with the level in colour. `BATON_LOG_FORMAT=json` keeps
 * JSON on a terminal, `BATON_LOG_FORMAT=pretty` asks for these lines anywhere.
 */
import type { Paint, Tone } from './colour.ts';

/** The forms of log line the CLI writes. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * `BATON_LOG_FORMAT` when it is `json` or `pretty`, else (unset, or another value, as an unknown
 * `BATON_LOG_LEVEL` is) `pretty` on a terminal and `json` elsewhere.
 */
export function resolveLogFormat(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): LogFormat {
  const wanted = env['BATON_LOG_FORMAT']?.trim().toLowerCase();
  if (wanted === 'json' || wanted === 'pretty') return wanted;
  return stream.isTTY === true ? 'pretty' : 'json';
}

/** pino's numeric levels. */
const LEVELS: Readonly<Record<number, { name: string; tone: Tone | null }>> = {
  10: { name: 'TRACE', tone: 'muted' },
  20: { name: 'DEBUG', tone: 'muted' },
  30: { name: 'INFO ', tone: 'active' },
  40: { name: 'WARN ', tone: 'warn' },
  50: { name: 'ERROR', tone: 'bad' },
  60: { name: 'FATAL', tone: 'bad' },
};

/** Fields every line has, or that the line shows in its own place. */
const SHOWN_APART = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'agent', 'v']);

/**
 * One pino JSON line as a readable line (with its trailing newline). A line that is not JSON is
 * returned as it is.
 */
export function formatLogLine(line: string, paint: Paint, now?: Date): string {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return line;
    record = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof record['time'] === 'number' ? new Date(record['time']) : (now ?? new Date());
  const level = LEVELS[typeof record['level'] === 'number' ? record['level'] : 30] ?? LEVELS[30]!;
  const head = [
    paint('muted', clock(time)),
    level.tone === null ? level.name : paint(level.tone, level.name),
    ...(typeof record['agent'] === 'string' ? [paint('strong', record['agent'])] : []),
    typeof record['msg'] === 'string' ? record['msg'] : '',
  ].filter((part) => part !== '');
  const fields: string[] = [];
  const below: string[] = [];
  for (const [name, value] of Object.entries(record)) {
    if (SHOWN_APART.has(name) || value === undefined) continue;
    if ((name === 'err' || name === 'error') && isRecord(value)) {
      const message = typeof value['message'] === 'string' ? value['message'] : '';
      const code = typeof value['code'] === 'string' ? ` [${value['code']}]` : '';
      fields.push(`${name}=${quote(`${message}${code}`)}`);
      // A stack, or a message of several lines (a shell task's stderr), goes below, indented.
      const detail = typeof value['stack'] === 'string' ? value['stack'] : message;
      if (detail.includes('\n')) below.push(...detail.split('\n').map((l) => `    ${l}`));
      continue;
    }
    fields.push(`${name}=${typeof value === 'string' ? quote(value) : JSON.stringify(value)}`);
  }
  const text = [head.join(' '), ...(fields.length > 0 ? [paint('muted', fields.join(' '))] : [])];
  return `${[text.join('  '), ...below].join('\n')}\n`;
}

/** `HH:MM:SS.mmm` in local time. */
function clock(time: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}.${String(time.getMilliseconds()).padStart(3, '0')}`;
}

/** A string as written after `name=`: quoted when it has spaces, quotes or newlines. */
function quote(text: string): string {
  return /^[^\s"=]*$/.test(text) ? text : JSON.stringify(text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
