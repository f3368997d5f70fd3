// Child process for the crash tests of the WAL and the private validator: it writes (or signs) in a loop and prints
// a line for each record (signature) only after the call that makes it durable has resolved. The parent SIGKILLs it
// at a random moment and checks that everything printed survived.
//
//   node wal-crash-child.ts wal <dir>
//     Continues the sequence already in <dir>/wal: record i has kind 1 + (i % 3) and payload walPayload(i). Every
//     third record goes through write() (buffered), the others through writeSync(); every 50th is followed by an
//     END_HEIGHT marker. Prints "D <i>" after writeSync(i) resolves.
//   node wal-crash-child.ts signer <statePath> <seed hex> <chainId>
//     Signs proposals, prevotes and precommits in increasing height/round/step from the last signed one, each for a
//     random block, and prints "S <height> <round> <step> <block hash hex> <part set hash hex> <timestamp ns> <signature hex>" after the
//     signature is returned.
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Wal, WalKind, readWal } from '../../src/consensus/wal.ts';
import { PrivValidator, SignStep } from '../../src/consensus/signer.ts';
import { VoteType, type BlockID } from '../../src/codec/types.ts';
import { fromHex, toHex } from '../../src/crypto/bytes.ts';
import { generateKeyPair } from '../../src/crypto/keys.ts';

/** The payload of record `i`: 4-byte index, then a deterministic filler; some records are large (up to ~600 KiB). */
export function walPayload(i: number): Uint8Array {
  const len = i % 7 === 3 ? 100_000 + ((i * 7919) % 500_000) : (i * 131) % 2000;
  const out = new Uint8Array(4 + len);
  new DataView(out.buffer).setUint32(0, i);
  for (let k = 0; k < len; k++) out[4 + k] = (i * 31 + k * 7) & 0xff;
  return out;
}

export function walPayloadIndex(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0);
}

function say(line: string): void {
  process.stdout.write(line + '\n'); // synchronous for pipes and files on Linux
}

async function walChild(dir: string): Promise<void> {
  let next = 0;
  for (const rec of await readWal(dir)) if (rec.kind !== WalKind.END_HEIGHT) next = walPayloadIndex(rec.payload) + 1;
  const wal = await Wal.open(dir);
  say('READY');
  let height = 0n;
  for (;;) {
    const i = next++;
    const rec = { kind: 1 + (i % 3), payload: walPayload(i) };
    if (i % 3 === 0) {
      await wal.write(rec);
    } else {
      await wal.writeSync(rec);
      say(`D ${i}`);
    }
    if (i % 50 === 49) await wal.writeEndHeight(++height);
  }
}

function randomBlockId(): BlockID {
  return { hash: new Uint8Array(randomBytes(32)), partSetHeader: { total: 1, hash: new Uint8Array(randomBytes(32)) } };
}

async function signerChild(statePath: string, seedHex: string, chainId: string): Promise<void> {
  const pv = await PrivValidator.load(generateKeyPair(fromHex(seedHex)), statePath, chainId);
  say('READY');
  let { height, round, step } = pv.lastSigned();
  for (;;) {
    if (height === 0n) [height, round, step] = [1n, 0, SignStep.PROPOSE];
    else if (step < SignStep.PRECOMMIT) step++;
    else if (Math.random() < 0.3) [round, step] = [round + 1, SignStep.PROPOSE];
    else [height, round, step] = [height + 1n, 0, SignStep.PROPOSE];
    const blockId = randomBlockId();
    const timestamp = BigInt(Date.now()) * 1_000_000n;
    let signature: Uint8Array;
    if (step === SignStep.PROPOSE) {
      const p = await pv.signProposal({ type: VoteType.PROPOSAL, height, round, polRound: -1, blockId, timestamp, signature: new Uint8Array(0) });
      signature = p.signature;
    } else {
      const v = await pv.signVote({
        type: step === SignStep.PREVOTE ? VoteType.PREVOTE : VoteType.PRECOMMIT,
        height,
        round,
        blockId,
        timestamp,
        validatorAddress: pv.address,
        validatorIndex: 0,
        signature: new Uint8Array(0),
      });
      signature = v.signature;
    }
    say(`S ${height} ${round} ${step} ${toHex(blockId.hash)} ${toHex(blockId.partSetHeader.hash)} ${timestamp} ${toHex(signature)}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, ...args] = process.argv.slice(2);
  const run = mode === 'wal' ? walChild(args[0]) : mode === 'signer' ? signerChild(args[0], args[1], args[2]) : Promise.reject(new Error(`unknown mode ${mode}`));
  run.catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
