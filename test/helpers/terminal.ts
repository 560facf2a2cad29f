/**
 * A small terminal emulator for tests: it plays what a program wrote to a terminal (the output
 * of a pseudo-terminal) onto a grid of `columns` × `rows` and keeps the lines that scrolled off
 * the top, so a test can read what a person would see, scrollback included, rather than the
 * escape sequences. It knows what Baton's live display (log-update) and its logs use: printable
 * text (wide characters take two cells), CR, LF, BS, auto-wrap at the last column, cursor up,
 * down, forward, back and to a column, erase in line and in display; colours and modes are read
 * and dropped.
 */
import stringWidth from 'string-width';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export class Terminal {
  readonly columns: number;
  readonly rows: number;
  /** Lines scrolled off the top, oldest first. */
  readonly #history: string[][] = [];
  #screen: string[][];
  #row = 0;
  #col = 0;
  /** The cursor is past the last column: the next character wraps first. */
  #pendingWrap = false;

  constructor(columns: number, rows: number) {
    this.columns = columns;
    this.rows = rows;
    this.#screen = Array.from({ length: rows }, () => this.#blank());
  }

  #blank(): string[] {
    return Array.from({ length: this.columns }, () => ' ');
  }

  write(data: string): void {
    let i = 0;
    while (i < data.length) {
      const ch = data[i]!;
      if (ch === '\u001b') {
        i = this.#escape(data, i);
        continue;
      }
      if (ch === '\r') {
        this.#col = 0;
        this.#pendingWrap = false;
      } else if (ch === '\n') {
        this.#lineFeed();
      } else if (ch === '\b') {
        this.#col = Math.max(0, this.#col - 1);
        this.#pendingWrap = false;
      } else if (ch >= ' ') {
        // A whole grapheme (an emoji with modifiers, a CJK character) at a time.
        const rest = data.slice(i, i + 16).split('\u001b')[0]!;
        const first = segmenter.segment(rest)[Symbol.iterator]().next().value?.segment ?? ch;
        this.#print(first);
        i += first.length;
        continue;
      }
      i++;
    }
  }

  #print(grapheme: string): void {
    const width = Math.max(1, stringWidth(grapheme));
    if (this.#pendingWrap || this.#col + width > this.columns) {
      this.#col = 0;
      this.#lineFeed();
    }
    const line = this.#screen[this.#row]!;
    line[this.#col] = grapheme;
    if (width === 2 && this.#col + 1 < this.columns) line[this.#col + 1] = '';
    this.#col += width;
    if (this.#col >= this.columns) {
      this.#col = this.columns - 1;
      this.#pendingWrap = true;
    }
  }

  #lineFeed(): void {
    this.#pendingWrap = false;
    if (this.#row < this.rows - 1) {
      this.#row++;
      return;
    }
    this.#history.push(this.#screen.shift()!);
    this.#screen.push(this.#blank());
  }

  /** Read one escape sequence starting at `start`; returns the index after it. */
  #escape(data: string, start: number): number {
    const next = data[start + 1];
    if (next !== '[') {
      // ESC 7 / ESC 8 and other two-character sequences: ignored.
      return start + 2;
    }
    let end = start + 2;
    while (end < data.length && !/[@-~]/.test(data[end]!)) end++;
    const params = data.slice(start + 2, end);
    const final = data[end];
    const n = (fallback: number): number => {
      const value = Number.parseInt(params.replace('?', ''), 10);
      return Number.isNaN(value) ? fallback : value;
    };
    const setColumn = (col: number): void => {
      this.#col = Math.min(this.columns - 1, Math.max(0, col));
      this.#pendingWrap = false;
    };
    switch (final) {
      case 'A':
        this.#row = Math.max(0, this.#row - n(1));
        this.#pendingWrap = false;
        break;
      case 'B':
        this.#row = Math.min(this.rows - 1, this.#row + n(1));
        this.#pendingWrap = false;
        break;
      case 'C':
        setColumn(this.#col + n(1));
        break;
      case 'D':
        setColumn(this.#col - n(1));
        break;
      case 'G':
        setColumn(n(1) - 1);
        break;
      case 'K': {
        const line = this.#screen[this.#row]!;
        const mode = n(0);
        const [from, to] =
          mode === 0
            ? [this.#col, this.columns]
            : mode === 1
              ? [0, this.#col + 1]
              : [0, this.columns];
        for (let c = from; c < to; c++) line[c] = ' ';
        break;
      }
      case 'J': {
        const mode = n(0);
        if (mode === 2 || mode === 3) {
          this.#screen = Array.from({ length: this.rows }, () => this.#blank());
        } else if (mode === 0) {
          const line = this.#screen[this.#row]!;
          for (let c = this.#col; c < this.columns; c++) line[c] = ' ';
          for (let r = this.#row + 1; r < this.rows; r++) this.#screen[r] = this.#blank();
        }
        break;
      }
      default:
        // Colours (m), modes (h, l) and anything else: no effect on the text.
        break;
    }
    return end + 1;
  }

  /** Every line, scrollback then screen, without trailing blanks and trailing empty lines. */
  lines(): string[] {
    const all = [...this.#history, ...this.#screen].map((cells) => cells.join('').trimEnd());
    while (all.length > 0 && all[all.length - 1] === '') all.pop();
    return all;
  }
}
