// Soak (issue 9 part 3, `npm run test:soak`): the 4-validator devnet of test/helpers/faults.ts under its transfer load
// for SOAK_MINUTES (default 30), no faults injected. Checked:
//   - RSS of every node process (VmRSS from /proc/<pid>/status) sampled every 10 s; the end value must stay within
//     the bound below of the value after a 1-minute warm-up; start / end / max are reported per node;
//   - no log line at pino level >= 50 (error, fatal) from any node;
//   - the supply invariant (`supply` RPC: the parts add up to `total`, supplyPartsSum) at every height observed: the
//     `supply` method answers for the latest committed state only, so every node is polled every ~300 ms and each new
//     height it reports is checked; the test reports how many heights were checked against how many were produced;
//   - at the end the shared checker (checkInvariants: no fork, app hashes agree, committed txs present, no evidence).
// Not part of `npm test` (package.json's tap section excludes test/faults/**).
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { Load, checkInvariants, faultRng, sleep, startFaultNet } from '../helpers/faults.ts';
import { supplyPartsSum } from '../../src/rpc/client.ts';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const WARMUP_MS = 60_000;
const SAMPLE_MS = 10_000;
// RSS bound: end <= post-warm-up + max(50%, 100 MB). A node's heap grows while caches (block store, SMT nodes,
// mempool, peer state) fill during the first minutes and V8 sizes its heap lazily, so a small absolute growth is
// normal; a leak proportional to blocks or txs over 30 minutes would exceed it. The generous absolute floor keeps a
// short run (SOAK_MINUTES=3) from failing on GC timing noise alone.
const RSS_BOUND = (base: number) => Math.max(base * 1.5, base + 100 * 1024 * 1024);

async function rssOf(pid: number): Promise<number | undefined> {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

t.test(`soak: 4 validators under load for ${MINUTES} min`, { timeout: 300_000 + MINUTES * 60_000 * 1.5 }, async (t) => {
  const t0 = Date.now();
  const { rng } = faultRng(t);
  const net = await startFaultNet(t);
  const load = await Load.start(net, rng);
  const startHeight = await net.maxHeight();

  // Supply invariant at every height each node reports.
  const checkedHeights = new Set<bigint>();
  const lastSeen = net.nodes.map(() => 0n);
  const supplyBad: string[] = [];
  let supplyChecks = 0;
  let supplyErrors = 0;
  let stopPolling = false;
  const pollers = net.nodes.map(async (n, i) => {
    while (!stopPolling) {
      try {
        const s = await net.rpc[i].supply();
        const h = BigInt(s.height);
        if (h > lastSeen[i]) {
          lastSeen[i] = h;
          supplyChecks++;
          checkedHeights.add(h);
          const sum = supplyPartsSum(s);
          if (sum !== BigInt(s.total)) supplyBad.push(`${n.name}@${h}: parts ${sum} != total ${s.total}`);
        }
      } catch {
        supplyErrors++;
      }
      await sleep(300);
    }
  });

  // RSS samples.
  const samples: Array<{ at: number; rss: (number | undefined)[] }> = [];
  const sample = async () => samples.push({ at: Date.now() - t0, rss: await Promise.all(net.nodes.map((_, i) => rssOf(net.current(i).child.pid!))) });
  await sample();
  const warmEnd = Date.now() + WARMUP_MS;
  while (Date.now() < warmEnd) await sleep(Math.min(SAMPLE_MS, warmEnd - Date.now()));
  await sample();
  const base = samples[samples.length - 1].rss;
  const baseHeight = await net.maxHeight();
  const end = Date.now() + MINUTES * 60_000;
  while (Date.now() < end) {
    await sleep(Math.min(SAMPLE_MS, Math.max(0, end - Date.now())));
    const dead = net.exited();
    if (dead !== null) t.fail(dead);
    await sample();
  }
  const last = samples[samples.length - 1].rss;
  const endHeight = await net.maxHeight();

  stopPolling = true;
  await Promise.all(pollers);
  await load.stop();

  // RSS: per node, start (post warm-up), end, max after warm-up.
  const after = samples.slice(samples.findIndex((s) => s.rss === base));
  for (let i = 0; i < net.nodes.length; i++) {
    const b = base[i];
    const e = last[i];
    const max = Math.max(...after.map((s) => s.rss[i] ?? 0));
    t.ok(b !== undefined && e !== undefined, `${net.nodes[i].name}: RSS readable`);
    if (b === undefined || e === undefined) continue;
    const line = `${net.nodes[i].name}: RSS at launch ${mb(samples[0].rss[i] ?? 0)}, after warm-up ${mb(b)}, end ${mb(e)} (${e >= b ? '+' : ''}${(((e - b) / b) * 100).toFixed(1)}%), max ${mb(max)}`;
    t.comment(line);
    t.ok(e <= RSS_BOUND(b), `${net.nodes[i].name}: end RSS ${mb(e)} within bound ${mb(RSS_BOUND(b))} of post-warm-up ${mb(b)}`);
  }
  t.comment(`${samples.length} RSS samples every ${SAMPLE_MS / 1000} s`);

  // Error logs.
  const errors = net.procs.flat().flatMap((p, k) => p.lines.filter((l) => l.level >= 50).map((l) => `proc ${k}: ${JSON.stringify(l).slice(0, 300)}`));
  const warns = net.procs.flat().reduce((n, p) => n + p.lines.filter((l) => l.level === 40).length, 0);
  const totalLines = net.procs.flat().reduce((n, p) => n + p.lines.length, 0);
  t.same(errors.slice(0, 10), [], `no log line at level >= 50 from any node (${errors.length} found; ${totalLines} lines scanned, ${warns} warn)`);

  // Supply.
  const produced = endHeight - startHeight + 1n;
  const inRange = [...checkedHeights].filter((h) => h >= startHeight && h <= endHeight).length;
  t.same(supplyBad.slice(0, 10), [], `supply parts add up to total at every observed height (${supplyChecks} checks over ${checkedHeights.size} distinct heights; ${supplyErrors} RPC errors retried)`);
  t.comment(`supply checked at ${inRange} of ${produced} heights produced in ${startHeight}..${endHeight} (union over the 4 nodes)`);
  t.ok(inRange >= Number(produced) * 0.9, `supply checked at >= 90% of heights (${inRange}/${produced})`);

  t.comment(`chain: height ${startHeight} at load start, ${baseHeight} after warm-up, ${endHeight} at end; load committed ${load.seen.length} txs (${load.failures} failed submissions retried)`);
  t.ok(endHeight > baseHeight, 'the chain kept committing');
  t.ok(load.seen.length > 0, `the load committed ${load.seen.length} transfers`);
  await checkInvariants(t, net, { label: 'after soak', load });
  t.comment(`wall time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
