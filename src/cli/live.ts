/**
 * The live display of `baton run` on a terminal: a frame redrawn in place (log-update), and
 * everything else that reaches the terminal meanwhile (log lines, notes, failures) printed
 * above it. Nothing is written to the terminal behind the frame's back: a line written between
 * two redraws would shift the frame, and the next redraw would erase the wrong lines and leave
 * a stale copy of the frame in the scrollback. So every other writer goes through
 * {@link LiveDisplay.print}, which takes the frame away, writes the line, and draws the frame
 * again below it.
 */
import { createLogUpdate } from 'log-update';

/** A terminal stream as the display needs it. */
export interface DisplayStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface TerminalSize {
  columns: number;
  rows: number;
}

export interface LiveDisplayOptions {
  /** How often the frame is redrawn when nothing else happens (elapsed time, countdowns), ms. */
  intervalMs: number;
}

export class LiveDisplay {
  readonly #out: DisplayStream;
  readonly #err: DisplayStream;
  readonly #frame: (size: TerminalSize) => string;
  readonly #draw: ReturnType<typeof createLogUpdate>;
  readonly #timer: NodeJS.Timeout;
  #stopped = false;

  /**
   * Starts drawing at once, and again every `intervalMs`.
   * @param out the terminal the frame is drawn on (stdout)
   * @param err where log lines and notes go (stderr; the same terminal, usually)
   * @param frame the frame for a terminal of this size
   */
  constructor(
    out: DisplayStream,
    err: DisplayStream,
    frame: (size: TerminalSize) => string,
    options: LiveDisplayOptions,
  ) {
    this.#out = out;
    this.#err = err;
    this.#frame = frame;
    this.#draw = createLogUpdate(out as NodeJS.WriteStream);
    this.redraw();
    this.#timer = setInterval(() => this.redraw(), options.intervalMs);
    this.#timer.unref();
  }

  get size(): TerminalSize {
    return { columns: this.#out.columns ?? 80, rows: this.#out.rows ?? 24 };
  }

  redraw(): void {
    if (this.#stopped) return;
    this.#draw(this.#frame(this.size));
  }

  /**
   * Erase the frame and draw it again whole: after something typed on the terminal was echoed
   * into it (the `^C` of a Ctrl-C), which a redraw of the lines that changed would leave there.
   */
  refresh(): void {
    if (this.#stopped) return;
    this.#draw.clear();
    this.redraw();
  }

  /**
   * Print `text` (a newline is added) above the frame, on stdout or stderr. When stderr is not
   * the terminal (redirected to a file), its lines go there without touching the frame.
   */
  print(to: 'stdout' | 'stderr', text: string): void {
    const stream = to === 'stdout' ? this.#out : this.#err;
    const line = text.endsWith('\n') ? text : `${text}\n`;
    if (this.#stopped || (to === 'stderr' && this.#err.isTTY !== true)) {
      stream.write(line);
      return;
    }
    this.#draw.clear();
    stream.write(line);
    this.redraw();
  }

  /** Draw the last frame and leave it on the terminal; later writes go below it. */
  stop(): void {
    if (this.#stopped) return;
    clearInterval(this.#timer);
    this.redraw();
    this.#stopped = true;
    this.#draw.done();
  }
}
