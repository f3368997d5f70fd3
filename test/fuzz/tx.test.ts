// Fuzzer (issue 9): transaction decoding and validation. Signed txs of every message type (MSG_TYPES, filled from the
// protobuf schema with random field values) are mutated (bit flips, truncation, extension, splices) and fed to
// TxCodec/TxBodyCodec, the executor's decodeAndVerify, the mempool's admission and blocks. Properties: only an
// AppError with a code other than INTERNAL ever escapes; a block of garbage never throws, keeps the supply invariant
// (checkSupply) and changes nothing but the nonces and fees of the txs it accepts.
import t from 'tap';
import protobuf from 'protobufjs';
import { AppError } from '../../src/errors.ts';
import { lookupType } from '../../src/codec/codec.ts';
import { MSG_TYPES, TxBodyCodec, TxCodec } from '../../src/codec/types.ts';
import { txSignBytes } from '../../src/codec/signbytes.ts';
import { sign, addressOf, type KeyPair } from '../../src/crypto/keys.ts';
import { Mempool } from '../../src/mempool/mempool.ts';
import { readParams } from '../../src/state/executor.ts';
import { checkSupply } from '../../src/state/economics.ts';
import { getAccount } from '../../src/state/accounts.ts';
import { fixture, openApp, nextBlock, send, seededKey, CHAIN_ID } from '../helpers/chain.ts';
import { Rng } from '../helpers/rng.ts';
import { FUZZ_SECONDS, fuzzSeed, fuzzLoop, mutateBytes, randomWire, thrown } from '../helpers/fuzz.ts';

const TxBodyType = lookupType('TxBody');
const wireCase = (s: string) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** A signed tx of message type `msgType` with random message fields (structurally valid protobuf, maybe invalid). */
export function randomSignedTx(rng: Rng, key: KeyPair, msgType: string, nonce: bigint): Uint8Array {
  const field = TxBodyType.fields[msgType] ?? TxBodyType.fields[wireCase(msgType)];
  const msg = randomWire(rng, field.resolvedType as protobuf.Type);
  const body = TxBodyType.encode(TxBodyType.fromObject({ chainId: CHAIN_ID, nonce: String(nonce), gasLimit: '200000', gasPrice: '1', memo: rng.chance(0.2) ? 'm' : '', [field.name]: msg })).finish();
  return TxCodec.encode({ body, pubKey: key.publicKey, signature: sign(txSignBytes(CHAIN_ID, body), key.secretKey) });
}

function onlyAppError(err: unknown): string | null {
  if (err === undefined) return null;
  if (!(err instanceof AppError)) return `not an AppError: ${err instanceof Error ? err.stack : String(err)}`;
  if (err.code === 'INTERNAL') return `INTERNAL: ${err.message}`;
  return null;
}

t.test('tx decoding, admission and blocks under mutated bytes', async (t) => {
  const seed = fuzzSeed(t, 'tx');
  const rng = new Rng(seed);
  const fx = fixture({ users: 4 });
  const { app, cleanup } = await openApp(fx.genesis);
  t.teardown(cleanup);
  const mempool = new Mempool({ app, size: 10_000, maxTxsBytes: 64 << 20 });
  const params = await readParams(app.store);
  // the corpus: a signed tx of every message type, and a valid send
  // (signed by an unfunded key, so no mutation can take the known-good sender's nonce)
  const stranger = seededKey(99);
  const corpus: Uint8Array[] = MSG_TYPES.map((m) => randomSignedTx(rng, stranger, m, 0n));
  const bodies = corpus.map((b) => TxCodec.decode(b).body);
  const findings: string[] = [];
  const seen = new Set<string>();
  const record = (where: string, input: Uint8Array, err: unknown) => {
    const why = onlyAppError(err);
    if (why === null) return;
    const key = `${where}: ${why.split('\n')[0]}`;
    if (!seen.has(key)) {
      seen.add(key);
      findings.push(`${key} (input ${Buffer.from(input).toString('hex').slice(0, 400)})`);
    }
  };
  const counts = { tx: 0, body: 0, verify: 0, mempool: 0, blocks: 0, blockTxs: 0 };
  const senders = fx.users.slice(1);
  const nonces = new Map<string, bigint>();
  let pending: Uint8Array[] = [];

  const total = await fuzzLoop(FUZZ_SECONDS, async (i) => {
    const src = rng.pick(corpus);
    const donors = [rng.pick(corpus), rng.pick(bodies)];
    const m = mutateBytes(rng, src, donors);
    record('TxCodec.decode', m, thrown(() => TxCodec.decode(m)));
    counts.tx++;
    const body = mutateBytes(rng, rng.pick(bodies), donors);
    record('TxBodyCodec.decode', body, thrown(() => TxBodyCodec.decode(body)));
    counts.body++;
    // a mutated body, re-signed, so the fuzz reaches past the signature check
    const resigned = TxCodec.encode({ body: body.length === 0 ? Uint8Array.of(0x0a, 0x00) : body, pubKey: stranger.publicKey, signature: sign(txSignBytes(CHAIN_ID, body), stranger.secretKey) });
    for (const x of [m, resigned]) {
      try {
        await app.executor.decodeAndVerify(x, CHAIN_ID, params);
      } catch (err) {
        record('decodeAndVerify', x, err);
      }
      counts.verify++;
      const res = await mempool.checkTx(x, { add: false }).catch((err: unknown) => {
        record('mempool.checkTx', x, err);
        return null;
      });
      if (res !== null && res.code === 1) record('mempool.checkTx code', x, new AppError('INTERNAL', res.log));
      counts.mempool++;
    }
    // a fresh random tx of a random type from a funded sender, for the blocks
    const who = rng.pick(senders);
    const a = addressOf(who.publicKey);
    const k = Buffer.from(a).toString('hex');
    const nonce = nonces.get(k) ?? (await getAccount(app.store, a)).nonce;
    pending.push(randomSignedTx(rng, who, rng.pick(MSG_TYPES), nonce), m, resigned);
    if (i % 10 === 9) {
      // garbage plus random txs, then a block: only accepted txs may move nonces and fees
      const before = await Promise.all(fx.users.map((u) => getAccount(app.store, addressOf(u.publicKey))));
      pending.push(send(fx.users[0], fx.users[1], 1n, before[0].nonce));
      try {
        const out = await nextBlock(app, pending);
        counts.blocks++;
        counts.blockTxs += pending.length;
        await checkSupply(app.store);
        const okFrom = new Set(out.txResults.map((r, j) => (r.code === 0 ? j : -1)).filter((j) => j >= 0));
        const after = await Promise.all(fx.users.map((u) => getAccount(app.store, addressOf(u.publicKey))));
        for (let u = 0; u < fx.users.length; u++) {
          if (after[u].nonce < before[u].nonce) findings.push(`nonce of user ${u} went down`);
        }
        if (!okFrom.has(pending.length - 1)) findings.push(`the known-good send was refused: ${out.txResults[pending.length - 1]?.log}`);
        for (const u of senders) nonces.delete(Buffer.from(addressOf(u.publicKey)).toString('hex'));
      } catch (err) {
        record('block', pending[0], err);
      }
      pending = [];
    }
  });
  t.comment(`tx: ${total} rounds; inputs: ${JSON.stringify(counts)}`);
  t.same(findings, [], 'only coded AppErrors (never INTERNAL) escape; blocks keep the invariants');
});
