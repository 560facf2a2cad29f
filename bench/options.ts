/**
 * A benchmark's whole-number option (`--name`), at least `min`. Anything else ends the
 * benchmark before it starts, with exit code 2 and a message naming the option.
 */
export function wholeOption(name: string, text: string, min = 0): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(
      `--${name} must be a whole number of at least ${min}, not ${JSON.stringify(text)}\n`,
    );
    process.exit(2);
  }
  return value;
}
