// End to end on loopback: 4 validator processes from createDevnet, connected by the libp2p transport and consensus
// gossip. They commit the same block at every height; with one SIGKILLed the other three go on; with two SIGKILLed the
// chain halts without forking and resumes once they are back; block sync brings back a validator that missed many
// heights, a full node that joins late, and one whose data directory was wiped. Every test kills its processes in
// teardown.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { homePaths } from '../../src/node/config.ts';
import { sampleValue } from '../../src/node/metrics.ts';
import { createDevnet, type DevnetNode } from '../../src/node/devnet.ts';
import { NodeProcess, commitLogForks, type LogLine } from '../helpers/proc.ts';
import { freeBasePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const VALIDATORS = 4;

interface Net {
  nodes: DevnetNode[];
  /** Every process ever started for node i (restarts append). */
  procs: NodeProcess[][];
  start(i: number): NodeProcess;
  current(i: number): NodeProcess;
}

async function devnet(t: Test, fullNodes = 0): Promise<Net> {
  const dir = tempDir('ac-devnet-e2e-');
  const nodes = await createDevnet({ validators: VALIDATORS, fullNodes, dir: join(dir.path, 'net'), basePort: await freeBasePort(VALIDATORS + fullNodes) });
  const procs: NodeProcess[][] = nodes.map(() => []);
  t.teardown(async () => {
    await Promise.all(procs.flat().map((p) => p.kill('SIGKILL')));
    dir.remove();
  });
  const net: Net = {
    nodes,
    procs,
    start(i) {
      const p = new NodeProcess(['start', '--home', nodes[i].home]);
      procs[i].push(p);
      return p;
    },
    current: (i) => procs[i][procs[i].length - 1],
  };
  return net;
}

const committed = (min: bigint) => (l: LogLine) => l.msg === 'committed block' && BigInt(l.height as string) >= min;

/** Every height seen by any process of the net has exactly one block hash; returns how many heights were compared. */
function checkNoFork(t: Test, net: Net): number {
  const { forks, byHeight } = commitLogForks(net.procs.flat());
  t.same(forks, [], `one block hash per height across every node and restart (${byHeight.size} heights)`);
  return byHeight.size;
}

/** Heights committed by every process in `ps`, with the same hash everywhere. */
function commonHeights(ps: NodeProcess[]): bigint[] {
  const maps = ps.map((p) => new Map(p.commits().map((c) => [c.height, c.hash])));
  return [...maps[0].keys()].filter((h) => maps.every((m) => m.get(h) === maps[0].get(h))).sort((a, b) => (a < b ? -1 : 1));
}

t.test('4 validators commit identical blocks; with one SIGKILLed the other three keep committing', { timeout: 60_000 }, async (t) => {
  const net = await devnet(t);
  const ps = net.nodes.map((_, i) => net.start(i));
  await Promise.all(ps.map((p) => p.waitFor(committed(4n), 30_000)));
  const common = commonHeights(ps);
  t.ok(common.length >= 4 && common[0] === 1n, `heights 1..${common[common.length - 1]} committed by all four with the same hash`);
  const peers = ps.map((p) => new Set(p.lines.filter((l) => l.msg === 'peer connected').map((l) => l.peer)).size);
  t.same(peers, [3, 3, 3, 3], 'each node connected to the three others');
  const info = (await (await fetch(`${net.nodes[0].rpc}/net_info`)).json()) as { result: { n_peers: string; peers: Array<{ node_info: { id: string }; remote_ip: string }> } };
  t.equal(info.result.n_peers, '3', 'net_info lists the three peers');
  t.ok(info.result.peers.every((p) => /^[0-9a-f]{40}$/.test(p.node_info.id) && p.remote_ip === '127.0.0.1'), 'with CometBFT-style node ids and their IPs');

  const metrics = await (await fetch(`${net.nodes[0].rpc}/metrics`)).text();
  t.ok((sampleValue(metrics, 'agentcluster_height') ?? 0) >= 4, 'GET /metrics on the RPC port: agentcluster_height');
  t.equal(sampleValue(metrics, 'agentcluster_peers'), 3, 'agentcluster_peers');
  t.ok((sampleValue(metrics, 'agentcluster_votes_received_total') ?? 0) > 0, 'agentcluster_votes_received_total counts peer votes');
  t.ok(/agentcluster_wal_fsync_seconds_count\S* [1-9]/.test(metrics), 'agentcluster_wal_fsync_seconds observed');
  t.ok((sampleValue(metrics, 'process_resident_memory_bytes') ?? 0) > 0, 'process metrics');

  // Block interval seen by node0 over its first heights (timestamps of its own commit log lines).
  const times = ps[0].lines.filter((l) => l.msg === 'committed block').map((l) => Number(l.time));
  const interval = (times[times.length - 1] - times[0]) / (times.length - 1);
  t.comment(`block interval with 4 validators: ${interval.toFixed(0)} ms over ${times.length - 1} blocks`);
  t.ok(interval < 2500, `blocks about every second (${interval.toFixed(0)} ms)`);

  const killedAt = ps[3].head();
  await ps[3].kill('SIGKILL');
  const target = killedAt + 4n;
  await Promise.all(ps.slice(0, 3).map((p) => p.waitFor(committed(target), 30_000)));
  t.pass(`three validators (75% of the power) went on from height ${killedAt} to ${target}`);
  checkNoFork(t, net);
});

t.test('two SIGKILLed: the chain halts without forking, then resumes and the restarted nodes catch up', { timeout: 75_000 }, async (t) => {
  const net = await devnet(t);
  const ps = net.nodes.map((_, i) => net.start(i));
  await Promise.all(ps.map((p) => p.waitFor(committed(3n), 30_000)));
  await Promise.all([ps[2].kill('SIGKILL'), ps[3].kill('SIGKILL')]);
  // The height in flight may still commit (its precommits may be out already); after that, nothing can.
  await new Promise((r) => setTimeout(r, 1500));
  const halted = [ps[0].head(), ps[1].head()];
  await new Promise((r) => setTimeout(r, 4000));
  t.same([ps[0].head(), ps[1].head()], halted, `halted at height ${halted[0]}: 2 of 4 validators (50% of the power) commit nothing in 4 s`);
  const haltHeight = halted[0] > halted[1] ? halted[0] : halted[1];

  // A halted chain leaves the restarted nodes at most one height behind, so consensus gossip (the previous height's
  // messages to a peer one height behind, then the current one) is all they need to catch up.
  const restarted = [net.start(2), net.start(3)];
  const target = haltHeight + 3n;
  await Promise.all([ps[0], ps[1], ...restarted].map((p) => p.waitFor(committed(target), 45_000)));
  t.pass(`all four committed past the halt, up to height ${target}`);
  const common = commonHeights([ps[0], ps[1], ...restarted]);
  t.ok(common.includes(haltHeight + 1n) && common.includes(target), 'the restarted nodes committed the same blocks as the survivors after the halt');
  checkNoFork(t, net);
});

t.test('block sync: a validator down for many heights catches up and votes again; a full node joins, follows, and resyncs from an empty data directory', { timeout: 150_000 }, async (t) => {
  const net = await devnet(t, 1);
  const full = VALIDATORS; // index of full0
  const ps = [0, 1, 2, 3].map((i) => net.start(i));
  await Promise.all(ps.map((p) => p.waitFor(committed(2n), 30_000)));
  await ps[3].kill('SIGKILL');
  const downAt = ps[3].head();
  await Promise.all(ps.slice(0, 3).map((p) => p.waitFor(committed(downAt + 8n), 40_000)));

  // Consensus gossip only carries the current and previous height: eight heights behind needs block sync.
  const back = net.start(3);
  const target = ps[0].head() + 2n;
  await back.waitFor(committed(target), 45_000);
  t.ok(back.lines.some((l) => l.msg === 'block sync caught up' || l.msg === 'caught up: consensus resumes'), 'the restarted validator caught up through block sync');
  t.pass(`the restarted validator went from height ${downAt} to ${target}`);

  // A fifth node, not a validator, joins from genesis and follows the chain.
  const follower = net.start(full);
  await follower.waitFor(committed(ps[0].head() + 2n), 45_000);
  t.pass('a non-validator node joined at genesis, synced, and follows');

  // The restarted validator votes again: the chain survives losing another validator now.
  await ps[2].kill('SIGKILL');
  const after = ps[0].head() + 3n;
  await Promise.all([ps[0], ps[1], back, follower].map((p) => p.waitFor(committed(after), 40_000)));
  t.pass(`with it back, three validators commit again after another one died (height ${after}), and the full node follows`);

  // The full node restarted with an empty data directory syncs to the tip again.
  await follower.kill('SIGKILL');
  await rm(homePaths(net.nodes[full].home).dataDir, { recursive: true, force: true });
  const wiped = net.start(full);
  await wiped.waitFor(committed(ps[0].head() + 2n), 45_000);
  t.ok(wiped.head() > after, `restarted with an empty data directory, the full node synced to ${wiped.head()}`);
  const wipedHeights = wiped.commits().map((c) => c.height);
  t.equal(wipedHeights[0], 1n, 'from height 1');
  checkNoFork(t, net);
});
