// Fault injection: clock skew between validators, and a clock stepped while a node runs. Every node process gets the
// skewed-clock preload (test/helpers/skewed-clock.ts): its Date.now is offset by what the test writes in a file.
//   1. Skew: one validator an hour ahead, another an hour behind, for ~20 s. Block time is BFT time (the weighted
//      median of the last commit's precommit timestamps), so with the two honest clocks in the middle every block time
//      stays within seconds of real time; all four nodes keep committing; the skewed timestamps are really in the
//      commits (so the fault was injected).
//   2. Steps: a third validator's clock steps back an hour while it runs, then forward again. Nothing in the node may
//      measure a duration on the wall clock (timeouts, redial backoff, gossip relay delays, rate limits), so it keeps
//      committing through both steps.
// Then the invariant checker, and block times strictly increasing and never ahead of real time. Random choices from
// FAULT_SEED.
import t from 'tap';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Load, checkInvariants, faultRng, sleep, startFaultNet, type FaultNet } from '../helpers/faults.ts';

const SKEWED_CLOCK = fileURLToPath(new URL('../helpers/skewed-clock.ts', import.meta.url));
const HOUR_MS = 3_600_000;
/** A block's time is the median precommit time of the block before: up to a block interval and a bit behind. */
const SLACK_MS = 8_000;

/** RFC 3339 with up to nanoseconds (RPC header and vote times) to ms since the epoch. */
function rfc3339Ms(s: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(s);
  if (m === null) throw new Error(`not an RFC 3339 UTC time: ${s}`);
  return Date.parse(`${m[1]}.${(m[2] ?? '0').padEnd(3, '0').slice(0, 3)}Z`);
}

/** Header times (ms) of heights from..to, from node i. */
async function blockTimes(net: FaultNet, i: number, from: bigint, to: bigint): Promise<Map<bigint, number>> {
  const out = new Map<bigint, number>();
  for (let h = from; h <= to; h++) out.set(h, rfc3339Ms((await net.rpc[i].header(h)).header.time));
  return out;
}

t.test('clock skew between validators, and clock steps on a running node', { timeout: 300_000 }, async (t) => {
  const { rng } = faultRng(t);
  const clockFiles: string[] = [];
  // Written aside and renamed over, so the preload never reads a half-written offset.
  const setClock = (i: number, offsetMs: number) => {
    writeFileSync(`${clockFiles[i]}.tmp`, String(offsetMs));
    renameSync(`${clockFiles[i]}.tmp`, clockFiles[i]);
  };
  const net = await startFaultNet(t, {
    prepare: (net) => {
      for (let i = 0; i < net.nodes.length; i++) {
        clockFiles.push(join(net.dir, `clock-offset-${i}`));
        setClock(i, 0);
        net.launch[i] = { env: { AC_FAULT_CLOCK_FILE: clockFiles[i] }, execArgv: ['--import', SKEWED_CLOCK] };
      }
    },
  });
  const load = await Load.start(net, rng, 4);
  const [ahead, behind, stepper] = rng.shuffle([0, 1, 2, 3]);
  const addressOf = async (i: number) => (await net.rpc[i].status()).validator_info.address.toUpperCase();

  // ---- 1. one validator an hour ahead, one an hour behind ----
  const h1 = await net.maxHeight();
  const realStart = Date.now();
  setClock(ahead, HOUR_MS);
  setClock(behind, -HOUR_MS);
  t.comment(`${net.nodes[ahead].name} +1 h, ${net.nodes[behind].name} -1 h from height ~${h1}`);
  await sleep(rng.int(18_000, 24_000));
  const h2 = await net.maxHeight();
  await net.waitAll(h2, 30_000, 'every node (the skewed ones too) at the height the fastest reached');
  const realEnd = Date.now();
  t.ok(h2 >= h1 + 5n, `the chain kept committing with two skewed clocks (height ${h1} to ${h2})`);

  // The skew is really in the votes. The clock ahead signs precommits an hour ahead; the clock behind cannot: a vote's
  // time is floored at the previous block's time + 1 ms (host.publishVote), so its precommits carry real-ish times.
  const [aheadAddr, behindAddr] = await Promise.all([addressOf(ahead), addressOf(behind)]);
  let aheadSeen = 0;
  const behindOffsets: number[] = [];
  for (let h = h1 + 2n; h <= h2; h++) {
    for (const s of (await net.rpc[0].commit(h)).signed_header.commit.signatures) {
      if (s.signature === null) continue;
      const off = rfc3339Ms(s.timestamp) - realEnd;
      if (s.validator_address.toUpperCase() === aheadAddr && off > HOUR_MS / 2) aheadSeen++;
      if (s.validator_address.toUpperCase() === behindAddr) behindOffsets.push(off);
    }
  }
  t.ok(aheadSeen > 0, `commits ${h1 + 2n}..${h2} carry precommits an hour ahead (${aheadSeen}), from ${net.nodes[ahead].name}`);
  t.ok(behindOffsets.length > 0 && behindOffsets.every((o) => o > realStart - realEnd - SLACK_MS && o <= 1_000), `${net.nodes[behind].name}'s ${behindOffsets.length} precommits, an hour behind by its clock, carry times floored into the phase (offsets ${Math.min(...behindOffsets)}..${Math.max(...behindOffsets)} ms from its end)`);

  // BFT time follows the honest clocks: every block of the phase is within seconds of real time.
  const times = await blockTimes(net, 0, h1 + 2n, h2);
  const off = [...times].filter(([, ms]) => ms < realStart - SLACK_MS || ms > realEnd + 1_000).map(([h, ms]) => `${h}: ${new Date(ms).toISOString()}`);
  t.same(off, [], `block times ${h1 + 2n}..${h2} within real time [${new Date(realStart).toISOString()} - ${SLACK_MS / 1000} s, ${new Date(realEnd).toISOString()}]`);
  setClock(ahead, 0);
  setClock(behind, 0);
  await checkInvariants(t, net, { label: 'after skew', load });

  // ---- 2. a running validator's clock steps back an hour, then forward again ----
  for (const [what, offset] of [['back', -HOUR_MS], ['forward', 0]] as const) {
    const before = await net.height(stepper);
    setClock(stepper, offset);
    await sleep(rng.int(12_000, 16_000));
    const top = await net.maxHeight();
    t.ok(top >= before + 4n, `the chain kept committing after ${net.nodes[stepper].name}'s clock stepped ${what} (height ${before} to ${top})`);
    await net.waitAll(top, 20_000, `${net.nodes[stepper].name} committing after its clock stepped ${what}`);
    t.pass(`${net.nodes[stepper].name} itself committed up to ${top} after its clock stepped ${what} an hour`);
  }

  await load.stop();
  const H = await checkInvariants(t, net, { label: 'after clock steps', load });

  // Over the whole run: block times strictly increase and no block is ahead of real time.
  const all = await blockTimes(net, 0, 1n, H);
  const now = Date.now();
  const bad: string[] = [];
  for (let h = 2n; h <= H; h++) {
    if (all.get(h)! <= all.get(h - 1n)!) bad.push(`${h} not after ${h - 1n}`);
    if (all.get(h)! > now) bad.push(`${h} ahead of real time`);
  }
  t.same(bad, [], `block times 1..${H} strictly increase and none is ahead of real time`);
});
