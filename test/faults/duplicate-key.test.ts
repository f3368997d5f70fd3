// Fault injection: a duplicate-key validator. Under load, a fifth process starts with a copy of one validator's key
// (its own node key and a fresh double-sign guard), so the key signs twice at some height. This is also the negative
// control of the checker: its "no conflicting votes" check must fail on this devnet (a checker that cannot fail
// proves nothing), while every other invariant still holds. Then evidence and slashing must have followed: a
// double_sign slash of exactly that validator, tombstoned, out of the validator set two heights later, and the chain
// goes on with the other three. Random choices from FAULT_SEED.
import t from 'tap';
import { copyFile } from 'node:fs/promises';
import { homePaths } from '../../src/node/config.ts';
import { Load, checkInvariants, faultRng, findViolations, startFaultNet } from '../helpers/faults.ts';
import { pollUntil } from '../helpers/proc.ts';

const VALIDATORS = 4;
const TWIN = VALIDATORS; // the full node after the validators

t.test('a duplicate-key validator: the checker sees it, evidence and slashing follow, no fork', { timeout: 300_000 }, async (t) => {
  const { rng } = faultRng(t);
  const victim = rng.int(0, VALIDATORS - 1);
  const net = await startFaultNet(t, {
    fullNodes: 1,
    hold: [TWIN],
    prepare: async (net) => {
      await copyFile(homePaths(net.nodes[victim].home).privValidatorKeyFile, homePaths(net.nodes[TWIN].home).privValidatorKeyFile);
    },
  });
  const victimAddr = (await net.rpc[victim].status()).validator_info.address.toUpperCase();
  const load = await Load.start(net, rng, 4);

  // Before the twin: the checker finds nothing (so what it finds next is the twin's doing).
  const clean = await findViolations(net, { label: 'before the twin', load });
  t.same(Object.values(clean.violations).flat(), [], `before the twin: no violation of any invariant (heights 1..${clean.H})`);

  const startedAt = await net.maxHeight();
  net.start(TWIN);
  t.comment(`${net.nodes[TWIN].name} started with ${net.nodes[victim].name}'s validator key at height ~${startedAt}`);

  // Evidence and slashing follow.
  const query = `slash.kind = 'double_sign' AND slash.validator = '${victimAddr}'`;
  const found = await pollUntil('a double_sign slash of the duplicated key', 120_000, async () => {
    const r = await net.rpc[0].blockSearch(query, { orderBy: 'asc' });
    return Number(r.total_count) > 0 ? r : undefined;
  }, () => net.exited());
  const S = BigInt(found.blocks[0].block.header.height);
  const evidence = (found.blocks[0].block.evidence.evidence ?? []) as Array<{ value: { vote_a: { validator_address: string; height: string } } }>;
  t.ok(evidence.some((e) => e.value.vote_a.validator_address.toUpperCase() === victimAddr), `block ${S} carries duplicate-vote evidence against ${net.nodes[victim].name}`);
  const infraction = BigInt(evidence[0].value.vote_a.height);
  t.ok(infraction >= startedAt && infraction < S, `the double vote (height ${infraction}) was after the twin started (~${startedAt}) and before the slash (${S})`);
  const results = await net.rpc[0].blockResults(S);
  const slash = (results.finalize_block_events ?? []).find((e) => e.type === 'slash' && e.attributes.some((a) => a.key === 'validator' && a.value.toUpperCase() === victimAddr));
  t.equal(slash?.attributes.find((a) => a.key === 'tombstoned')?.value, 'true', 'the slash tombstones the validator');

  await net.waitAll(S + 3n, 60_000, 'the chain going on after the slash');
  const after = await net.rpc[0].validators(S + 2n);
  t.equal(after.total, String(VALIDATORS - 1), `validators at height ${S + 2n}: ${after.total}`);
  t.notOk(after.validators.some((v) => v.address.toUpperCase() === victimAddr), `${net.nodes[victim].name}'s key is out of the set from height ${S + 2n}`);

  // The negative control: the no-conflicting-votes check fails, and only it.
  await load.stop();
  const report = await findViolations(net, { label: 'duplicate key', load });
  // Both halves of the check fire on their own: the evidence found in the blocks, and the slash found by the index.
  const cv = report.violations.conflictingVotes;
  t.ok(cv.some((v) => v.startsWith(`evidence in block ${S}:`)), `the checker's block scan reports the evidence in block ${S}: ${cv.find((v) => v.startsWith('evidence'))?.slice(0, 120)}`);
  t.ok(cv.some((v) => /block\(s\) with a double_sign slash$/.test(v)), `the checker's slash search reports the slash (${cv.length} finding(s) in all)`);
  const { conflictingVotes: _expected, ...rest } = report.violations;
  t.same(Object.values(rest).flat(), [], 'every other invariant holds (no fork across the five processes, app hashes, committed txs)');

  // And the checker run as the other fault tests run it, with duplicate votes allowed.
  await checkInvariants(t, net, { label: 'after the duplicate key', load, allowDuplicateVotes: true });
});
