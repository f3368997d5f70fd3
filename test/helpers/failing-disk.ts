// Fault-injection preload for a node process (`node --import <this file> bin/agentcluster.ts start ...`): once a
// trigger file exists, writes and/or fsyncs through node:fs/promises FileHandles on files under a given directory
// fail with a real-looking EIO, as a dying disk returns them. Used by test/faults/disk.test.ts on the consensus WAL.
//
// Environment:
//   FAILING_DISK_DIR      the files to fail: every file whose path (via /proc/self/fd) starts with this directory
//   FAILING_DISK_TRIGGER  failing starts when this file exists (polled every 50 ms) and stops when it is gone
//   FAILING_DISK_OPS      comma list of 'write' (write, writev, writeFile) and 'fsync' (sync, datasync); default both
//
// The WAL (src/consensus/wal.ts) writes with FileHandle.write and fsyncs with FileHandle.datasync, so the patch sits
// on the FileHandle prototype: it is shared by every handle, whoever opened it and however `open` was imported.
// The first injected error is announced on stderr as a JSON log line ('failing-disk: injected EIO'), for the test to
// time the node's reaction.
import { existsSync, readlinkSync, realpathSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { sep } from 'node:path';

const dirEnv = process.env.FAILING_DISK_DIR;
const trigger = process.env.FAILING_DISK_TRIGGER;
if (dirEnv === undefined || trigger === undefined) throw new Error('failing-disk preload: set FAILING_DISK_DIR and FAILING_DISK_TRIGGER');
const ops = new Set((process.env.FAILING_DISK_OPS ?? 'write,fsync').split(',').map((s) => s.trim()));
// /proc/self/fd shows resolved paths: compare against the resolved directory (it may not exist yet).
const dir = (existsSync(dirEnv) ? realpathSync(dirEnv) : dirEnv).replace(/\/+$/, '') + sep;

let failing = existsSync(trigger);
// A cheap poll instead of a stat per write; unref'd so it never keeps the node alive.
setInterval(() => {
  failing = existsSync(trigger);
}, 50).unref();

let announced = false;

function targeted(fd: number): string | null {
  try {
    const path = readlinkSync(`/proc/self/fd/${fd}`);
    return path.startsWith(dir) ? path : null;
  } catch {
    return null;
  }
}

/** The error libuv reports for EIO, shaped as Node's fs errors are (message, errno, code, syscall). */
function eio(syscall: string, path: string): NodeJS.ErrnoException {
  if (!announced) {
    announced = true;
    process.stderr.write(JSON.stringify({ level: 40, time: Date.now(), msg: 'failing-disk: injected EIO', syscall, path }) + '\n');
  }
  return Object.assign(new Error(`EIO: i/o error, ${syscall}`), { errno: -5, code: 'EIO', syscall });
}

const probe = await open(process.execPath, 'r');
const proto = Object.getPrototypeOf(probe) as Record<string, unknown>;
await probe.close();

function wrap(method: string, op: 'write' | 'fsync', syscall: string): void {
  const original = proto[method];
  if (typeof original !== 'function') throw new Error(`failing-disk preload: FileHandle.${method} not found`);
  proto[method] = async function (this: { fd: number }, ...args: unknown[]) {
    if (failing && ops.has(op)) {
      const path = targeted(this.fd);
      if (path !== null) throw eio(syscall, path);
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
}

wrap('write', 'write', 'write');
wrap('writev', 'write', 'write');
wrap('writeFile', 'write', 'write');
wrap('sync', 'fsync', 'fsync');
wrap('datasync', 'fsync', 'fdatasync');
