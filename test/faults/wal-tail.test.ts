// Fault injection on a validator's consensus WAL (DATA/cs.wal/wal, format in src/consensus/wal.ts), 4-validator devnet
// under load. The validator is SIGKILLed, its WAL damaged, and it is restarted:
//   1. truncated a few bytes into the middle of the last record (a torn write): it starts, drops the torn tail, rejoins;
//   2. the last record cut short AND a bit flipped inside what is left of it (a torn write with garbage): the same;
//   3. a bit flipped in a complete last record: by design (wal.ts) a crash cannot produce this, so the node refuses
//      to start with STORE_CORRUPT naming the file and offset; after the documented remedy (move the WAL aside) it
//      starts from the block store and rejoins.
// The invariant checker after each. Which validator and which byte: FAULT_SEED.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { homePaths } from '../../src/node/config.ts';
import { WAL_HEADER_BYTES, readWal, walPath } from '../../src/consensus/wal.ts';
import { FaultNet, Load, checkInvariants, faultRng, startFaultNet } from '../helpers/faults.ts';
import type { Rng } from '../helpers/rng.ts';

const walDir = (net: FaultNet, i: number) => join(homePaths(net.nodes[i].home).dataDir, 'cs.wal');

/** Byte offsets of every frame of a WAL file. */
function frames(buf: Buffer): Array<{ off: number; len: number }> {
  const out: Array<{ off: number; len: number }> = [];
  let off = 0;
  while (off + WAL_HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32BE(off + 4);
    if (off + WAL_HEADER_BYTES + len > buf.length) break;
    out.push({ off, len });
    off += WAL_HEADER_BYTES + len;
  }
  return out;
}

type Damage = 'truncate' | 'truncate+flip' | 'flip';

async function damage(path: string, how: Damage, rng: Rng): Promise<string> {
  const buf = await readFile(path);
  const fs = frames(buf);
  if (fs.length === 0) throw new Error(`${path}: no complete frame`);
  const last = fs[fs.length - 1];
  const end = last.off + WAL_HEADER_BYTES + last.len;
  if (end !== buf.length) throw new Error(`${path}: ${buf.length - end} trailing bytes after the last frame before damage`);
  // A cut strictly inside the last record (header or payload), at least one byte short of its end.
  const cut = last.off + rng.int(1, WAL_HEADER_BYTES + last.len - 1);
  if (how === 'truncate') {
    await writeFile(path, buf.subarray(0, cut));
    return `cut at byte ${cut} of ${buf.length} (last record at ${last.off}, ${WAL_HEADER_BYTES + last.len} bytes)`;
  }
  if (how === 'truncate+flip') {
    // Flip a payload byte that survives the cut (a cut inside the payload, so the length field stays intact).
    const cutInPayload = last.off + WAL_HEADER_BYTES + rng.int(1, Math.max(1, last.len - 1));
    const out = Buffer.from(buf.subarray(0, Math.min(cutInPayload, buf.length - 1)));
    const at = rng.int(last.off + WAL_HEADER_BYTES, out.length - 1);
    out[at] ^= 1 << rng.int(0, 7);
    await writeFile(path, out);
    return `cut at byte ${out.length} of ${buf.length}, bit flipped at ${at} (last record at ${last.off}, ${WAL_HEADER_BYTES + last.len} bytes)`;
  }
  const at = rng.int(last.off + WAL_HEADER_BYTES, end - 1);
  const out = Buffer.from(buf);
  out[at] ^= 1 << rng.int(0, 7);
  await writeFile(path, out);
  return `bit flipped at byte ${at} of ${buf.length} (payload of the last record at ${last.off})`;
}

async function rejoin(t: Test, net: FaultNet, i: number, what: string, load: Load): Promise<void> {
  const target = (await net.maxHeight()) + 2n;
  await net.current(i).waitFor((l) => l.msg === 'committed block' && BigInt(l.height as string) >= target, 60_000);
  t.pass(`${what}: ${net.nodes[i].name} restarted and committed height ${target} with the others`);
  await checkInvariants(t, net, { label: `after ${what}`, load });
}

t.test('a damaged WAL tail: torn records are dropped, a bit flip is refused loudly, the node rejoins', { timeout: 400_000 }, async (t) => {
  const { rng } = faultRng(t);
  const net = await startFaultNet(t);
  const load = await Load.start(net, rng, 4);

  for (const how of ['truncate', 'truncate+flip'] as const) {
    const i = rng.int(0, 3);
    await net.waitAll((await net.maxHeight()) + 2n, 30_000);
    await net.kill(i);
    const path = walPath(walDir(net, i));
    const what = await damage(path, how, rng);
    const damaged = (await stat(path)).size;
    t.comment(`${how}: ${net.nodes[i].name}: ${what}`);
    const p = net.start(i);
    const start = await p.waitFor((l) => l.msg === 'consensus starting', 60_000);
    t.ok((await stat(path)).size >= 0, `${how}: ${net.nodes[i].name} started (replayed ${start.replay} WAL records; WAL was ${damaged} bytes)`);
    await rejoin(t, net, i, how, load);
    // The torn record was cut away before new records were appended: the file still scans (readWal throws
    // STORE_CORRUPT on a bad frame followed by more data).
    const records = await readWal(walDir(net, i));
    t.ok(records.length > 0, `${how}: the WAL scans cleanly after the restart (${records.length} records, ${(await stat(path)).size} bytes)`);
  }

  // A flipped bit in a complete record: refused with STORE_CORRUPT, then the operator's remedy.
  const i = rng.int(0, 3);
  await net.waitAll((await net.maxHeight()) + 2n, 30_000);
  await net.kill(i);
  const dir = walDir(net, i);
  const path = walPath(dir);
  const what = await damage(path, 'flip', rng);
  t.comment(`flip: ${net.nodes[i].name}: ${what}`);
  const refused = net.start(i);
  const exit = await refused.exited;
  net.state[i] = 'stopped';
  t.not(exit.code, 0, `flip: the node refuses to start (exit code ${exit.code})`);
  const text = refused.lines.map((l) => JSON.stringify(l)).join('\n');
  t.match(text, /STORE_CORRUPT|corrupt/, 'flip: and says the WAL is corrupt');
  t.match(text, /byte offset \d+/, 'flip: naming the byte offset');
  t.notOk(refused.lines.some((l) => l.msg === 'committed block'), 'flip: it committed nothing');
  await rename(path, `${path}.corrupt`);
  net.start(i);
  await rejoin(t, net, i, 'flip (WAL moved aside)', load);
  await load.stop();
  await checkInvariants(t, net, { label: 'end of WAL tail test', load });
});
