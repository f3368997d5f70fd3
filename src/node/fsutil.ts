// File helpers for homes and keyrings: secret files are created 0600 and never silently replaced; replacing is an
// explicit choice that writes a new file beside the old one and renames it over (so a crash leaves one or the other).
import { chmod, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';

export const SECRET_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;
export const PRIVATE_DIR_MODE = 0o700;

export interface WriteOptions {
  mode: number;
  /** Replace an existing file; without it an existing file is an ALREADY_EXISTS error. */
  overwrite?: boolean;
  /** Sentence appended to the ALREADY_EXISTS message, saying how to get past it. */
  existsHint?: string;
}

async function writeNew(path: string, data: string, mode: number): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `path` with `mode`, durable (fsync) before it returns. */
export async function writeFileSafe(path: string, data: string, opts: WriteOptions): Promise<void> {
  if (!opts.overwrite) {
    try {
      await writeNew(path, data, opts.mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new AppError('ALREADY_EXISTS', `${path} already exists${opts.existsHint ? '; ' + opts.existsHint : ''}`, { path });
      }
      throw err;
    }
    return;
  }
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeNew(tmp, data, opts.mode);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Creates a directory (and its parents) and sets its mode, e.g. 0700 for directories that hold secrets. */
export async function ensureDir(path: string, mode: number): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new AppError('INVALID_FIELD', `${path} (or one of its parents) exists and is not a directory; choose another --home`, { path });
    }
    throw err;
  }
  await chmod(path, mode);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
