import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../src/errors.ts';
import { PrivValidator, SignStep } from '../src/consensus/signer.ts';
import { EMPTY_BLOCK_ID, VoteType, type BlockID, type Proposal, type Vote } from '../src/codec/types.ts';
import { proposalSignBytes, voteSignBytes } from '../src/codec/signbytes.ts';
import { addressOf, generateKeyPair, verify } from '../src/crypto/keys.ts';
import { fromHex, toHex } from '../src/crypto/bytes.ts';
import { Rng } from './helpers/rng.ts';
import { runAndKill } from './helpers/crash-child.ts';

const CHAIN = 'signer-test-chain';
const SEED = new Uint8Array(32).fill(7);
const KEY = generateKeyPair(SEED);
const ADDRESS = addressOf(KEY.publicKey);
const P = VoteType.PREVOTE;
const C = VoteType.PRECOMMIT;

function tmp(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ac-signer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function blockId(n: number): BlockID {
  return { hash: new Uint8Array(32).fill(n), partSetHeader: { total: 1, hash: new Uint8Array(32).fill(100 + n) } };
}

function vote(height: bigint, round: number, type: number, id: BlockID, timestamp = 1_000_000n): Vote {
  return { type, height, round, blockId: id, timestamp, validatorAddress: ADDRESS, validatorIndex: 3, signature: new Uint8Array(0) };
}

function proposal(height: bigint, round: number, id: BlockID, timestamp = 1_000_000n, polRound = -1): Proposal {
  return { type: VoteType.PROPOSAL, height, round, polRound, blockId: id, timestamp, signature: new Uint8Array(0) };
}

type Msg = { kind: 'vote'; v: Vote } | { kind: 'proposal'; p: Proposal };
const V = (v: Vote): Msg => ({ kind: 'vote', v });
const PR = (p: Proposal): Msg => ({ kind: 'proposal', p });

async function signMsg(pv: PrivValidator, m: Msg): Promise<{ signature: Uint8Array; timestamp: bigint; signBytes: Uint8Array }> {
  if (m.kind === 'vote') {
    const v = await pv.signVote(m.v);
    return { signature: v.signature, timestamp: v.timestamp, signBytes: voteSignBytes(CHAIN, v) };
  }
  const p = await pv.signProposal(m.p);
  return { signature: p.signature, timestamp: p.timestamp, signBytes: proposalSignBytes(CHAIN, p) };
}

function isRefusal(err: unknown): boolean {
  return err instanceof AppError && err.code === 'BAD_KEY' && /^refusing to sign/.test(err.message);
}

t.test('a missing state file is the zero state, written 0600 in CometBFT layout', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'data', 'priv_validator_state.json');
  const pv = await PrivValidator.load(KEY, path, CHAIN);
  t.same(pv.lastSigned(), { height: 0n, round: 0, step: 0 });
  t.same(JSON.parse(await readFile(path, 'utf8')), { height: '0', round: 0, step: 0, signature: '', signbytes: '' });
  t.equal((await stat(path)).mode & 0o777, 0o600, 'mode 0600');
  t.same(pv.publicKey, KEY.publicKey);
  t.same(pv.address, ADDRESS);

  await pv.signVote(vote(1n, 0, P, blockId(1)));
  t.equal((await stat(path)).mode & 0o777, 0o600, 'still 0600 after a signature');
  const j = JSON.parse(await readFile(path, 'utf8'));
  t.equal(j.height, '1');
  t.equal(j.round, 0);
  t.equal(j.step, SignStep.PREVOTE);
  t.equal(Buffer.from(j.signbytes, 'base64').toString('hex'), Buffer.from(voteSignBytes(CHAIN, vote(1n, 0, P, blockId(1)))).toString('hex'));
  t.equal(Buffer.from(j.signature, 'base64').length, 64);
});

// The last signed message is a prevote at height 10, round 2 (step 2) for block 1 at time T.
const T = 5_000_000_000n;
const BASE = V(vote(10n, 2, P, blockId(1), T));

interface Case {
  name: string;
  msg: Msg;
  expect: 'refuse' | 'same' | 'old-timestamp' | 'sign';
}

