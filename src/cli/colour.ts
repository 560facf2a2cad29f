/**
 * Colour for the CLI's text, used where it carries meaning (a task's state, a failure), only on
 * a terminal, and never when `NO_COLOR` is set (https://no-color.org); `FORCE_COLOR` turns it on
 * elsewhere (`FORCE_COLOR=0` off). Only `node:util`: `baton --version` and a usage error load
 * nothing more for it.
 */
import { styleText } from 'node:util';

/** What a piece of text means, which picks its colour. */
export type Tone = 'ok' | 'bad' | 'warn' | 'active' | 'muted' | 'strong';

/** Paints text in a tone, or returns it as it is when colour is off. */
export interface Paint {
  (tone: Tone, text: string): string;
  readonly enabled: boolean;
}

const FORMATS: Readonly<Record<Tone, Parameters<typeof styleText>[0]>> = {
  ok: 'green',
  bad: 'red',
  warn: 'yellow',
  active: 'cyan',
  muted: 'gray',
  strong: 'bold',
};

/** No colour: every function that renders text defaults to it. */
export const noColour: Paint = Object.assign((_tone: Tone, text: string) => text, {
  enabled: false,
});

const colour: Paint = Object.assign(
  (tone: Tone, text: string) =>
    text === '' ? text : styleText(FORMATS[tone], text, { validateStream: false }),
  { enabled: true },
);

export function paintFor(enabled: boolean): Paint {
  return enabled ? colour : noColour;
}

/**
 * Whether to colour what goes to `stream`: not when `NO_COLOR` is set to anything but the empty
 * string; when `FORCE_COLOR` is set, as it says (`0` or `false`: off); otherwise on a terminal
 * whose `TERM` is not `dumb`.
 */
export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const noColor = env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}
