// End to end on loopback: a validator's key runs in two processes at once (node3 and a fifth node whose home got a
// copy of node3's priv_validator_key.json). Each process has its own double-sign guard, so nothing stops the pair
// from signing conflicting votes: when node3's key is the proposer each copy proposes (and prevotes) its own block,
// since each builds it from its own last commit (its own precommit in it, with its own timestamp and signature).
// Nothing is injected: the nodes' vote keepers see the two votes, report the equivocation, the evidence is gossiped
// and a proposer puts it in a block. Checked: the validator is slashed (5% of stake and agent bond, into the slash
// escrow) and tombstoned, leaves the CometBFT validator set two heights later, the other three keep committing, the
// supply adds up, and every node (both copies included) has the same block at every height.
import t, { type Test } from 'tap';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { homePaths } from '../../src/node/config.ts';
import { createDevnet, type DevnetNode } from '../../src/node/devnet.ts';
import { loadGenesisFile } from '../../src/state/genesis.ts';
import { addressOf, keyFileFromJSON } from '../../src/crypto/keys.ts';
import { fromBase64, toBase64, toHex } from '../../src/crypto/bytes.ts';
import { ValidatorCodec } from '../../src/codec/types.ts';
import { BPS } from '../../src/state/params.ts';
import { JAILED_FOREVER } from '../../src/state/validators.ts';
import { RpcClient, supplyPartsSum, type BlockResultsResult, type EventJSON } from '../../src/rpc/client.ts';
import { NodeProcess, blockMetas, commitLogForks, killedAtTeardown, pollUntil } from '../helpers/proc.ts';
import { freeBasePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const VALIDATORS = 4;
/** Index of the validator whose key is copied, and of the node that gets the copy (the full node after the four). */
const VICTIM = 3;
const TWIN = VALIDATORS;
/** From the start of the processes to the block that slashes (startup alone takes 10-20 s on two busy cores). */
const SLASH_TIMEOUT_MS = 90_000;
/** The whole test, within tap's 120 s per file. */
const TEST_TIMEOUT_MS = 115_000;

/** The fields of a vote in `block`'s DuplicateVoteEvidence JSON that the test reads. */
interface EvidenceVote {
  type: number;
  height: string;
  round: number;
  block_id: { hash: string };
  validator_address: string;
  signature: string;
}

const attr = (e: EventJSON, key: string): string | undefined => e.attributes?.find((a) => a.key === key)?.value;

t.test('one validator key in two processes: duplicate-vote evidence, slash, tombstone, no fork', { timeout: TEST_TIMEOUT_MS }, async (t: Test) => {
  const dir = tempDir('ac-devnet-double-sign-');
  const procs = killedAtTeardown(t, dir.remove);
  const nodes: DevnetNode[] = await createDevnet({ validators: VALIDATORS, fullNodes: 1, dir: join(dir.path, 'net'), basePort: await freeBasePort(VALIDATORS + 1) });

  // The fifth node keeps its own node key (its own libp2p identity) and fresh priv_validator_state.json, but signs
  // with node3's validator key.
  const victimPaths = homePaths(nodes[VICTIM].home);
  const twinPaths = homePaths(nodes[TWIN].home);
  await copyFile(victimPaths.privValidatorKeyFile, twinPaths.privValidatorKeyFile);
  const key = keyFileFromJSON(JSON.parse(await readFile(victimPaths.privValidatorKeyFile, 'utf8')));
  const victim = addressOf(key.publicKey);
  const victimHex = toHex(victim);
  t.not(await readFile(twinPaths.nodeKeyFile, 'utf8'), await readFile(victimPaths.nodeKeyFile, 'utf8'), 'the copy has a node key of its own');

  const genesis = await loadGenesisFile(victimPaths.genesisFile);
  const gv = genesis.validators.find((v) => toHex(v.address) === victimHex);
  if (gv === undefined) throw new Error('node3 is not a genesis validator');
  const others = genesis.validators.filter((v) => v !== gv).map((v) => toHex(v.address));
  const bps = genesis.appParams.slashing.severity_bps.double_sign;
  const bond = genesis.appParams.agents.bond;
  const stakeCut = (gv.stake * bps) / BPS;
  const bondCut = (bond * bps) / BPS;
  const slashed = stakeCut + bondCut;
  t.equal(bps, 500n, 'double_sign severity is 5% (500 bps) in the devnet genesis');

  for (const n of nodes) procs.push(new NodeProcess(['start', '--home', n.home]));
  const exited = () => {
    const i = procs.findIndex((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    return i < 0 ? null : `${nodes[i].name} exited; last lines: ${JSON.stringify(procs[i].lines.slice(-5))}`;
  };
  const rpc = nodes.map((n) => new RpcClient(n.rpc, { timeoutMs: 5_000 }));
  const started = Date.now();

  // ---- the slash: found by the index (every event attribute is indexed) ----
  const query = `slash.kind = 'double_sign' AND slash.validator = '${victimHex}'`;
  const found = await pollUntil(
    'a block with a double_sign slash of node3',
    SLASH_TIMEOUT_MS,
    async () => {
      const r = await rpc[0].blockSearch(query, { orderBy: 'asc' });
      return Number(r.total_count) > 0 ? r : undefined;
    },
    exited,
  );
  const S = BigInt(found.blocks[0].block.header.height);
  t.comment(`slashed in block ${S}, ${((Date.now() - started) / 1000).toFixed(1)} s after the processes started`);

  // The evidence in that block: two votes signed with node3's key for the same height, round and type, naming
  // different blocks (or a block and nil).
  const evidence = (found.blocks[0].block.evidence.evidence ?? []) as Array<{ type: string; value: { vote_a: EvidenceVote; vote_b: EvidenceVote } }>;
  const mine = evidence.filter((e) => e.value.vote_a.validator_address === victimHex);
  t.ok(mine.length >= 1, `block ${S} carries duplicate-vote evidence against node3 (${evidence.length} piece(s) of evidence in all)`);
  const ev = mine[0].value;
  t.equal(mine[0].type, 'tendermint/DuplicateVoteEvidence');
  t.equal(ev.vote_b.validator_address, victimHex, 'both votes are node3\'s');
  t.same([ev.vote_a.height, ev.vote_a.round, ev.vote_a.type], [ev.vote_b.height, ev.vote_b.round, ev.vote_b.type], 'for the same height, round and type');
  t.not(ev.vote_a.block_id.hash, ev.vote_b.block_id.hash, 'for different block ids');
  t.not(ev.vote_a.signature, ev.vote_b.signature);
  t.ok(BigInt(ev.vote_a.height) < S, `the double vote was at height ${ev.vote_a.height} (round ${ev.vote_a.round}, type ${ev.vote_a.type})`);
  const evBlock = await rpc[0].block(BigInt(ev.vote_a.height));
  const proposer = evBlock.block.header.proposer_address;
  t.comment(`block ${ev.vote_a.height} was proposed by ${proposer === victimHex ? "node3's key" : proposer}; the two votes name ${ev.vote_a.block_id.hash || 'nil'} and ${ev.vote_b.block_id.hash || 'nil'}`);
  const detectors = nodes.filter((_, i) => procs[i].lines.some((l) => l.msg === 'duplicate vote' && l.validator === victimHex)).map((n) => n.name);
  t.ok(detectors.length > 0, `the nodes' own vote keepers reported the double vote (${detectors.join(', ')})`);

  // ---- the block's events ----
  const results: BlockResultsResult = await rpc[0].blockResults(S);
  const events = results.finalize_block_events ?? [];
  const slashEvents = events.filter((e) => e.type === 'slash' && attr(e, 'kind') === 'double_sign');
  t.equal(slashEvents.length, 1, 'one double_sign slash event in the block');
  const se = slashEvents[0];
  t.equal(attr(se, 'validator'), victimHex, 'of node3');
  t.equal(attr(se, 'agent'), victimHex, 'its operator is the genesis agent of the same address');
  t.equal(attr(se, 'amount'), slashed.toString(), `amount = 5% of the stake (${stakeCut}) + 5% of the agent bond (${bondCut})`);
  t.equal(attr(se, 'tombstoned'), 'true');
  t.equal(attr(se, 'infraction_height'), ev.vote_a.height, 'infraction height = the height of the double vote');
  const powerEvent = events.find((e) => e.type === 'validator_power' && attr(e, 'validator') === victimHex);
  t.equal(powerEvent && attr(powerEvent, 'power'), '0', 'end-block of the same block takes its power to 0');
  const victimUpdate = (results.validator_updates ?? []).find((u) => JSON.stringify(u.pub_key).includes(toBase64(key.publicKey)));
  t.ok(victimUpdate !== undefined && victimUpdate.power === undefined, 'validator_updates removes it (power 0, omitted as in CometBFT)');

  // ---- the chain goes on with three validators; both copies follow ----
  const target = S + 5n;
  const left = Math.max(5_000, TEST_TIMEOUT_MS - 10_000 - (Date.now() - started));
  await Promise.all(procs.map((p) => p.waitFor((l) => l.msg === 'committed block' && BigInt(l.height as string) >= target, Math.min(30_000, left))));
  t.pass(`all five processes (the three honest validators and both copies of node3) committed up to height ${target}`);

  const before = await rpc[0].validators(S + 1n);
  t.equal(before.total, '4', `validators at height ${S + 1n}: still four (the update takes effect at height + 2)`);
  t.ok(before.validators.some((v) => v.address === victimHex), 'node3 among them');
  for (const h of [S + 2n, S + 4n]) {
    const after = await rpc[0].validators(h);
    t.same(
      after.validators.map((v) => v.address).sort(),
      [...others].sort(),
      `validators at height ${h}: the three others only`,
    );
  }
  const latest = await rpc[1].validators();
  t.equal(latest.total, '3', 'the latest validator set (asked of node1) has three');
  for (let h = S + 2n; h < target; h++) {
    const c = await rpc[2].commit(h);
    const sigs = c.signed_header.commit.signatures;
    t.same(
      sigs.map((s) => [s.validator_address, s.block_id_flag]).sort(),
      [...others].sort().map((a) => [a, 2]),
      `block ${h} is committed by the three remaining validators, all signing`,
    );
  }

  // ---- node3's records ----
  const rec = await rpc[0].validator(victimHex);
  t.equal(rec.tombstoned, true, 'validator: tombstoned');
  t.equal(rec.status, 'tombstoned', 'validator: status tombstoned');
  t.equal(rec.stake, (gv.stake - stakeCut).toString(), `validator: stake ${gv.stake} - 5% = ${gv.stake - stakeCut}`);
  t.equal(rec.power, '0', 'validator: power 0');
  t.same(
    rec.slashes.map((s) => [s.kind, s.amount, s.height]),
    [['double_sign', slashed.toString(), S.toString()]],
    'validator: one slash escrow of the whole amount',
  );
  const q = await rpc[1].abciQuery('/validator', victim);
  const raw = ValidatorCodec.decode(fromBase64(q.response.value!));
  t.same(
    { stake: raw.stake, power: raw.power, tombstoned: raw.tombstoned, jailedUntilNs: raw.jailedUntilNs },
    { stake: gv.stake - stakeCut, power: 0n, tombstoned: true, jailedUntilNs: JAILED_FOREVER },
    'abci_query /validator (node1): the same record, jailed forever',
  );
  const agent = await rpc[0].agent(victimHex);
  t.equal(agent.bond, (bond - bondCut).toString(), `agent: bond ${bond} - 5% = ${bond - bondCut}`);

  // ---- supply ----
  const supply = await rpc[0].supply();
  const stakes = genesis.validators.reduce((s, v) => s + v.stake, 0n);
  t.equal(supply.slash_escrow, slashed.toString(), 'supply: slash_escrow holds the slashed amount');
  t.equal(supply.staked, (stakes - stakeCut).toString(), 'supply: staked lost the stake cut');
  t.equal(supply.bonded, (BigInt(genesis.validators.length) * bond - bondCut).toString(), 'supply: bonded lost the bond cut');
  t.equal(supplyPartsSum(supply), BigInt(supply.total), 'supply: the parts add up to the total');

  // ---- slashed once: later copies of the evidence (if any) are ignored ----
  const all = await rpc[0].blockSearch("slash.kind = 'double_sign'");
  t.equal(all.total_count, '1', 'exactly one double_sign slash on the chain');

  // ---- no fork ----
  const { forks, byHeight } = commitLogForks(procs);
  t.same(forks, [], `commit logs: one block hash per height across the five processes (${byHeight.size} heights)`);
  const tip = procs.map((p) => p.head()).reduce((m, h) => (h < m ? h : m));
  const views = (await Promise.all(rpc.map((c) => blockMetas(c, tip)))).map((m) => new Map([...m].map(([h, v]) => [h, v.hash])));
  const differing: string[] = [];
  for (let h = 1n; h <= tip; h++) {
    const hs = new Set(views.map((v) => v.get(h)));
    if (hs.size !== 1 || hs.has(undefined)) differing.push(`${h}: ${views.map((v, i) => `${nodes[i].name}=${v.get(h)}`).join(' ')}`);
  }
  t.same(differing, [], `blockchain RPC: all five nodes report the same block hash at every height 1..${tip}`);

  // Honest gossip of the evidence and of both copies' messages is never judged invalid, and nothing broke.
  const bad = procs.flatMap((p, i) =>
    p.lines
      .filter((l) => l.level >= 50 || l.msg === 'invalid evidence from a peer' || l.msg === 'invalid proposed block')
      .map((l) => `${nodes[i].name}: ${JSON.stringify(l).slice(0, 300)}`),
  );
  t.same(bad, [], 'no error or fatal log line, no evidence or proposal judged invalid');
});