const CASES: Case[] = [
  { name: 'lower height', msg: V(vote(9n, 2, P, blockId(1), T)), expect: 'refuse' },
  { name: 'lower height, higher round and step', msg: V(vote(9n, 9, C, blockId(1), T)), expect: 'refuse' },
  { name: 'lower round', msg: V(vote(10n, 1, P, blockId(1), T)), expect: 'refuse' },
  { name: 'lower round, higher step', msg: V(vote(10n, 1, C, blockId(1), T)), expect: 'refuse' },
  { name: 'lower step (a proposal after our prevote)', msg: PR(proposal(10n, 2, blockId(1), T)), expect: 'refuse' },
  { name: 'equal and identical', msg: V(vote(10n, 2, P, blockId(1), T)), expect: 'same' },
  { name: 'equal, another validator index (not signed)', msg: V({ ...vote(10n, 2, P, blockId(1), T), validatorIndex: 9 }), expect: 'same' },
  { name: 'equal, different block', msg: V(vote(10n, 2, P, blockId(2), T)), expect: 'refuse' },
  { name: 'equal, nil instead of the block', msg: V(vote(10n, 2, P, EMPTY_BLOCK_ID, T)), expect: 'refuse' },
  { name: 'equal, different part set header', msg: V(vote(10n, 2, P, { ...blockId(1), partSetHeader: { total: 2, hash: blockId(1).partSetHeader.hash } }, T)), expect: 'refuse' },
  { name: 'equal, different block and timestamp', msg: V(vote(10n, 2, P, blockId(2), T + 1n)), expect: 'refuse' },
  { name: 'equal, different timestamp only', msg: V(vote(10n, 2, P, blockId(1), T + 123_456n)), expect: 'old-timestamp' },
  { name: 'equal, earlier timestamp only', msg: V(vote(10n, 2, P, blockId(1), T - 1n)), expect: 'old-timestamp' },
  { name: 'higher step (precommit after prevote)', msg: V(vote(10n, 2, C, blockId(2), T)), expect: 'sign' },
  { name: 'higher round', msg: V(vote(10n, 3, P, blockId(2), T)), expect: 'sign' },
  { name: 'higher round, lower step', msg: PR(proposal(10n, 3, blockId(2), T)), expect: 'sign' },
  { name: 'higher height', msg: V(vote(11n, 0, P, blockId(2), T)), expect: 'sign' },
  { name: 'higher height, lower round and step', msg: PR(proposal(11n, 0, blockId(1), T)), expect: 'sign' },
];

t.test('height/round/step ordering (CometBFT rules), each case from the same last-signed state', async (t) => {
  for (const c of CASES) {
    await t.test(c.name, async (t) => {
      const path = join(tmp(t), 'priv_validator_state.json');
      const pv = await PrivValidator.load(KEY, path, CHAIN);
      const base = await signMsg(pv, BASE);
      const fileBefore = await readFile(path, 'utf8');
      const m = c.msg.kind === 'vote' ? c.msg.v : c.msg.p;
      const step = m.type === VoteType.PROPOSAL ? 1 : m.type === P ? 2 : 3;
      try {
        const r = await signMsg(pv, c.msg);
        t.not(c.expect, 'refuse', 'signed');
        t.ok(verify(r.signature, r.signBytes, KEY.publicKey), 'the returned message verifies');
        if (c.expect === 'same' || c.expect === 'old-timestamp') {
          t.same(r.signature, base.signature, 'the stored signature is returned');
          t.equal(r.timestamp, T, 'with the timestamp that signature covers');
          t.equal(await readFile(path, 'utf8'), fileBefore, 'the state file is unchanged');
          t.same(pv.lastSigned(), { height: 10n, round: 2, step: 2 });
        } else {
          t.notSame(r.signature, base.signature, 'a new signature');
          t.equal(r.timestamp, m.timestamp);
          t.same(pv.lastSigned(), { height: m.height, round: m.round, step });
          const j = JSON.parse(await readFile(path, 'utf8'));
          t.same([j.height, j.round, j.step], [m.height.toString(), m.round, step], 'persisted');
          t.equal(j.signature, Buffer.from(r.signature).toString('base64'));
        }
      } catch (err) {
        t.equal(c.expect, 'refuse', `refused: ${(err as Error).message}`);
        t.ok(isRefusal(err), 'BAD_KEY "refusing to sign ..."');
        t.match((err as Error).message, `would double-sign at height ${m.height} round ${m.round} step ${step}`);
        t.equal(await readFile(path, 'utf8'), fileBefore, 'the state file is unchanged');
        t.same(pv.lastSigned(), { height: 10n, round: 2, step: 2 });
      }
    });
  }
});

