// A failing disk under a validator of a 4-validator devnet, under a transfer load (test/helpers/faults.ts):
//   1. EIO on the consensus WAL (DATA/cs.wal/wal): a preload (test/helpers/failing-disk.ts) makes the WAL's writes,
//      then (second fault) its fsyncs, fail with EIO once a trigger file exists. The WAL refuses every later write,
//      consensus stops with a fatal line naming the WAL and the error, `start` exits 1; after the trigger is removed
//      and the node restarted on the same home it replays the WAL and commits with the others.
//   2. ENOSPC, a real full disk: a 64 MiB tmpfs mounted over a validator's DATA (WAL, signer state, LevelDB) is
//      filled to the last byte while the node runs; and, on another validator, a tmpfs over DATA/state only (the
//      LevelDB of the block store and app state), so that LevelDB is what hits ENOSPC, not the WAL. Each node must
//      stop (exit 1) rather than go on half-written; after the filler is deleted it restarts and rejoins.
// One validator is down at a time (the other three keep committing); the invariant checker runs after each fault.
// Which validators, the order of the EIO faults and the delays come from FAULT_SEED. Mounts need root: without it
// (or when mount fails) the ENOSPC part is skipped with the reason.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { homePaths } from '../../src/node/config.ts';
import { readWal } from '../../src/consensus/wal.ts';
import { Store } from '../../src/state/store.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FaultNet, Load, checkInvariants, faultRng, sleep, startFaultNet } from '../helpers/faults.ts';
import type { LogLine, NodeProcess } from '../helpers/proc.ts';
import type { Rng } from '../helpers/rng.ts';

const FAILING_DISK = fileURLToPath(new URL('../helpers/failing-disk.ts', import.meta.url));
const TMPFS_SIZE = '64m';
const FATAL = 60;
/** How long a node may take to stop after its disk fails ("within a few seconds"; generous for a loaded 2-core box). */
const STOP_WITHIN_MS = 15_000;

const dataDir = (net: FaultNet, i: number) => homePaths(net.nodes[i].home).dataDir;

const isMounted = (dir: string) => readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);

/**
 * Mounts a tmpfs of TMPFS_SIZE over `dir`, keeping its content and mode (copied in from a moved-aside original).
 * Returns null, or why it could not (the directory is then as before).
 */
