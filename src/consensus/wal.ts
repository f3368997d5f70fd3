// Write-ahead log of consensus inputs (DESIGN.md section 3, principle 4: WAL discipline), after CometBFT's
// consensus WAL. The host writes every input (peer message, timeout) before handling it, fsyncs the node's own signed
// messages before they leave the node, and writes an end-of-height marker after a block is stored and before it is
// applied. On restart it replays the records after the marker of the last stored height.
//
// File `DIR/wal`, a sequence of frames:
//   [u32 BE crc32 of (kind byte + payload)][u32 BE payload length][kind byte][payload]
// The payload is opaque to the WAL; kind 0 is reserved for the end-of-height marker (payload: u64 BE height).
//
// Recovery (`repairWal`, run by `Wal.open`): a crash can only cut the file short inside its last frame(s), or (after
// a power loss on some file systems) leave a zero-filled tail; both are truncated away and reported. Anything else -
// a checksum mismatch, an impossible length, a malformed marker - cannot come from a crash: the scan stops with
// AppError('STORE_CORRUPT') naming the file and byte offset, and the node must not guess.
//
// This is IO code for the consensus host, not part of the pure core.
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { AppError } from '../errors.ts';

/** Record kinds. Callers may use 1..255 freely; 0 is reserved for the end-of-height marker. */
export const WalKind = { END_HEIGHT: 0, MESSAGE: 1, TIMEOUT: 2, OWN_MESSAGE: 3 } as const;

export interface WalRecord {
  kind: number;
  payload: Uint8Array;
}

export interface WalOptions {
  /** fsync after every write, not only after writeSync/writeEndHeight/flush (slower; for paranoid setups and tests). */
  fsyncEveryWrite?: boolean;
  /** File size above which rotate() (and writeEndHeight, which calls it) rewrites the file. Default 64 MiB. */
  rotateBytes?: number;
  /** Called with each fsync's duration in ms (metrics). */
  onFsync?: (ms: number) => void;
}

export const WAL_FILE = 'wal';
/** Largest payload of one record: 4 MiB. A length field above it is corruption. */
export const MAX_WAL_PAYLOAD = 4 * 1024 * 1024;
export const DEFAULT_ROTATE_BYTES = 64 * 1024 * 1024;
/** crc (4) + length (4) + kind (1). */
export const WAL_HEADER_BYTES = 9;

const ROTATE_TMP_FILE = 'wal.rotate-tmp';
const READ_CHUNK = 1024 * 1024;

export function walPath(dir: string): string {
  return join(dir, WAL_FILE);
}

/** One frame, ready to append. */
export function encodeWalRecord(rec: WalRecord): Buffer {
  const { kind, payload } = rec;
  if (!Number.isInteger(kind) || kind < 0 || kind > 255) {
    throw new AppError('INVALID_FIELD', `WAL record kind must be an integer in 0..255, got ${kind}`, { field: 'kind' });
  }
  if (!(payload instanceof Uint8Array)) throw new AppError('INVALID_FIELD', 'WAL record payload must be a Uint8Array', { field: 'payload' });
  if (payload.length > MAX_WAL_PAYLOAD) {
    throw new AppError('INVALID_FIELD', `WAL record payload is ${payload.length} bytes; the limit is ${MAX_WAL_PAYLOAD} (4 MiB)`, {
      field: 'payload',
      size: payload.length,
    });
  }
  const frame = Buffer.allocUnsafe(WAL_HEADER_BYTES + payload.length);
  frame[8] = kind;
  frame.set(payload, WAL_HEADER_BYTES);
  frame.writeUInt32BE(crc32(frame.subarray(8)), 0);
  frame.writeUInt32BE(payload.length, 4);
  return frame;
}

export function endHeightRecord(height: bigint): WalRecord {
  if (typeof height !== 'bigint' || height < 0n || height > 0xffff_ffff_ffff_ffffn) {
    throw new AppError('INVALID_FIELD', `END_HEIGHT height must be a u64 bigint, got ${String(height)}`, { field: 'height' });
  }
  const payload = new Uint8Array(8);
  new DataView(payload.buffer).setBigUint64(0, height);
  return { kind: WalKind.END_HEIGHT, payload };
}

