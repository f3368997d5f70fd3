// Fault injection: network partitions. Every p2p link of a 4-validator devnet runs through an in-test TCP proxy
// (test/helpers/link-proxy.ts) that can cut it. Phases, under a transfer load, with the invariant checker after each:
//   a. one validator isolated for 10-20 s: the other three go on, it stays behind; healed, it catches up;
//   b. an even split {2}|{2}: the chain halts; healed, it resumes;
//   c. overlapping faults: one validator isolated and one of the majority SIGKILLed: halt; the killed one restarted:
//      the three connected validators resume without the isolated one; healed, that one catches up;
//   d. flaky links: a random link cut for 0.5-2 s every 1-2 s for 20 s: the chain keeps committing.
// Isolation is checked on the nodes themselves (RPC net_info) and on the proxies. Random choices from FAULT_SEED.
import t from 'tap';
import type { Test } from 'tap';
import { Load, checkInvariants, faultRng, sleep, startFaultNet, type FaultNet } from '../helpers/faults.ts';
import { pollUntil } from '../helpers/proc.ts';
import { LinkProxies } from '../helpers/link-proxy.ts';

const maxOf = (hs: bigint[]) => hs.reduce((m, h) => (h > m ? h : m), 0n);

/** Each running node's p2p peers per its own RPC net_info: node index and the proxy link the connection runs through. */
async function peerViews(net: FaultNet, links: LinkProxies, ids: string[]): Promise<Map<number, Array<{ peer: number; via: { from: number; to: number } | null; addr: string }>>> {
  const out = new Map<number, Array<{ peer: number; via: { from: number; to: number } | null; addr: string }>>();
  for (const i of net.running()) {
    const info = await net.rpc[i].netInfo();
    out.set(
      i,
      info.peers.map((p) => ({ peer: ids.indexOf(p.node_info.id), via: links.linkOf(i, p.node_info.listen_addr), addr: p.node_info.listen_addr })),
    );
  }
  return out;
}

/** What is wrong with the nodes' view of the network: a peer across a cut, an unknown peer, a connection bypassing the proxies. */
function badPeers(views: Awaited<ReturnType<typeof peerViews>>, links: LinkProxies, names: string[]): string[] {
  const bad: string[] = [];
  for (const [i, peers] of views) {
    for (const p of peers) {
      if (p.peer < 0) bad.push(`${names[i]}: unknown peer at ${p.addr}`);
      else if (!links.isOpen(i, p.peer)) bad.push(`${names[i]}: connected to ${names[p.peer]} across a cut (${p.addr})`);
      if (p.via === null) bad.push(`${names[i]}: connection to ${p.peer < 0 ? '?' : names[p.peer]} at ${p.addr} bypasses the proxies`);
    }
  }
  return bad;
}

const describe = (views: Awaited<ReturnType<typeof peerViews>>, names: string[]) =>
  [...views].map(([i, ps]) => `${names[i]}:[${ps.map((p) => (p.peer < 0 ? '?' : names[p.peer])).join(',')}]`).join(' ');

/**
 * Asserts the partition is real as the nodes see it: within 5 s no running node lists a peer across a cut (net_info),
 * every listed connection runs through a proxy, and no proxied connection crosses a cut.
 */
async function assertCut(t: Test, net: FaultNet, links: LinkProxies, ids: string[], label: string): Promise<void> {
  const names = net.nodes.map((n) => n.name);
  let last: string[] = [];
  let views: Awaited<ReturnType<typeof peerViews>> = new Map();
  const deadline = Date.now() + 5_000;
  for (;;) {
    views = await peerViews(net, links, ids);
    last = badPeers(views, links, names);
    if (last.length === 0 || Date.now() > deadline) break;
    await sleep(200);
  }
  t.same(last, [], `${label}: net_info on every running node lists no peer across the cut, all via the proxies (${describe(views, names)})`);
  t.equal(links.liveAcrossCuts(), 0, `${label}: no live proxied connection crosses the cut`);
}

/**
 * Waits until every node lists every other as a peer (net_info), each connection through a proxy; asserts it and
 * returns the ms it took. After a heal this is the nodes' redial schedule (backoff up to p2p redialMaxMs, 10 s).
 */