async function mountTmpfsOver(dir: string): Promise<string | null> {
  await mkdir(dir, { recursive: true });
  const mode = (await stat(dir)).mode & 0o7777;
  const original = `${dir}.before-tmpfs`;
  await rename(dir, original);
  await mkdir(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=${mode.toString(8)}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    await rename(original, dir);
    return `mount -t tmpfs over ${dir} failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
  execFileSync('cp', ['-a', `${original}/.`, dir]); // -a: modes, owners and times as they were
  await rm(original, { recursive: true, force: true });
  return null;
}

function unmount(dir: string): string {
  if (!isMounted(dir)) return 'not mounted';
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return 'unmounted';
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); // busy: detach it now, the kernel frees it when unused
    return 'lazily unmounted (umount -l)';
  }
}

/**
 * Unmounts `dir` at the test's teardown, after SIGKILLing node i's processes (teardowns run last-registered first,
 * so this one runs before the helper kills everything and removes the temp dir), and at exit if the file times out.
 */
function unmountAtTeardown(t: Test, net: FaultNet, i: number, dir: string): void {
  const atExit = () => {
    for (const p of net.procs[i]) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      // nothing mounted any more
    }
  };
  process.once('exit', atExit);
  t.teardown(async () => {
    process.off('exit', atExit);
    await Promise.all(net.procs[i].map((p) => p.kill('SIGKILL')));
    const how = unmount(dir);
    t.comment(`teardown: ${dir}: ${how}; still mounted: ${isMounted(dir)}`);
  });
}

/** Fills the file system of `dir` to the last byte with a zero-filled file; returns its size. */
function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  let bytes = 0;
  try {
    // Big chunks first, then smaller ones down to a byte: the file system ends with no free block at all.
    for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9, 1]) {
      const chunk = Buffer.alloc(size);
      try {
        for (;;) bytes += writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

const text = (l: LogLine) => JSON.stringify(l);

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface DiskFault {
  label: string;
  /** Breaks the disk under node i's running process; resolves when it is broken. */
  inject: () => Promise<void>;
  /** Repairs it (with the node stopped). */
  heal: () => Promise<void>;
  /** What the fatal line must say (besides naming the file). */
  error: RegExp;
  /** What file the fatal line must name. */
  file: RegExp;
}

/**
 * Breaks node i's disk under load and checks the node stops loudly and alone, the others go on, and after the repair
 * it restarts on the same home, recovers and commits with the others; then the invariant checker.
 */
async function diskFault(t: Test, net: FaultNet, i: number, f: DiskFault, load: Load, rng: Rng): Promise<void> {
  const name = net.nodes[i].name;
  await net.waitAll((await net.maxHeight()) + 2n, 60_000, `${f.label}: every node committing before the fault`);
  await sleep(rng.int(500, 3_000));
  const p = net.current(i);
  const exitedAt = p.exited.then((e) => ({ ...e, at: Date.now() }));
  const injectedAt = Date.now();
  await f.inject();
  const brokenAt = Date.now();
  const exit = await Promise.race([exitedAt, sleep(STOP_WITHIN_MS).then(() => null)]);
  if (exit === null) {
    // A node that goes on (or hangs) on a broken disk is the finding this test exists for: show what it did.
    t.fail(`${f.label}: ${name} did not exit within ${secs(STOP_WITHIN_MS)} of the disk failing`, {
      lastLines: p.lines.slice(-15).map(text),
      commitsAfterFault: p.commits().length,
    });
    await net.kill(i);
  } else {
    net.state[i] = 'stopped';
    t.equal(exit.code, 1, `${f.label}: ${name} exited with code 1 (${exit.code ?? exit.signal}) ${secs(exit.at - brokenAt)} after the disk failed`);
    t.comment(`${f.label}: time to stop ${secs(exit.at - injectedAt)} from the fault's start, ${secs(exit.at - brokenAt)} after it was complete`);
  }
  const injected = p.lines.find((l) => l.msg === 'failing-disk: injected EIO');
  if (exit !== null && injected !== undefined) t.comment(`${f.label}: first injected EIO (${String(injected.syscall)} ${String(injected.path)}) to exit: ${secs(exit.at - Number(injected.time))}`);
  const fatalAt = p.lines.findIndex((l) => l.level === FATAL);
  const fatal = fatalAt < 0 ? undefined : p.lines[fatalAt];
  t.ok(fatal !== undefined, `${f.label}: a fatal log line`, { lastLines: p.lines.slice(-8).map(text) });
  if (fatal !== undefined) {
    t.equal(fatal.msg, 'consensus stopped: cannot continue safely', `${f.label}: fatal: '${fatal.msg}'`);
    t.match(text(fatal), f.file, `${f.label}: the fatal line names the file`);
    t.match(text(fatal), f.error, `${f.label}: and the I/O error (${String((fatal.err as { message?: string } | undefined)?.message ?? '').slice(0, 400)})`);
    const after = p.lines.slice(fatalAt + 1).filter((l) => l.msg === 'committed block');
    t.same(after.map(text), [], `${f.label}: no block committed after the fatal line`);
  }
  const cliError = p.lines.find((l) => l.level === 0 && l.msg.startsWith('error'));
  t.comment(`${f.label}: the CLI's last word: ${cliError?.msg.slice(0, 400) ?? '(none)'}`);

  // The other three go on without it.
  const h = await net.maxHeight();
  await net.waitAll(h + 2n, 30_000, `${f.label}: the other three past height ${h + 1n}`);
  t.pass(`${f.label}: the other three committed heights ${h + 1n}..${h + 2n} with ${name} down`);

  await f.heal();
  const target = (await net.maxHeight()) + 1n;
  const restartAt = Date.now();
  const q = net.start(i);
  const started = await Promise.race([q.waitFor((l) => l.msg === 'consensus starting', 60_000).catch(() => null), q.exited.then(() => null)]);
  if (started === null) {
    const exitNow = q.child.exitCode ?? q.child.signalCode;
    net.state[i] = exitNow === null ? 'running' : 'stopped';
    t.fail(`${f.label}: ${name} did not start again on the repaired disk (exit ${exitNow})`, { lastLines: q.lines.slice(-8).map(text) });
    return;
  }
  const warnings = q.lines.filter((l) => l.level >= 40 && l.level < FATAL).map((l) => (l.truncatedBytes === undefined ? l.msg : `${l.msg} (${String(l.truncatedBytes)} bytes, ${String(l.reason)})`));
  t.pass(`${f.label}: ${name} started again (replayed ${String(started.replay)} WAL records; warnings: ${JSON.stringify(warnings)})`);
  const committed = await q.waitFor((l) => l.msg === 'committed block' && BigInt(l.height as string) >= target, 60_000);
  const firstCommit = q.lines.find((l) => l.msg === 'committed block');
  t.pass(`${f.label}: ${name} committed height ${String(committed.height)} with the others ${secs(Date.now() - restartAt)} after the restart`);
  t.comment(`${f.label}: restart to first commit (height ${String(firstCommit?.height)}) ${secs(Number(firstCommit?.time) - restartAt)}; to height ${target} ${secs(Number(committed.time) - restartAt)}`);
  const records = await readWal(join(dataDir(net, i), 'cs.wal'));
  t.ok(records.length > 0, `${f.label}: ${name}'s WAL scans cleanly (${records.length} records)`);
  await checkInvariants(t, net, { label: `after ${f.label}`, load });
}