/** The height of an END_HEIGHT record, or null for any other record. */
export function decodeEndHeight(rec: WalRecord): bigint | null {
  if (rec.kind !== WalKind.END_HEIGHT || rec.payload.length !== 8) return null;
  return new DataView(rec.payload.buffer, rec.payload.byteOffset, 8).getBigUint64(0);
}

// ---------------------------------------------------------------- scanning

/** Sequential reader over a file with a sliding window, so that scanning never holds more than ~5 MiB. */
class WindowReader {
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  private readonly fh: FileHandle;
  readonly size: number;

  constructor(fh: FileHandle, size: number) {
    this.fh = fh;
    this.size = size;
  }

  /** `n` bytes at file offset `off`, or null when the file ends first. The view is valid until the next call. */
  async get(off: number, n: number): Promise<Buffer | null> {
    if (off + n > this.size) return null;
    if (off >= this.bufStart && off + n <= this.bufStart + this.buf.length) {
      return this.buf.subarray(off - this.bufStart, off - this.bufStart + n);
    }
    const want = Math.min(Math.max(n, READ_CHUNK), this.size - off);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(buf, got, want - got, off + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < n) return null; // the file shrank under us
    this.buf = buf.subarray(0, got);
    this.bufStart = off;
    return this.buf.subarray(0, n);
  }

  /** True when every byte from `off` to the end of the file is zero. */
  async zeroFrom(off: number): Promise<boolean> {
    for (let pos = off; pos < this.size; pos += READ_CHUNK) {
      const chunk = await this.get(pos, Math.min(READ_CHUNK, this.size - pos));
      if (chunk === null) return false;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) return false;
    }
    return true;
  }
}

interface ScanResult {
  /** File size when scanned. */
  size: number;
  /** End of the last valid frame: everything after it is a torn tail. */
  validEnd: number;
  records: number;
  /** Byte offset of the last END_HEIGHT frame, or -1. */
  lastEndHeightOffset: number;
  /** Why the tail after validEnd is considered torn, when there is one. */
  tornReason: string | null;
}

function corrupt(path: string, offset: number, index: number, what: string): AppError {
  return new AppError(
    'STORE_CORRUPT',
    `WAL ${path} is corrupt at byte offset ${offset} (record #${index}): ${what}. A crash cannot produce this; the disk ` +
      `or the file was damaged. Move the WAL aside (for example: mv ${path} ${path}.corrupt) and restart: the node then ` +
      `recovers from the block store, but loses its in-progress round.`,
    { path, offset, record: index },
  );
}

/**
 * Reads every frame of `path` in order, handing each valid record to `onRecord`, and says where a torn tail begins.
 * Throws STORE_CORRUPT on damage a crash cannot cause. Returns null when the file does not exist.
 */
async function scanWal(path: string, onRecord?: (rec: WalRecord, offset: number) => void): Promise<ScanResult | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const reader = new WindowReader(fh, size);
    let off = 0;
    let index = 0;
    let lastEndHeightOffset = -1;
    let tornReason: string | null = null;
    while (off < size) {
      const header = await reader.get(off, WAL_HEADER_BYTES);
      if (header === null) {
        tornReason = `incomplete record header (${size - off} of ${WAL_HEADER_BYTES} bytes)`;
        break;
      }
      const storedCrc = header.readUInt32BE(0);
      const length = header.readUInt32BE(4);
      const kind = header[8];
      if (length > MAX_WAL_PAYLOAD) {
        throw corrupt(path, off, index, `length field says ${length} bytes, above the ${MAX_WAL_PAYLOAD}-byte limit`);
      }
      const payload = await reader.get(off + WAL_HEADER_BYTES, length);
      if (payload === null) {
        // The frame runs past the end of the file: a write cut short by a crash - unless the length field itself is
        // damaged, in which case some shorter prefix of what follows completes a frame with the stored checksum.
        const rest = await reader.get(off + WAL_HEADER_BYTES, size - off - WAL_HEADER_BYTES);
        if (rest !== null) {
          let crc = crc32(header.subarray(8, 9));
          for (let n = 0; n < rest.length; n++) {
            if (crc === storedCrc) {
              throw corrupt(path, off, index, `length field says ${length} bytes, but a ${n}-byte payload matches the checksum: the length is damaged`);
            }
            crc = crc32(rest.subarray(n, n + 1), crc);
          }
        }
        tornReason = `incomplete record (${size - off - WAL_HEADER_BYTES} of ${length} payload bytes)`;
        break;
      }
      const crc = crc32(payload, crc32(header.subarray(8, 9)));
      if (crc !== storedCrc) {
        if (await reader.zeroFrom(off)) {
          tornReason = 'zero-filled tail';
          break;
        }
        throw corrupt(path, off, index, `checksum mismatch (stored ${hex32(storedCrc)}, computed ${hex32(crc)})`);
      }
      if (kind === WalKind.END_HEIGHT) {
        if (length !== 8) throw corrupt(path, off, index, `END_HEIGHT marker with a ${length}-byte payload (must be 8)`);
        lastEndHeightOffset = off;
      }
      // The reader's window is reused: hand out a copy.
      onRecord?.({ kind, payload: new Uint8Array(payload) }, off);
      off += WAL_HEADER_BYTES + length;
      index++;
    }
    return { size, validEnd: off, records: index, lastEndHeightOffset, tornReason };
  } finally {
    await fh.close();
  }
}

