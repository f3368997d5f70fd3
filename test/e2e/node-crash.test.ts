// A single validator killed with SIGKILL at random moments, 8 times (CRASH_KILLS=n for more: `npm run test:soak`). After every kill: the signer state refuses a
// conflicting signature for the last thing it signed (checked by trying); after every restart the chain continues.
// At the end: one block hash per height across all runs, every stored commit verifies, the hash chain links up.
import t from 'tap';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { runCli } from '../../src/cli/index.ts';
import { homePaths } from '../../src/node/config.ts';
import { keyFileFromJSON } from '../../src/crypto/keys.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { PrivValidator } from '../../src/consensus/signer.ts';
import { BlockCodec, CommitCodec, VoteType } from '../../src/codec/types.ts';
import { loadGenesisFile } from '../../src/state/genesis.ts';
import { App } from '../../src/state/app.ts';
import { blockIdOf, verifyCommit } from '../../src/consensus/block.ts';
import { decodeValidatorSet } from '../../src/consensus/host.ts';
import { equalBlockId } from '../../src/consensus/block-id.ts';
import { NodeProcess } from '../helpers/proc.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Rng } from '../helpers/rng.ts';

const KILLS = Number(process.env.CRASH_KILLS ?? 8);
const quiet = { stdout: { write: () => true }, stderr: { write: () => true } };

t.test('SIGKILL at random moments: same chain, no conflicting signature, ever', { timeout: 60_000 + KILLS * 8_000 }, async (t) => {
  const dir = tempDir('ac-crash-');
  t.teardown(dir.remove);
  const home = join(dir.path, 'node');
  t.equal(await runCli(['init', '--home', home, '--chain-id', 'crash-test'], quiet), 0);
  await p2pOnFreePort(home);
  const paths = homePaths(home);
  const key = keyFileFromJSON(JSON.parse(await readFile(paths.privValidatorKeyFile, 'utf8')));
  const seen = new Map<bigint, string>();
  const rng = new Rng(20261125);
  let lastMax = 0n;
  let conflictChecks = 0;

  const record = (p: NodeProcess) => {
    for (const c of p.commits()) {
      const prev = seen.get(c.height);
      if (prev !== undefined && prev !== c.hash) t.fail(`height ${c.height}: hash ${c.hash} after ${prev}: fork across restarts`);
      seen.set(c.height, c.hash);
    }
  };

  for (let i = 0; i < KILLS; i++) {
    const p = new NodeProcess(['start', '--home', home]);
    // Wait until it commits past the previous maximum, then kill it somewhere in the next ~1.5 s.
    await p.waitFor((l) => l.msg === 'committed block' && BigInt(l.height as string) > lastMax, 30_000);
    await new Promise((r) => setTimeout(r, rng.int(0, 1500)));
    await p.kill('SIGKILL');
    record(p);
    for (const c of p.commits()) if (c.height > lastMax) lastMax = c.height;

    // The guard on disk must refuse to sign anything conflicting with the last thing signed.
    const pv = await PrivValidator.load(key, paths.privValidatorStateFile, 'crash-test');
    const last = pv.lastSigned();
    if (last.height > 0n) {
      const other = { hash: new Uint8Array(32).fill(0xee), partSetHeader: { total: 1, hash: new Uint8Array(32).fill(0xef) } };
      const attempt: Promise<unknown> =
        last.step === 1
          ? pv.signProposal({ type: VoteType.PROPOSAL, height: last.height, round: last.round, polRound: -1, blockId: other, timestamp: 1n, signature: new Uint8Array(0) })
          : pv.signVote({ type: last.step === 2 ? VoteType.PREVOTE : VoteType.PRECOMMIT, height: last.height, round: last.round, blockId: other, timestamp: 1n, validatorAddress: pv.address, validatorIndex: 0, signature: new Uint8Array(0) });
      await t.rejects(attempt, { code: 'BAD_KEY' }, `kill ${i + 1}: conflicting signature at ${last.height}/${last.round}/${last.step} refused`);
      conflictChecks++;
    }
  }
  t.equal(conflictChecks, KILLS, 'the guard was checked after every kill');

  // A last run, stopped cleanly.
  const p = new NodeProcess(['start', '--home', home]);
  await p.waitFor((l) => l.msg === 'committed block' && BigInt(l.height as string) > lastMax + 1n, 30_000);
  const exit = await p.kill('SIGTERM');
  t.equal(exit.code, 0, 'SIGTERM stops the node cleanly');
  t.ok(p.lines.some((l) => l.msg === 'node stopped'), 'and it says so');
  record(p);

  // The store: every height has a block whose commit verifies and whose parent link matches.
  const genesis = await loadGenesisFile(paths.genesisFile);
  const app = await App.open(join(paths.dataDir, 'state'), genesis);
  t.teardown(() => app.close());
  const head = app.head().height;
  t.ok(head >= lastMax, `the chain kept every committed height (head ${head}, max seen ${lastMax})`);
  let prevId = null;
  for (let h = 1n; h <= head; h++) {
    const bytes = (await app.store.getBlock(h))!;
    const block = BlockCodec.decode(bytes);
    const id = blockIdOf(block.header, bytes);
    const commit = CommitCodec.decode((await app.store.getCommit(h))!);
    const set = decodeValidatorSet((await app.store.getValidatorSet(h))!);
    const why = verifyCommit('crash-test', commit, set, h, id);
    if (why !== null) t.fail(`height ${h}: ${why}`);
    if (prevId !== null && !equalBlockId(block.header.lastBlockId, prevId)) t.fail(`height ${h} does not link to ${h - 1n}`);
    const logged = seen.get(h);
    if (logged !== undefined && logged !== toHex(id.hash)) t.fail(`height ${h}: stored hash differs from the one logged`);
    prevId = id;
  }
  t.ok(seen.size >= KILLS, `heights observed across runs: ${seen.size}`);
});

