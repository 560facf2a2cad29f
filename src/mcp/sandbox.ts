/**
 * A task's files: reads, writes and listings confined to one folder (the sandbox), against the
 * known escapes of MCP filesystem servers.
 *
 * - A path is relative to the sandbox: absolute paths (`/x`, `C:\x`, `~/x`) and `..` segments are
 *   refused before anything is touched.
 * - A read resolves the real path (every symlink followed) and refuses one outside the sandbox's
 *   real path; the file is opened with `O_NOFOLLOW` and the opened descriptor's own path
 *   (`/proc/self/fd`, on Linux) is checked again, so a symlink swapped in between is caught.
 * - A write goes through no symlink at all: each parent folder is checked with `lstat` (and
 *   created, one level at a time, when missing), the file is opened with `O_NOFOLLOW` and without
 *   truncating, its descriptor's path is checked, and only then is it truncated and written. A
 *   file with several hard links is refused (one of them may be outside).
 * - Sizes are capped ({@link FILE_LIMITS}).
 *
 * The checks are made on every call, so a symlink created after the sandbox was is caught too.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';

import { NotFoundError } from '../core/errors.ts';
import { ToolError } from './errors.ts';

/** The caps of file tools. */
export const FILE_LIMITS = {
  /** Largest file `read_file` returns, in bytes. */
  maxReadBytes: 1024 * 1024,
  /** Largest content `write_file` writes, in bytes. */
  maxWriteBytes: 1024 * 1024,
  /** Most entries `list_files` returns. */
  maxListEntries: 1000,
  /** Longest path accepted, in characters. */
  maxPathLength: 1024,
} as const;

export interface FileEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  /** Bytes, for files. */
  bytes?: number;
}

const PROC_FD = process.platform === 'linux' ? '/proc/self/fd/' : null;

function refuse(message: string, path: string): never {
  throw new ToolError('BATON_SANDBOX', message, { path });
}