function hex32(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function repairInternal(dir: string): Promise<ScanResult & { truncatedBytes: number }> {
  await rm(join(dir, ROTATE_TMP_FILE), { force: true }); // an unfinished rotation: the old file is still in place
  const path = walPath(dir);
  const scan = await scanWal(path);
  if (scan === null) return { size: 0, validEnd: 0, records: 0, lastEndHeightOffset: -1, tornReason: null, truncatedBytes: 0 };
  const truncatedBytes = scan.size - scan.validEnd;
  if (truncatedBytes > 0) {
    const fh = await open(path, 'r+');
    try {
      await fh.truncate(scan.validEnd);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  return { ...scan, truncatedBytes };
}

/**
 * Scans `DIR/wal` and repairs it: a torn tail (the last record cut short by a crash, or a zero-filled tail) is
 * truncated away and reported in `truncatedBytes`. A checksum mismatch or an impossible length anywhere throws
 * AppError('STORE_CORRUPT') naming the file and byte offset. A missing file is an empty WAL.
 */
export async function repairWal(dir: string): Promise<{ truncatedBytes: number; records: number }> {
  const r = await repairInternal(dir);
  return { truncatedBytes: r.truncatedBytes, records: r.records };
}

/** Every complete record of `DIR/wal`, in order, without modifying the file (a torn tail is ignored). */
export async function readWal(dir: string): Promise<WalRecord[]> {
  const records: WalRecord[] = [];
  await scanWal(walPath(dir), (rec) => records.push(rec));
  return records;
}

// ---------------------------------------------------------------- the writer

interface Pending {
  frame: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Told the frame's byte offset when it is written. */
  onWritten?: (offset: number) => void;
}

export class Wal {
  /** Duration of the last fsync in milliseconds, for metrics. */
  lastFsyncMs = 0;

  readonly dir: string;
  readonly path: string;
  private readonly fsyncEveryWrite: boolean;
  private readonly rotateBytes: number;
  private readonly onFsync: ((ms: number) => void) | undefined;
  private fh: FileHandle;
  private fileSize: number;
  private lastEndHeightOffset: number;

  /** Frames waiting for the next batch; all of a batch go to the OS in one write and share one fsync. */
  private pending: Pending[] = [];
  private pendingSync = false;
  private batchScheduled = false;
  /** Serial executor: batches, flushes, rotations and close run one at a time, in call order. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** After a failed write or fsync nothing more is written: the file's state is unknown (the node must stop). */
  private failure: Error | null = null;
  /** What open() cut off a torn tail (a crash mid-write), for the node to report; null when the file was whole. */
  readonly repaired: { truncatedBytes: number; reason: string } | null = null;

  private constructor(dir: string, fh: FileHandle, size: number, lastEndHeightOffset: number, opts: WalOptions, repaired: Wal['repaired'] = null) {
    this.dir = dir;
    this.repaired = repaired;
    this.path = walPath(dir);
    this.fh = fh;
    this.fileSize = size;
    this.lastEndHeightOffset = lastEndHeightOffset;
    this.fsyncEveryWrite = opts.fsyncEveryWrite ?? false;
    this.rotateBytes = opts.rotateBytes ?? DEFAULT_ROTATE_BYTES;
    this.onFsync = opts.onFsync;
  }

  /** Repairs `DIR/wal` (see repairWal; throws STORE_CORRUPT on damage), then opens it for appending, creating it. */
  static async open(dir: string, opts: WalOptions = {}): Promise<Wal> {
    if (opts.rotateBytes !== undefined && !(Number.isSafeInteger(opts.rotateBytes) && opts.rotateBytes > 0)) {
      throw new AppError('BAD_CONFIG', `WAL rotateBytes must be a positive integer, got ${opts.rotateBytes}`);
    }
    await mkdir(dir, { recursive: true });
    const repaired = await repairInternal(dir);
    const fh = await open(walPath(dir), 'a', 0o600);
    try {
      const size = (await fh.stat()).size;
      if (size !== repaired.validEnd) throw new AppError('INTERNAL', `WAL ${walPath(dir)} changed while it was being opened; is another node using ${dir}?`);
      await fsyncDir(dir); // the file's directory entry, when it was just created
      const torn = repaired.truncatedBytes > 0 ? { truncatedBytes: repaired.truncatedBytes, reason: repaired.tornReason ?? 'torn tail' } : null;
      return new Wal(dir, fh, size, repaired.lastEndHeightOffset, opts, torn);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Bytes in the file, counting records handed to write() that are still queued. */
  get size(): number {
    let n = this.fileSize;
    for (const p of this.pending) n += p.frame.length;
    return n;
  }

  /** Appends a record, without fsync (inputs from peers and timeouts). Resolves once the OS has the bytes. */
  write(rec: WalRecord): Promise<void> {
    let frame: Buffer;
    try {
      frame = this.userFrame(rec);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.append(frame, this.fsyncEveryWrite);
  }

  /** Appends a record and fsyncs before resolving: for our own signed messages, before they leave the node. */
  writeSync(rec: WalRecord): Promise<void> {
    let frame: Buffer;
    try {
      frame = this.userFrame(rec);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.append(frame, true);
  }

  /**
   * Appends the end-of-height marker of `height` and fsyncs. Then, when the file is above the rotation threshold,
   * rotates it (cheap here: only the marker just written is kept).
   */
  async writeEndHeight(height: bigint): Promise<void> {
    const frame = encodeWalRecord(endHeightRecord(height));
    await this.append(frame, true, (offset) => {
      this.lastEndHeightOffset = offset; // set once the marker is in the file
    });
    if (this.fileSize > this.rotateBytes) await this.rotate();
  }

  /** fsyncs everything written so far. */
  flush(): Promise<void> {
    return this.enqueue(async () => {
      await this.fsync();
    });
  }

  /**
   * When the file exceeds the rotation threshold, rewrites it with only the last END_HEIGHT marker and the records
   * after it (write to a temporary file, fsync, rename over, fsync the directory). Returns whether it rotated.
   * A crash at any point leaves either the old file or the new one, both valid.
   */
  rotate(): Promise<boolean> {
    let rotated = false;
    return this.enqueue(async () => {
      if (this.fileSize <= this.rotateBytes || this.lastEndHeightOffset <= 0) return;
      const from = this.lastEndHeightOffset;
      const tailBytes = this.fileSize - from;
      const tmp = join(this.dir, ROTATE_TMP_FILE);
      const src = await open(this.path, 'r');
      try {
        const dst = await open(tmp, 'w', 0o600);
        try {
          const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, tailBytes));
          for (let pos = 0; pos < tailBytes; ) {
            const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, tailBytes - pos), from + pos);
            if (bytesRead === 0) throw new AppError('INTERNAL', `WAL ${this.path} is shorter than expected during rotation`);
            await writeAll(dst, buf.subarray(0, bytesRead));
            pos += bytesRead;
          }
          await dst.sync();
        } finally {
          await dst.close();
        }
      } finally {
        await src.close();
      }
      await this.fsync(); // the old file is complete on disk, whatever happens next
      await rename(tmp, this.path);
      await fsyncDir(this.dir);
      const old = this.fh;
      this.fh = await open(this.path, 'a', 0o600);
      this.fileSize = tailBytes;
      this.lastEndHeightOffset = 0;
      await old.close();
      rotated = true;
    }).then(() => rotated);
  }

  /** Writes and fsyncs what is queued, then closes the file. Later writes are rejected. */
  close(): Promise<void> {
    if (this.closed) return this.chain;
    this.closed = true;
    return this.enqueue(
      async () => {
        try {
          if (this.failure === null) await this.fsync();
        } finally {
          await this.fh.close();
        }
      },
      true,
    );
  }

  /**
   * The records after the END_HEIGHT marker of `height` - the inputs of height+1 onwards, including any later
   * markers - for replay on restart; found=false when there is no such marker. Should the marker appear more than
   * once, the replay starts after the first one (as CometBFT's search does within a file): nothing written after it
   * is left out. Reads the file without changing it (a torn tail is ignored; Wal.open repairs it). Throws
   * STORE_CORRUPT on damage. Records still queued in an open Wal (write() not yet resolved) are not seen.
   */
  static async readAfterEndHeight(dir: string, height: bigint): Promise<{ found: boolean; records: WalRecord[] }> {
    let found = false;
    const records: WalRecord[] = [];
    await scanWal(walPath(dir), (rec) => {
      if (found) records.push(rec);
      else if (decodeEndHeight(rec) === height) found = true;
    });
    return { found, records };
  }

  // ------------------------------------------------------------ internals

  private userFrame(rec: WalRecord): Buffer {
    if (rec.kind === WalKind.END_HEIGHT) {
      throw new AppError('INVALID_FIELD', 'WAL record kind 0 is reserved for the end-of-height marker; use writeEndHeight()', { field: 'kind' });
    }
    return encodeWalRecord(rec);
  }

  private checkWritable(): void {
    if (this.closed) throw new AppError('INTERNAL', `WAL ${this.path} is closed`);
    if (this.failure !== null) throw this.failure;
  }

  private enqueue(op: () => Promise<void>, ignoreClosed = false): Promise<void> {
    if (!ignoreClosed) {
      try {
        this.checkWritable();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const run = this.chain.then(async () => {
      if (this.failure !== null && !ignoreClosed) throw this.failure;
      try {
        await op();
      } catch (err) {
        throw this.fail(err);
      }
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Queues a frame; the returned promise settles when its batch is written (and fsynced if `sync`). */
  private append(frame: Buffer, sync: boolean, onWritten?: (offset: number) => void): Promise<void> {
    try {
      this.checkWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    const done = new Promise<void>((resolve, reject) => this.pending.push({ frame, resolve, reject, onWritten }));
    if (sync) this.pendingSync = true;
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      const run = this.chain.then(() => this.writeBatch());
      this.chain = run.catch(() => {});
    }
    return done;
  }

  private async writeBatch(): Promise<void> {
    this.batchScheduled = false;
    const batch = this.pending;
    const sync = this.pendingSync;
    this.pending = [];
    this.pendingSync = false;
    try {
      if (this.failure !== null) throw this.failure;
      const data = batch.length === 1 ? batch[0].frame : Buffer.concat(batch.map((p) => p.frame));
      await writeAll(this.fh, data);
      let offset = this.fileSize;
      this.fileSize += data.length;
      for (const p of batch) {
        p.onWritten?.(offset);
        offset += p.frame.length;
      }
      if (sync) await this.fsync();
    } catch (err) {
      const failure = this.fail(err);
      for (const p of batch) p.reject(failure);
      return;
    }
    for (const p of batch) p.resolve();
  }

  private async fsync(): Promise<void> {
    const start = process.hrtime.bigint();
    await this.fh.datasync();
    this.lastFsyncMs = Number(process.hrtime.bigint() - start) / 1e6;
    this.onFsync?.(this.lastFsyncMs);
  }

  /** Records the first failure; every later operation fails with it. */
  private fail(err: unknown): Error {
    if (this.failure === null) {
      const message = err instanceof Error ? err.message : String(err);
      this.failure =
        err instanceof AppError
          ? err
          : new AppError('INTERNAL', `WAL ${this.path}: write or fsync failed (${message}); the WAL's state on disk is unknown, stop the node and restart it`, {
              path: this.path,
            });
    }
    return this.failure;
  }
}

async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    off += bytesWritten;
  }
}

/** Size of `DIR/wal` in bytes, 0 when absent. */
export async function walSize(dir: string): Promise<number> {
  try {
    return (await stat(walPath(dir))).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}
