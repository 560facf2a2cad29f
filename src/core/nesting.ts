/**
 * How deeply input may nest, and a check of JSON text that enforces it without recursion.
 *
 * One limit everywhere: a JSON value Baton stores (a task's payload, a handler's result, an
 * event's data) may hold objects and arrays {@link MAX_DEPTH} levels deep, whether it comes from
 * the SDK, a plan file or the HTTP API. A document that carries such values (a request body, a
 * plan file) may nest {@link DOCUMENT_DEPTH_MARGIN} levels more, for the run, task list and task
 * around a payload.
 *
 * Parsers, schema validators and `JSON.stringify` recurse once per level, so a value nested
 * 100,000 deep overflows the stack, and a YAML parser spends seconds and hundreds of megabytes
 * on it first. The checks therefore come before any of them: documents are measured as text
 * here (and YAML token by token in `runtime/plan.ts`), values with an explicit stack in
 * `validate.ts`.
 */

/** Levels of objects and arrays inside one another in a payload, result or event data. */
export const MAX_DEPTH = 256;

/** Levels a request body or plan file may add around a value (run → tasks → task → payload is 3). */
export const DOCUMENT_DEPTH_MARGIN = 8;

/** Levels of nesting a request body or plan file may have in all. */
export const MAX_DOCUMENT_DEPTH = MAX_DEPTH + DOCUMENT_DEPTH_MARGIN;

/** Where a document first nests deeper than its limit. */
export interface TooDeep {
  /** The path to the container that is one level too deep, shortened, e.g. `tasks[0].payload[0][0]…`. */
  path: string;
  /** 1-based line and column of its opening bracket. */
  line: number;
  column: number;
  limit: number;
}

/** What to say about a document nested deeper than `limit`, after "where". */
export function tooDeepMessage(limit: number): string {
  return `nests objects and arrays more than ${limit} levels deep; a payload, result or event data may nest at most ${MAX_DEPTH} levels, and a request body or plan file ${DOCUMENT_DEPTH_MARGIN} more around it: flatten the data`;
}

/** Path segments shown before `…`: enough to name the field, not the whole descent. */
const SHOWN_SEGMENTS = 8;
/** Longest key shown in a path; longer ones are cut. */
const SHOWN_KEY = 40;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const NEWLINE = 0x0a;

interface Frame {
  array: boolean;
  /** The element's index (arrays) or the current key's raw text, quotes included (objects). */
  index: number;
  key: string | null;
}

/**
 * The first place where JSON `text` nests objects and arrays deeper than `limit`, or null. No
 * recursion and no parsing: it only tells strings from structure, so it runs before
 * `JSON.parse` and answers for malformed text too (the parser then refuses it).
 */
export function jsonTextTooDeep(text: string, limit: number = MAX_DOCUMENT_DEPTH): TooDeep | null {
  // Each level takes an opening bracket: shorter text cannot be too deep.
  if (text.length <= limit) return null;
  const at = firstTooDeep(text, limit);
  return at < 0 ? null : describe(text, at, limit);
}

/** Quotes and brackets: all that depth depends on. */
const STRUCTURE = /["[\]{}]/g;

/**
 * The index of the first opening bracket more than `limit` levels deep, or -1. The fast pass
 * every body takes: the regular expression and `indexOf` skip everything but quotes and
 * brackets, and string contents as a whole, natively.
 */
function firstTooDeep(text: string, limit: number): number {
  const structure = new RegExp(STRUCTURE);
  let depth = 0;
  for (let match = structure.exec(text); match !== null; match = structure.exec(text)) {
    const i = match.index;
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) return -1; // unterminated: not JSON, and no deeper than seen so far
      structure.lastIndex = end + 1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === limit) return i;
      depth++;
    } else {
      depth--;
    }
  }
  return -1;
}

/** The index of the quote that closes the string opened at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  while (end >= 0) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
  return -1;
}

/** Where the bracket at `at` is: line, column and path, from a slower pass up to it. */
function describe(text: string, at: number, limit: number): TooDeep {
  const frames: Frame[] = [];
  let line = 1;
  let lineStart = 0;
  let lastString: [number, number] | null = null;
  for (let i = 0; i < at; i++) {
    const c = text.charCodeAt(i);
    switch (c) {
      case QUOTE: {
        const end = stringEnd(text, i);
        lastString = [i, end];
        for (let n = text.indexOf('\n', i); n >= 0 && n < end; n = text.indexOf('\n', n + 1)) {
          line++;
          lineStart = n + 1;
        }
        i = end;
        break;
      }
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        frames.push({ array: c === OPEN_ARRAY, index: 0, key: null });
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        frames.pop();
        break;
      case COMMA: {
        const top = frames[frames.length - 1];
        if (top?.array === true) top.index++;
        else if (top) top.key = null;
        break;
      }
      case COLON: {
        const top = frames[frames.length - 1];
        if (top && !top.array && lastString !== null) {
          const [start, end] = lastString;
          top.key =
            end - start <= SHOWN_KEY + 1
              ? text.slice(start, end + 1)
              : `"${text.slice(start + 1, start + SHOWN_KEY)}…"`;
        }
        break;
      }
      case NEWLINE:
        line++;
        lineStart = i + 1;
        break;
      default:
        break;
    }
  }
  return { path: pathOf(frames), line, column: at - lineStart + 1, limit };
}

/** `tasks[0].payload[0]…`: where the open containers lead, cut after a few segments. */
function pathOf(frames: readonly Frame[]): string {
  let path = '';
  const shown = Math.min(frames.length, SHOWN_SEGMENTS);
  for (let depth = 0; depth < shown; depth++) {
    const frame = frames[depth];
    if (frame === undefined) break;
    if (frame.array) {
      path += `[${frame.index}]`;
    } else {
      const key = frame.key === null ? '?' : keyText(frame.key);
      path += /^[A-Za-z_$][\w$]*$/.test(key)
        ? path === ''
          ? key
          : `.${key}`
        : `[${JSON.stringify(key)}]`;
    }
  }
  return frames.length > SHOWN_SEGMENTS ? `${path}…` : path;
}

/** A key's raw JSON text (quotes included) as the key, or as written when it does not parse. */
function keyText(raw: string): string {
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'string' ? parsed : raw;
  } catch {
    return raw.replace(/^"|"$/g, '');
  }
}