t.test('proposals: same rules, polRound is part of what is signed', async (t) => {
  const path = join(tmp(t), 'priv_validator_state.json');
  const pv = await PrivValidator.load(KEY, path, CHAIN);
  const p = await pv.signProposal(proposal(4n, 1, blockId(1), T));
  t.ok(verify(p.signature, proposalSignBytes(CHAIN, p), KEY.publicKey));
  t.same((await pv.signProposal(proposal(4n, 1, blockId(1), T))).signature, p.signature, 'identical: same signature');
  const again = await pv.signProposal(proposal(4n, 1, blockId(1), T + 99n));
  t.same(again.signature, p.signature, 'timestamp only: old signature');
  t.equal(again.timestamp, T, 'and old timestamp');
  t.ok(verify(again.signature, proposalSignBytes(CHAIN, again), KEY.publicKey));
  await t.rejects(pv.signProposal(proposal(4n, 1, blockId(1), T, 0)), /would double-sign at height 4 round 1 step 1/, 'another polRound');
  await t.rejects(pv.signProposal(proposal(4n, 1, blockId(2), T)), { code: 'BAD_KEY' }, 'another block');
  // Proposal then prevote then precommit in one round: three steps, all allowed.
  const pre = await pv.signVote(vote(4n, 1, P, blockId(1)));
  const com = await pv.signVote(vote(4n, 1, C, blockId(1)));
  t.ok(verify(pre.signature, voteSignBytes(CHAIN, pre), KEY.publicKey));
  t.ok(verify(com.signature, voteSignBytes(CHAIN, com), KEY.publicKey));
  t.same(pv.lastSigned(), { height: 4n, round: 1, step: 3 });
});

t.test('prevote then precommit for the same round are both signed; a prevote after the precommit is not', async (t) => {
  const pv = await PrivValidator.load(KEY, join(tmp(t), 's.json'), CHAIN);
  const a = await pv.signVote(vote(3n, 0, P, blockId(5)));
  const b = await pv.signVote(vote(3n, 0, C, blockId(5)));
  t.notSame(a.signature, b.signature);
  t.ok(verify(a.signature, voteSignBytes(CHAIN, a), KEY.publicKey));
  t.ok(verify(b.signature, voteSignBytes(CHAIN, b), KEY.publicKey));
  t.notOk(verify(a.signature, voteSignBytes(CHAIN, b), KEY.publicKey), 'each signature covers its own vote');
  t.notOk(verify(a.signature, voteSignBytes('other-chain', a), KEY.publicKey), 'and binds the chain id');
  await t.rejects(pv.signVote(vote(3n, 0, P, blockId(5))), /refusing to sign: would double-sign at height 3 round 0 step 2/);
  t.same(a.validatorAddress, ADDRESS);
  t.equal(a.validatorIndex, 3, 'fields outside the sign bytes are kept');
});

