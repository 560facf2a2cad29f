/** SQLite-specific argument checks; the shared ones are in `../inputs.ts`. */
import { ValidationError } from '../../core/errors.ts';

/** Cursors (and event ids) are the decimal seq of the last row seen. */
export function parseCursor(cursor: string | undefined, path: string): number {
  if (cursor === undefined) return 0;
  if (typeof cursor !== 'string' || !/^\d{1,15}$/.test(cursor)) {
    throw new ValidationError([
      {
        path,
        message: `'${String(cursor)}' is not a cursor this backend gave out; pass the value from the previous page`,
      },
    ]);
  }
  return Number(cursor);
}