async function fullMesh(t: Test, net: FaultNet, links: LinkProxies, ids: string[], label: string, ms: number): Promise<number> {
  const names = net.nodes.map((n) => n.name);
  const t0 = Date.now();
  const views = await pollUntil(
    `${label}: a full mesh through the proxies`,
    ms,
    async () => {
      const v = await peerViews(net, links, ids);
      const full = [...v.values()].every((ps) => new Set(ps.map((p) => p.peer)).size === net.nodes.length - 1);
      return full && badPeers(v, links, names).length === 0 ? v : undefined;
    },
    () => net.exited(),
  );
  const took = Date.now() - t0;
  t.pass(`${label}: full mesh after ${took} ms, every p2p connection through a proxy: ${describe(views, names)}; proxies ${JSON.stringify(links.counts())}`);
  return took;
}

t.test('network partitions: minority, even split, isolation + kill, flaky links', { timeout: 360_000 }, async (t) => {
  const started = Date.now();
  const { rng } = faultRng(t);
  let links!: LinkProxies;
  const net = await startFaultNet(t, {
    prepare: async (n) => {
      links = await LinkProxies.install(t, n);
    },
  });
  const N = net.nodes.length;
  const all = [...Array(N).keys()];
  const names = net.nodes.map((n) => n.name);
  const ids = await Promise.all(all.map(async (i) => (await net.rpc[i].status()).node_info.id));

  // Before any fault: a full mesh, every connection through a proxy (nothing dials a node's real port).
  await fullMesh(t, net, links, ids, 'before any fault', 30_000);
  const load = await Load.start(net, rng, 4);

  // a. Minority partition: one validator alone; the three others are 3/4 of the power and keep committing.
  {
    const x = rng.int(0, N - 1);
    const rest = all.filter((i) => i !== x);
    const ms = rng.int(10_000, 20_000);
    const hx = await net.height(x);
    const hRest = maxOf(await net.heights(rest));
    const refusedBefore = links.counts().refused;
    links.isolate(x);
    t.comment(`a. ${names[x]} isolated at height ${hx} (others at ${hRest}) for ${ms} ms`);
    await assertCut(t, net, links, ids, `a. ${names[x]} isolated`);
    await sleep(ms);
    await assertCut(t, net, links, ids, `a. ${names[x]} still isolated after ${ms} ms`);
    const [hxNow, restNow] = [await net.height(x), await net.heights(rest)];
    t.ok(restNow.every((h) => h >= hRest + 3n), `a. the other three kept committing: ${hRest} -> ${restNow.join(', ')}`);
    t.ok(hxNow <= hx + 1n, `a. the isolated ${names[x]} committed nothing past ${hx} (+1 in flight): at ${hxNow}`);
    t.ok(links.counts().refused > refusedBefore, `a. the nodes kept redialing across the cut and were refused (${links.counts().refused - refusedBefore} times)`);
    const target = maxOf(restNow);
    links.heal();
    const caughtUp = await net.waitAll(target, 60_000, `${names[x]} caught up after the heal`, [x]);
    t.comment(`a. healed: ${names[x]} from ${hxNow} to ${target} in ${caughtUp} ms`);
    await fullMesh(t, net, links, ids, 'a. healed', 30_000);
    await checkInvariants(t, net, { label: 'a. after the minority partition', load });
  }

  // b. Even split: no side has 2/3 of the power, so nobody commits; healed, the chain resumes.
  {
    const a = rng.int(0, N - 1);
    const b = (a + rng.int(1, N - 1)) % N;
    const left = [a, b].sort((p, q) => p - q);
    const right = all.filter((i) => !left.includes(i));
    links.partition([left, right]);
    const split = `{${left.map((i) => names[i]).join(',')}}|{${right.map((i) => names[i]).join(',')}}`;
    await assertCut(t, net, links, ids, `b. ${split}`);
    await sleep(2_000); // a height whose precommits were already out may still commit
    const halted = await net.heights(all);
    await sleep(10_000);
    const after = await net.heights(all);
    t.same(after, halted, `b. split ${split}: the chain halts (heights ${halted.join(', ')} unchanged for 10 s)`);
    await assertCut(t, net, links, ids, `b. ${split} after 10 s`);
    const hh = maxOf(halted);
    links.heal();
    const resumed = await net.waitAll(hh + 1n, 60_000, `every node past the halt height ${hh} after the heal`, all);
    t.comment(`b. healed ${split}: every node past the halt height ${hh} in ${resumed} ms`);
    await fullMesh(t, net, links, ids, 'b. healed', 30_000);
    await checkInvariants(t, net, { label: 'b. after the even split', load });
  }

  // c. Overlapping faults: x isolated, then k of the majority killed: 2 connected live validators, the chain halts.
  //    k restarted: the 3 connected validators resume without healing. Then heal: x catches up.
  {
    const x = rng.int(0, N - 1);
    const majority = all.filter((i) => i !== x);
    const k = majority[rng.int(0, majority.length - 1)];
    const hx = await net.height(x);
    links.isolate(x);
    await assertCut(t, net, links, ids, `c. ${names[x]} isolated`);
    await net.waitAll(maxOf(await net.heights(majority)) + 1n, 30_000, 'c. the majority committing with one isolated', majority);
    await net.kill(k);
    t.comment(`c. ${names[x]} isolated at height ${hx}, ${names[k]} SIGKILLed`);
    await sleep(2_000);
    const live = net.running();
    const halted = await net.heights(live);
    await sleep(10_000);
    const after = await net.heights(live);
    t.same(after, halted, `c. isolated + killed: the chain halts (${live.map((i, n) => `${names[i]} ${halted[n]}`).join(', ')} unchanged for 10 s)`);
    const hh = maxOf(halted.filter((_, n) => live[n] !== x));
    net.start(k);
    const resumed = await net.waitAll(hh + 1n, 60_000, `c. the connected three past ${hh} after restarting ${names[k]}`, majority);
    t.comment(`c. ${names[k]} restarted: the connected three past the halt height ${hh} in ${resumed} ms`);
    await net.waitAll(hh + 3n, 60_000, 'c. the connected three committing', majority);
    await assertCut(t, net, links, ids, `c. ${names[x]} still isolated (${names[k]} restarted)`);
    const hxNow = await net.height(x);
    t.ok(hxNow <= hx + 1n, `c. the isolated ${names[x]} committed nothing past ${hx} (+1 in flight): at ${hxNow}`);
    const target = maxOf(await net.heights(majority));
    links.heal();
    const caughtUp = await net.waitAll(target, 60_000, `${names[x]} caught up after the heal`, [x]);
    t.comment(`c. healed: ${names[x]} from ${hxNow} to ${target} in ${caughtUp} ms`);
    await fullMesh(t, net, links, ids, 'c. healed', 30_000);
    await checkInvariants(t, net, { label: 'c. after isolation + kill', load });
  }

  // d. Flaky links: every 1-2 s one random link is cut for 0.5-2 s (at most ~2 down at once: every node keeps a path
  //    to every other through a third, and consensus gossip relays votes), for 20 s. The chain keeps committing.
  {
    const h0 = maxOf(await net.heights(all));
    const end = Date.now() + 20_000;
    const pending: Promise<void>[] = [];
    let cuts = 0;
    const down = new Set<string>();
    while (Date.now() < end) {
      const i = rng.int(0, N - 1);
      const j = (i + rng.int(1, N - 1)) % N;
      const ms = rng.int(500, 2_000);
      const pair = `${Math.min(i, j)}-${Math.max(i, j)}`;
      // A link already down stays on its own schedule (its restore must not come early).
      if (!down.has(pair)) {
        down.add(pair);
        links.cut(i, j);
        cuts++;
        pending.push(
          sleep(ms).then(() => {
            links.restore(i, j);
            down.delete(pair);
          }),
        );
      }
      await sleep(rng.int(1_000, 2_000));
    }
    await Promise.all(pending);
    const h1s = await net.heights(all);
    t.comment(`d. ${cuts} link cuts in 20 s; heights ${h0} -> ${h1s.join(', ')}; proxies ${JSON.stringify(links.counts())}`);
    t.ok(maxOf(h1s) >= h0 + 5n, `d. the chain kept committing through ${cuts} link cuts: ${h0} -> ${maxOf(h1s)}`);
    links.heal();
    await fullMesh(t, net, links, ids, 'd. links restored', 30_000);
  }

  await load.stop();
  await checkInvariants(t, net, { label: 'd. after flaky links (final)', load });
  t.comment(`wall time ${((Date.now() - started) / 1000).toFixed(1)} s; load committed ${load.seen.length} txs (${load.failures} failed submissions retried)`);
});