t.test('the guard survives a restart: a reloaded validator refuses a conflicting vote signed before', async (t) => {
  const path = join(tmp(t), 'priv_validator_state.json');
  const pv1 = await PrivValidator.load(KEY, path, CHAIN);
  await pv1.signVote(vote(7n, 0, P, blockId(1)));
  const signed = await pv1.signVote(vote(7n, 1, C, blockId(2), T));

  const pv2 = await PrivValidator.load(KEY, path, CHAIN);
  t.same(pv2.lastSigned(), { height: 7n, round: 1, step: 3 });
  await t.rejects(pv2.signVote(vote(7n, 1, C, blockId(3), T)), /refusing to sign: would double-sign at height 7 round 1 step 3/);
  await t.rejects(pv2.signVote(vote(7n, 1, C, EMPTY_BLOCK_ID, T)), { code: 'BAD_KEY' });
  await t.rejects(pv2.signVote(vote(7n, 0, C, blockId(3), T)), { code: 'BAD_KEY' }, 'nor anything lower');
  const resigned = await pv2.signVote(vote(7n, 1, C, blockId(2), T));
  t.same(resigned.signature, signed.signature, 'the very same vote gets the same signature back (crash recovery)');
  const retimed = await pv2.signVote(vote(7n, 1, C, blockId(2), T + 5n));
  t.same([retimed.signature, retimed.timestamp], [signed.signature, T]);
  t.ok((await pv2.signVote(vote(8n, 0, P, blockId(4)))).signature.length === 64, 'and moves on');
});

t.test('concurrent requests for one height/round/step: exactly one block gets signed', async (t) => {
  const pv = await PrivValidator.load(KEY, join(tmp(t), 's.json'), CHAIN);
  const results = await Promise.allSettled([1, 2, 3, 4].map((n) => pv.signVote(vote(2n, 0, P, blockId(n)))));
  const ok = results.filter((r) => r.status === 'fulfilled');
  t.equal(ok.length, 1, 'one signed');
  t.equal(results.filter((r) => r.status === 'rejected' && isRefusal(r.reason)).length, 3, 'three refused');
});

t.test('input checks: message type, height, own address', async (t) => {
  const pv = await PrivValidator.load(KEY, join(tmp(t), 's.json'), CHAIN);
  await t.rejects(pv.signVote(vote(1n, 0, VoteType.PROPOSAL, blockId(1))), { code: 'INVALID_FIELD' });
  await t.rejects(pv.signVote(vote(0n, 0, P, blockId(1))), { code: 'INVALID_FIELD' });
  await t.rejects(pv.signVote(vote(1n, -1, P, blockId(1))), { code: 'INVALID_FIELD' });
  await t.rejects(pv.signProposal({ ...proposal(1n, 0, blockId(1)), type: P }), { code: 'INVALID_FIELD' });
  await t.rejects(pv.signVote({ ...vote(1n, 0, P, blockId(1)), validatorAddress: new Uint8Array(20).fill(1) }), { code: 'BAD_KEY' });
  t.same(pv.lastSigned(), { height: 0n, round: 0, step: 0 }, 'nothing was signed');
});

t.test('a corrupt state file is refused with STORE_CORRUPT and left alone', async (t) => {
  const dir = tmp(t);
  const good = {
    height: '5',
    round: 1,
    step: 2,
    signature: Buffer.alloc(64, 1).toString('base64'),
    signbytes: Buffer.from('abc').toString('base64'),
  };
  const bad: [string, string][] = [
    ['empty file', ''],
    ['truncated JSON', JSON.stringify(good).slice(0, 30)],
    ['not an object', '[1,2]'],
    ['null', 'null'],
    ['height as a number', JSON.stringify({ ...good, height: 5 })],
    ['negative height', JSON.stringify({ ...good, height: '-1' })],
    ['height above u64', JSON.stringify({ ...good, height: '18446744073709551616' })],
    ['height with leading zero', JSON.stringify({ ...good, height: '05' })],
    ['fractional round', JSON.stringify({ ...good, round: 1.5 })],
    ['negative round', JSON.stringify({ ...good, round: -1 })],
    ['step 4', JSON.stringify({ ...good, step: 4 })],
    ['signature not base64', JSON.stringify({ ...good, signature: '!!!' })],
    ['signature of the wrong length', JSON.stringify({ ...good, signature: Buffer.alloc(10).toString('base64') })],
    ['signature without signbytes', JSON.stringify({ ...good, signbytes: '' })],
    ['a signed step without a signature', JSON.stringify({ ...good, signature: '', signbytes: '' })],
  ];
  for (const [name, text] of bad) {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    await writeFile(path, text);
    try {
      await PrivValidator.load(KEY, path, CHAIN);
      t.fail(`${name}: accepted`);
    } catch (err) {
      t.ok(err instanceof AppError && err.code === 'STORE_CORRUPT', `${name}: STORE_CORRUPT`);
      t.match((err as Error).message, path, 'names the file');
    }
    t.equal(await readFile(path, 'utf8'), text, `${name}: not overwritten`);
  }
  // The good one loads, as does CometBFT's own zero state (signature and signbytes omitted).
  const okPath = join(dir, 'ok.json');
  await writeFile(okPath, JSON.stringify(good));
  t.same((await PrivValidator.load(KEY, okPath, CHAIN)).lastSigned(), { height: 5n, round: 1, step: 2 });
  await writeFile(okPath, '{"height":"0","round":0,"step":0}');
  t.same((await PrivValidator.load(KEY, okPath, CHAIN)).lastSigned(), { height: 0n, round: 0, step: 0 });
});