function failedVictimChecks(t: Test, procs: readonly NodeProcess[], label: string): void {
  const refused = procs.flatMap((p) => p.lines.filter((l) => l.msg === 'signer refused'));
  t.comment(`${label}: 'signer refused' lines of the victim: ${refused.length}${refused.length > 0 ? ` ${text(refused[0])}` : ''}`);
}

// LevelDB keeps no failed write: after an append fails with ENOSPC it acknowledges later writes (sync: true too) that
// the next open then drops as a corrupt log tail ("dropping N bytes; Corruption: checksum mismatch" in its LOG). The
// Store keeps the first failure and refuses every later write; a reopen recovers exactly what was acknowledged.
t.test('the store refuses every write after one failed on a full disk, and reopens at its last acknowledged height', async (t) => {
  if (process.getuid?.() !== 0) return t.plan(0, 'skipped: mounting a tmpfs needs root');
  const tmp = tempDir('ac-store-enospc-');
  t.teardown(tmp.remove);
  const dir = join(tmp.path, 'mnt');
  await mkdir(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return t.plan(0, `skipped: mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
  }
  t.teardown(() => void unmount(dir)); // registered after tmp.remove, so it runs first
  const dbPath = join(dir, 'state');
  const head = (height: bigint) => ({ height, appHash: new Uint8Array(32), blockHash: new Uint8Array(32), time: height * 1_000_000_000n, genesisHash: new Uint8Array(32) });
  const stateKey = (height: bigint) => new TextEncoder().encode(`k${height}`);
  const commit = (s: Store, height: bigint, bytes: number) => s.commitHeight({ head: head(height), state: [{ key: stateKey(height), value: new Uint8Array(bytes).fill(1) }], nodes: [] });
  let store = await Store.open(dbPath);
  let height = 1n;
  for (; height <= 20n; height++) await commit(store, height, 1000);
  const filled = fillDisk(join(dir, 'filler'));
  // The first writes may still fit in the slack of a page the log already has.
  let failure: Error | null = null;
  for (let tries = 0; tries < 50 && failure === null; tries++) {
    try {
      await commit(store, height, 3000);
      height++;
    } catch (err) {
      failure = err as Error;
    }
  }
  const acknowledged = height - 1n;
  t.ok(failure !== null, `a write fails once the disk is full (${filled} bytes of filler; heights up to ${acknowledged} acknowledged)`);
  t.match(String(failure?.message), /No space left on device/, `the error says why: ${String(failure?.message)}`);
  await rm(join(dir, 'filler'));
  await t.rejects(commit(store, height, 100), { message: String(failure?.message) }, 'with space again, the store still refuses writes (the same error)');
  await t.rejects(store.saveDecidedBlock(height, { bytes: new Uint8Array(10), hash: new Uint8Array(32) }, new Uint8Array(10)), { message: String(failure?.message) }, 'saveDecidedBlock too');
  t.equal(store.head()?.height, acknowledged, 'the head stays at the last acknowledged height');
  await store.close();
  store = await Store.open(dbPath);
  t.teardown(() => store.close());
  t.equal(store.head()?.height, acknowledged, `reopened at height ${acknowledged}`);
  const missing: string[] = [];
  for (let h = 1n; h <= acknowledged; h++) if ((await store.get(stateKey(h))) === undefined) missing.push(String(h));
  t.same(missing, [], 'every acknowledged height is there after the reopen');
  await commit(store, acknowledged + 1n, 100);
  t.equal(store.head()?.height, acknowledged + 1n, 'and the reopened store writes again');
});

t.test('a failing disk: EIO on the WAL, a full disk under the WAL and under LevelDB', { timeout: 480_000 }, async (t) => {
  const started = Date.now();
  const { rng } = faultRng(t);
  // Three different validators, one per kind of fault, so that each starts from an undamaged home.
  const pool = [0, 1, 2, 3];
  const [eioVictim, fullDataVictim, fullStoreVictim] = [0, 1, 2].map(() => pool.splice(rng.int(0, pool.length - 1), 1)[0]);
  const eioOrder: Array<'write' | 'fsync'> = rng.int(0, 1) === 0 ? ['write', 'fsync'] : ['fsync', 'write'];
  let trigger = '';
  let mountSkip: string | false = false;
  const mounts: Array<{ i: number; dir: string }> = [];

  const net = await startFaultNet(t, {
    prepare: async (net) => {
      trigger = join(net.dir, 'disk-fault-trigger');
      net.launch[eioVictim] = {
        env: { FAILING_DISK_DIR: join(dataDir(net, eioVictim), 'cs.wal'), FAILING_DISK_TRIGGER: trigger, FAILING_DISK_OPS: eioOrder[0] },
        execArgv: ['--import', FAILING_DISK],
      };
      if (process.getuid?.() !== 0) {
        mountSkip = 'mounting a tmpfs needs root';
        return;
      }
      for (const { i, dir } of [
        { i: fullDataVictim, dir: dataDir(net, fullDataVictim) },
        { i: fullStoreVictim, dir: join(dataDir(net, fullStoreVictim), 'state') },
      ]) {
        const why = await mountTmpfsOver(dir);
        if (why !== null) {
          mountSkip = why;
          return;
        }
        mounts.push({ i, dir });
        unmountAtTeardown(t, net, i, dir);
      }
    },
  });
  t.comment(`victims: EIO on the WAL ${net.nodes[eioVictim].name} (${eioOrder.join(' then ')}), full DATA ${net.nodes[fullDataVictim].name}, full DATA/state ${net.nodes[fullStoreVictim].name}`);
  const load = await Load.start(net, rng, 4);

  for (const [k, op] of eioOrder.entries()) {
    await t.test(`EIO on WAL ${op}`, async (t) => {
      await diskFault(
        t,
        net,
        eioVictim,
        {
          label: `EIO on WAL ${op}`,
          inject: async () => {
            await writeFile(trigger, '');
            // The preload announces its first injected error; the WAL is written many times a second under load.
            await net.current(eioVictim).waitFor((l) => l.msg === 'failing-disk: injected EIO', STOP_WITHIN_MS).catch(() => null);
          },
          heal: async () => {
            await rm(trigger, { force: true });
            // The restart (the process that gets the next fault) fails the next kind of operation.
            net.launch[eioVictim].env!.FAILING_DISK_OPS = eioOrder[k + 1] ?? op;
          },
          error: /EIO/,
          file: /cs\.wal\/wal/,
        },
        load,
        rng,
      );
      failedVictimChecks(t, net.procs[eioVictim], `EIO on WAL ${op}`);
    });
  }

  const full = (dir: string, label: string, file: RegExp): DiskFault => {
    const filler = join(dir, 'filler');
    return {
      label,
      inject: async () => {
        const bytes = fillDisk(filler);
        t.comment(`${label}: filled ${dir} with ${bytes} bytes`);
      },
      heal: async () => {
        await rm(filler, { force: true });
        t.comment(`${label}: filler deleted, ${execFileSync('df', ['-h', '--output=used,avail', dir], { encoding: 'utf8' }).split('\n')[1]?.trim()} used/avail`);
      },
      error: /ENOSPC|No space left on device/i,
      file,
    };
  };
  await t.test('ENOSPC: a full disk under DATA (WAL, signer state, LevelDB)', { skip: mountSkip }, async (t) => {
    const m = mounts.find((m) => m.i === fullDataVictim)!;
    await diskFault(t, net, fullDataVictim, full(m.dir, 'full DATA', /\/data\//), load, rng);
    failedVictimChecks(t, net.procs[fullDataVictim], 'full DATA');
  });
  await t.test('ENOSPC: a full disk under DATA/state (LevelDB only)', { skip: mountSkip }, async (t) => {
    const m = mounts.find((m) => m.i === fullStoreVictim)!;
    await diskFault(t, net, fullStoreVictim, full(m.dir, 'full DATA/state', /\/data\/state/), load, rng);
    failedVictimChecks(t, net.procs[fullStoreVictim], 'full DATA/state');
  });

  await load.stop();
  await checkInvariants(t, net, { label: 'end of the disk test', load });
  t.comment(`load: ${load.seen.length} transfers committed, ${load.failures} failed attempts; wall time ${secs(Date.now() - started)}`);
});
