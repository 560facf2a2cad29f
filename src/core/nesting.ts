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
 * The first place where JSON `text` nests objects and arrays deeper than `limit`, or null. One
 * pass over the characters, no recursion and no parsing: it only tells strings from structure,
 * so it runs before `JSON.parse` and answers for malformed text too (the parser then refuses it).
 */
export function jsonTextTooDeep(text: string, limit: number = MAX_DOCUMENT_DEPTH): TooDeep | null {
  // Each level takes an opening bracket: shorter text cannot be too deep.
  if (text.length <= limit) return null;
  const frames: Frame[] = [];
  let line = 1;
  let lineStart = 0;
  let stringStart = -1;
  let lastString: [number, number] | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (stringStart >= 0) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) {
        lastString = [stringStart, i + 1];
        stringStart = -1;
      } else if (c === NEWLINE) {
        line++;
        lineStart = i + 1;
      }
      continue;
    }
    switch (c) {
      case QUOTE:
        stringStart = i;
        break;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (frames.length === limit) {
          return { path: pathOf(frames), line, column: i - lineStart + 1, limit };
        }
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
            end - start <= SHOWN_KEY + 2
              ? text.slice(start, end)
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
  return null;
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
