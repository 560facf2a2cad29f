/**
 * Widths counted as a terminal counts them: CJK characters and most emoji take two columns,
 * escape sequences none (string-width).
 */
import stringWidth from 'string-width';

/** Columns `text` takes on a terminal (escape sequences take none). */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `text` cut to at most `max` columns, ending in `…` when cut. For text without colour: cut
 * before painting. A wide character that would straddle the limit is left out whole.
 */
export function fitWidth(text: string, max: number): string {
  if (max <= 0) return '';
  if (displayWidth(text) <= max) return text;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = displayWidth(segment);
    if (used + w > max - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** `text` padded with spaces to `width` columns (on the right, or on the left with `right`). */
export function padWidth(text: string, width: number, right = false): string {
  const pad = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return right ? pad + text : text + pad;
}