/** The path's segments, or a refusal of an absolute path or `..`. */
function segmentsOf(path: unknown, allowEmpty: boolean): string[] {
  if (typeof path !== 'string') refuse('the path must be a string', String(path));
  if (path.length > FILE_LIMITS.maxPathLength)
    refuse(`the path is longer than ${FILE_LIMITS.maxPathLength} characters`, path.slice(0, 64));
  if (path.includes('\0')) refuse('the path contains a NUL character', path);
  if (/^([\\/]|~|[A-Za-z]:)/.test(path))
    refuse(
      `absolute paths are refused: '${path}' must be relative to the task's sandbox (e.g. 'notes/out.md')`,
      path,
    );
  const segments = path.split(/[\\/]+/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..'))
    refuse(`'..' is refused in '${path}': paths stay inside the task's sandbox`, path);
  if (!allowEmpty && segments.length === 0)
    refuse('the path names no file: give a file name relative to the sandbox', path);
  return segments;
}

function inside(root: string, real: string): boolean {
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function exists(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** A folder the file tools are confined to. */
export class Sandbox {
  /** The sandbox folder (it may not exist yet). */
  readonly root: string;
  readonly writable: boolean;
  #real: string | null = null;

  constructor(root: string, writable: boolean) {
    this.root = root;
    this.writable = writable;
  }

  /** The sandbox's real path; a writable sandbox is created when missing. */
  async #rootReal(path: string): Promise<string> {
    if (this.#real !== null) return this.#real;
    if (this.writable) await mkdir(this.root, { recursive: true });
    try {
      this.#real = await realpath(this.root);
    } catch {
      throw new NotFoundError('folder', path === '' ? '.' : path);
    }
    return this.#real;
  }

  /** Whether the opened descriptor is at `expected` (checked where /proc tells). */
  async #fdAt(fd: number, root: string): Promise<string | null> {
    if (PROC_FD === null) return null;
    const at = await readlink(PROC_FD + String(fd));
    return inside(root, at)
      ? at
      : refuse('the file moved out of the sandbox while it was opened', at);
  }

  async read(path: string): Promise<{ path: string; content: string; bytes: number }> {
    return this.readBytes(path, 'utf8');
  }

  async readBytes(
    path: string,
    encoding: 'utf8' | 'base64',
  ): Promise<{ path: string; content: string; bytes: number }> {
    const segments = segmentsOf(path, false);
    const root = await this.#rootReal(path);
    let real: string;
    try {
      real = await realpath(join(root, ...segments));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('file', path);
      throw error;
    }
    if (!inside(root, real))
      refuse(`'${path}' resolves outside the sandbox (a symlink that points out of it)`, path);
    const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch(
      (error: NodeJS.ErrnoException) =>
        error.code === 'ELOOP' ? refuse(`'${path}' became a symlink`, path) : Promise.reject(error),
    );
    try {
      await this.#fdAt(handle.fd, root);
      const stat = await handle.stat();
      if (!stat.isFile()) refuse(`'${path}' is not a file`, path);
      if (stat.size > FILE_LIMITS.maxReadBytes)
        refuse(
          `'${path}' has ${stat.size} bytes, more than the ${FILE_LIMITS.maxReadBytes} read_file returns`,
          path,
        );
      const data = await handle.readFile();
      return { path: segments.join('/'), content: data.toString(encoding), bytes: data.length };
    } finally {
      await handle.close();
    }
  }

  async write(
    path: string,
    content: string,
    encoding: 'utf8' | 'base64' = 'utf8',
  ): Promise<{ path: string; bytes: number }> {
    if (!this.writable)
      refuse(
        `this folder is read-only to you: another task's files can be read, not written`,
        path,
      );
    const segments = segmentsOf(path, false);
    if (typeof content !== 'string') refuse('the content must be a string', path);
    const data = Buffer.from(content, encoding);
    if (data.length > FILE_LIMITS.maxWriteBytes)
      refuse(
        `the content has ${data.length} bytes, more than the ${FILE_LIMITS.maxWriteBytes} write_file takes`,
        path,
      );
    const root = await this.#rootReal(path);
    // Each parent folder: a real folder, never a symlink (created when missing).
    let dir = root;
    for (const segment of segments.slice(0, -1)) {
      dir = join(dir, segment);
      const stat = await exists(dir);
      if (stat === null) {
        await mkdir(dir).catch((error: NodeJS.ErrnoException) =>
          error.code === 'EEXIST' ? undefined : Promise.reject(error),
        );
        const made = await lstat(dir);
        if (!made.isDirectory()) refuse(`writes through a symlink are refused ('${path}')`, path);
      } else if (stat.isSymbolicLink()) {
        refuse(
          `writes through a symlink are refused: '${segments.slice(0, segments.indexOf(segment) + 1).join('/')}' is a symlink`,
          path,
        );
      } else if (!stat.isDirectory()) {
        refuse(`'${segment}' in '${path}' is a file, not a folder`, path);
      }
    }
    const file = join(dir, segments.at(-1)!);
    const handle = await open(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW,
      0o644,
    ).catch((error: NodeJS.ErrnoException) =>
      error.code === 'ELOOP'
        ? refuse(`writes through a symlink are refused: '${path}' is a symlink`, path)
        : error.code === 'EISDIR'
          ? refuse(`'${path}' is a folder`, path)
          : Promise.reject(error),
    );
    try {
      await this.#fdAt(handle.fd, root);
      const stat = await handle.stat();
      if (!stat.isFile()) refuse(`'${path}' is not a regular file`, path);
      if (stat.nlink > 1)
        refuse(`'${path}' has several hard links (one may be outside the sandbox)`, path);
      await handle.truncate(0);
      await handle.write(data, 0, data.length, 0);
    } finally {
      await handle.close();
    }
    return { path: segments.join('/'), bytes: data.length };
  }

  async list(path = ''): Promise<{ path: string; entries: FileEntry[]; truncated: boolean }> {
    const segments = segmentsOf(path, true);
    const root = await this.#rootReal(path);
    let real: string;
    try {
      real = await realpath(join(root, ...segments));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError('folder', path);
      throw error;
    }
    if (!inside(root, real))
      refuse(`'${path}' resolves outside the sandbox (a symlink that points out of it)`, path);
    const dirents = await readdir(real, { withFileTypes: true }).catch(
      (error: NodeJS.ErrnoException) =>
        error.code === 'ENOTDIR'
          ? refuse(`'${path}' is not a folder`, path)
          : Promise.reject(error),
    );
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const entries: FileEntry[] = [];
    for (const d of dirents.slice(0, FILE_LIMITS.maxListEntries)) {
      if (d.isSymbolicLink()) entries.push({ name: d.name, type: 'symlink' });
      else if (d.isDirectory()) entries.push({ name: d.name, type: 'directory' });
      else if (d.isFile()) {
        const stat = await exists(join(real, d.name));
        entries.push({ name: d.name, type: 'file', bytes: stat?.size ?? 0 });
      } else entries.push({ name: d.name, type: 'other' });
    }
    return {
      path: segments.join('/'),
      entries,
      truncated: dirents.length > FILE_LIMITS.maxListEntries,
    };
  }
}