t.test('crash: after a SIGKILL at a random moment, the last printed signature can never be contradicted', async (t) => {
  const path = join(tmp(t), 'priv_validator_state.json');
  const rng = new Rng(Number(process.env.SIGNER_CRASH_SEED ?? 7));
  let refusals = 0;
  let prev = { height: 0n, round: 0, step: 0 };
  for (let run = 0; run < 10; run++) {
    const lines = await runAndKill(['signer', path, toHex(SEED), CHAIN], rng.int(1, 40), rng.int(0, 15));
    t.ok(lines.length > 0, `run ${run}: ${lines.length} signatures printed`);
    const m = /^S (\d+) (\d+) (\d) ([0-9A-F]{64}) ([0-9A-F]{64}) (\d+) ([0-9A-F]{128})$/.exec(lines[lines.length - 1]);
    if (m === null) throw new Error(`unexpected child output ${JSON.stringify(lines[lines.length - 1])}`);
    const [height, round, step] = [BigInt(m[1]), Number(m[2]), Number(m[3])];
    const id: BlockID = { hash: fromHex(m[4]), partSetHeader: { total: 1, hash: fromHex(m[5]) } };
    const timestamp = BigInt(m[6]);
    const signature = fromHex(m[7]);
    const printed: Msg =
      step === SignStep.PROPOSE ? PR(proposal(height, round, id, timestamp)) : V(vote(height, round, step === SignStep.PREVOTE ? P : C, id, timestamp));
    const printedBytes = printed.kind === 'vote' ? voteSignBytes(CHAIN, printed.v) : proposalSignBytes(CHAIN, printed.p);
    t.ok(verify(signature, printedBytes, KEY.publicKey), `run ${run}: the printed signature is valid`);
    t.ok(height > prev.height || (height === prev.height && (round > prev.round || (round === prev.round && step > prev.step))), 'the child moved forward');
    prev = { height, round, step };

    // "Restart": a fresh validator from the state file the killed child left behind.
    const pv = await PrivValidator.load(KEY, path, CHAIN);
    const last = pv.lastSigned();
    t.ok(
      last.height > height || (last.height === height && (last.round > round || (last.round === round && last.step >= step))),
      `run ${run}: state ${last.height}/${last.round}/${last.step} is at or past the printed ${height}/${round}/${step}`,
    );
    const other: BlockID = { hash: id.hash.map((b, i) => (i === 0 ? b ^ 1 : b)), partSetHeader: id.partSetHeader };
    const conflicting: Msg = printed.kind === 'vote' ? V({ ...printed.v, blockId: other }) : PR({ ...printed.p, blockId: other });
    try {
      await signMsg(pv, conflicting);
      t.fail(`run ${run}: signed a vote conflicting with a signature that left the node`);
    } catch (err) {
      t.ok(isRefusal(err), `run ${run}: the conflicting message is refused (${(err as Error).message.slice(0, 60)}...)`);
      refusals++;
    }
    if (last.height === height && last.round === round && last.step === step) {
      const again = await signMsg(pv, printed);
      t.same(again.signature, signature, `run ${run}: the printed message itself re-signs to the same signature`);
    }
  }
  t.equal(refusals, 10, 'every run checked a conflicting message');
});