t.test('crash at each step of committing a height: restart recovers and continues the chain', { timeout: 120_000 }, async (t) => {
  // after_decided_saved first: the next crash (after_own_vote_wal) must still find its WAL records to replay.
  const points = ['after_decided_saved', 'after_own_vote_wal', 'after_end_height', 'after_block_committed'] as const;
  const dir = tempDir('ac-failpoint-');
  t.teardown(dir.remove);
  const home = join(dir.path, 'node');
  t.equal(await runCli(['init', '--home', home, '--chain-id', 'crash-test'], quiet), 0);
  await p2pOnFreePort(home);
  const hashes = new Map<bigint, string>();
  for (const point of points) {
    const crashing = new NodeProcess(['start', '--home', home], { AGENTCLUSTER_FAILPOINT: point });
    const exit = await crashing.exited;
    t.equal(exit.signal, 'SIGKILL', `${point}: the node crashed there`);
    const p = new NodeProcess(['start', '--home', home]);
    const start = await p.waitFor((l) => l.msg === 'consensus starting');
    if (point === 'after_decided_saved' || point === 'after_end_height') {
      await p.waitFor((l) => l.msg === 'applying a block decided before the crash');
      t.pass(`${point}: the saved decision was applied on restart`);
    }
    if (point === 'after_own_vote_wal') t.ok(Number(start.replay) > 0, `${point}: WAL records replayed (${start.replay})`);
    const before = BigInt(start.height as string);
    await p.waitFor((l) => l.msg === 'committed block' && BigInt(l.height as string) >= before + 1n);
    t.equal((await p.kill('SIGTERM')).code, 0);
    for (const c of [...crashing.commits(), ...p.commits()]) {
      const prev = hashes.get(c.height);
      if (prev !== undefined && prev !== c.hash) t.fail(`${point}: height ${c.height} changed hash across the crash`);
      hashes.set(c.height, c.hash);
    }
    t.ok(p.lines.every((l) => l.msg !== 'signer refused'), `${point}: no signature was refused on replay`);
  }
});

/** Other test files start nodes at the same time: listen for peers on a free port, not the default 26656. */
async function p2pOnFreePort(home: string): Promise<void> {
  const file = homePaths(home).configFile;
  await writeFile(file, (await readFile(file, 'utf8')).replace('/ip4/127.0.0.1/tcp/26656', '/ip4/127.0.0.1/tcp/0'));
}
