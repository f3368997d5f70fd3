// Fault injection: SIGSTOP a validator for longer than a few rounds (the other three go on), SIGCONT it (it catches
// up); then SIGSTOP one while another is stopped: with 2 of 4 stopped the chain halts without forking, and resumes
// once they continue. The invariant checker after each fault. Random choices from FAULT_SEED.
import t from 'tap';
import { Load, checkInvariants, faultRng, sleep, startFaultNet } from '../helpers/faults.ts';

t.test('SIGSTOP/SIGCONT validators: one, then two at once', { timeout: 300_000 }, async (t) => {
  const { rng } = faultRng(t);
  const net = await startFaultNet(t);
  const load = await Load.start(net, rng, 4);

  // One validator paused ~15 s (a round takes ~1-3 s on loopback): the others keep committing.
  const a = rng.int(0, 3);
  const h1 = await net.maxHeight();
  net.pause(a);
  t.comment(`${net.nodes[a].name} stopped at height ~${h1}`);
  await net.waitAll(h1 + 4n, 30_000, 'three validators committing with one stopped');
  await sleep(rng.int(8_000, 15_000));
  net.resume(a);
  const t1 = Date.now();
  await net.waitAll((await net.maxHeight()) + 1n, 60_000, `${net.nodes[a].name} caught up after SIGCONT`);
  t.comment(`${net.nodes[a].name} caught up ${Date.now() - t1} ms after SIGCONT`);
  await checkInvariants(t, net, { label: 'after one SIGSTOP', load });

  // A pauses again, then B: two of four stopped, the chain must halt.
  const b = (a + rng.int(1, 3)) % 4;
  net.pause(a);
  await sleep(rng.int(2_000, 5_000));
  net.pause(b);
  t.comment(`${net.nodes[a].name} and ${net.nodes[b].name} stopped`);
  await sleep(2_000); // the height in flight may still commit
  const live = net.running();
  const halted = await net.heights(live);
  await sleep(10_000);
  const after = await net.heights(live);
  t.same(after, halted, `with 2 of 4 stopped the chain halts (heights ${halted.join(', ')} after 10 s)`);
  net.resume(a);
  net.resume(b);
  const resumed = Date.now();
  const hh = halted.reduce((m, h) => (h > m ? h : m));
  await net.waitAll(hh + 1n, 60_000, 'the chain resumed after SIGCONT of both');
  t.comment(`after SIGCONT of both: every node past height ${hh} in ${Date.now() - resumed} ms`);
  await net.waitAll(hh + 3n, 60_000, 'the chain resumed after SIGCONT of both');
  await load.stop();
  await checkInvariants(t, net, { label: 'after two SIGSTOPs', load });
});
