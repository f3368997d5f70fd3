// Fuzzer (issue 9): p2p message decoding. Mutated bytes (from schema-shaped valid messages) go into every decoder a
// peer's bytes reach: the transport's FrameDecoder, the consensus channel's ConsensusMessageCodec, the mempool
// channel's TxBatchCodec, the evidence channel's EvidenceCodec, block sync's decodeSyncMessage and the Block/Commit
// codecs it hands block responses to. Properties: only an AppError (never INTERNAL) escapes, every decode is fast
// (no hang), and no length prefix turns into a giant allocation.
import t from 'tap';
import { AppError } from '../../src/errors.ts';
import { lookupType, type MessageCodec } from '../../src/codec/codec.ts';
import { BlockCodec, CommitCodec, ConsensusMessageCodec, EvidenceCodec, HeaderCodec, ProposalCodec, TxBatchCodec, VoteCodec } from '../../src/codec/types.ts';
import { decodeSyncMessage, encodeSyncMessage } from '../../src/p2p/sync-codec.ts';
import { FrameDecoder, encodeFrame } from '../../src/p2p/transport.ts';
import { MAX_MESSAGE_BYTES } from '../../src/p2p/types.ts';
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { Rng } from '../helpers/rng.ts';
import { FUZZ_SECONDS, fuzzSeed, fuzzLoop, mutateBytes, randomWire } from '../helpers/fuzz.ts';

const syncRoot = protobuf.loadSync(fileURLToPath(new URL('../../src/codec/proto/sync.proto', import.meta.url)));
const SyncType = syncRoot.lookupType('agentcluster.sync.SyncMessage');

interface Target {
  name: string;
  type: protobuf.Type;
  decode: (b: Uint8Array) => unknown;
}

const codec = (c: MessageCodec<unknown>): Target => ({ name: c.typeName, type: lookupType(c.typeName), decode: (b) => c.decode(b) });
const TARGETS: Target[] = [
  codec(ConsensusMessageCodec as MessageCodec<unknown>),
  codec(TxBatchCodec as MessageCodec<unknown>),
  codec(EvidenceCodec as MessageCodec<unknown>),
  codec(BlockCodec as MessageCodec<unknown>),
  codec(CommitCodec as MessageCodec<unknown>),
  codec(VoteCodec as MessageCodec<unknown>),
  codec(ProposalCodec as MessageCodec<unknown>),
  codec(HeaderCodec as MessageCodec<unknown>),
  { name: 'SyncMessage', type: SyncType, decode: (b) => decodeSyncMessage(b) },
];

t.test('p2p decoders under mutated bytes', async (t) => {
  const seed = fuzzSeed(t, 'p2p');
  const rng = new Rng(seed);
  const findings: string[] = [];
  const seen = new Set<string>();
  const counts: Record<string, number> = {};
  let slowest = 0;
  let peakArrayBuffers = 0;
  const base = process.memoryUsage().arrayBuffers;
  const record = (where: string, input: Uint8Array, why: string) => {
    const key = `${where}: ${why.split('\n')[0]}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push(`${key} (input ${Buffer.from(input).toString('hex').slice(0, 400)})`);
  };
  // a corpus of schema-shaped messages per target, plus real sync messages
  const corpus = new Map<string, Uint8Array[]>();
  for (const tg of TARGETS) {
    corpus.set(tg.name, Array.from({ length: 8 }, () => tg.type.encode(tg.type.fromObject(randomWire(rng, tg.type))).finish()));
  }
  corpus.get('SyncMessage')!.push(
    encodeSyncMessage({ type: 'status_request' }),
    encodeSyncMessage({ type: 'status_response', base: 1n, height: 9n }),
    encodeSyncMessage({ type: 'block_request', height: 3n }),
    encodeSyncMessage({ type: 'block_response', height: 3n, block: corpus.get('Block')![0], commit: corpus.get('Commit')![0] }),
  );
  const all = [...corpus.values()].flat();

  const total = await fuzzLoop(FUZZ_SECONDS, () => {
    const tg = rng.pick(TARGETS);
    const input = mutateBytes(rng, rng.pick(corpus.get(tg.name)!), [rng.pick(all)]);
    const t0 = performance.now();
    try {
      tg.decode(input);
    } catch (err) {
      if (!(err instanceof AppError)) record(tg.name, input, `not an AppError: ${err instanceof Error ? err.stack : String(err)}`);
      else if (err.code === 'INTERNAL') record(tg.name, input, `INTERNAL: ${err.message}`);
    }
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    if (ms > 1000) record(tg.name, input, `decode took ${Math.round(ms)} ms`);
    counts[tg.name] = (counts[tg.name] ?? 0) + 1;
    // framing: the frame stream of a few messages, mutated and fed in random chunks
    const stream = mutateBytes(rng, Buffer.concat([encodeFrame(input), encodeFrame(rng.pick(all))]));
    const max = rng.pick([64, 1024, MAX_MESSAGE_BYTES.evidence]);
    const dec = new FrameDecoder(max);
    try {
      for (let at = 0; at < stream.length;) {
        const n = rng.int(1, 16);
        const bad = dec.push(stream.subarray(at, at + n), (f) => {
          if (f.length > max) record('FrameDecoder', stream, `frame of ${f.length} bytes over the ${max} limit`);
        });
        if (bad !== null) break;
        at += n;
      }
    } catch (err) {
      record('FrameDecoder', stream, `threw: ${err instanceof Error ? err.stack : String(err)}`);
    }
    counts.FrameDecoder = (counts.FrameDecoder ?? 0) + 1;
    peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers - base);
  });
  if (peakArrayBuffers > 256 << 20) findings.push(`array buffers grew by ${peakArrayBuffers} bytes`);
  t.comment(`p2p: ${total} inputs (+ as many frame streams); per decoder ${JSON.stringify(counts)}; slowest decode ${slowest.toFixed(1)} ms; array-buffer peak +${(peakArrayBuffers / 1048576).toFixed(1)} MiB`);
  t.same(findings, [], 'only coded AppErrors escape, no hang, bounded allocation');
});
