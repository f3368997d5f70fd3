// The private validator: signs this node's votes and proposals, and refuses to sign anything that could be a double
// sign (DESIGN.md section 3, principle 4), with CometBFT's FilePV rules. The last signed height/round/step, the
// signature and what it covered live in priv_validator_state.json (CometBFT's layout), persisted (temp file, fsync,
// rename, fsync of the directory) BEFORE a signature is returned. A crash after that write but before the message left
// the node is harmless: signing the same message again returns the same signature.
//
// This is IO code for the consensus host, not part of the pure core.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../errors.ts';
import { proposalSignBytes, SignDomain, signedTimestamp, voteSignBytes } from '../codec/signbytes.ts';
import { VoteType, type Proposal, type Vote } from '../codec/types.ts';
import { addressOf, sign, SIGNATURE_LENGTH, type KeyPair } from '../crypto/keys.ts';
import { equalBytes, fromBase64, toBase64, toHex } from '../crypto/bytes.ts';
import { blsPublicKey, blsSecretFromSeed, randaoSign } from '../crypto/bls.ts';

/** Steps of the double-sign guard, as CometBFT numbers them. */
export const SignStep = { NONE: 0, PROPOSE: 1, PREVOTE: 2, PRECOMMIT: 3 } as const;

export function stepOf(type: number): number {
  switch (type) {
    case VoteType.PROPOSAL:
      return SignStep.PROPOSE;
    case VoteType.PREVOTE:
      return SignStep.PREVOTE;
    case VoteType.PRECOMMIT:
      return SignStep.PRECOMMIT;
    default:
      throw new AppError('INVALID_FIELD', `cannot sign a message of type ${type}; use 1 (prevote), 2 (precommit) or 32 (proposal)`, { field: 'type' });
  }
}

/** priv_validator_state.json, as CometBFT writes it (height as a decimal string; signature and signbytes base64). */
export interface PrivValidatorStateJSON {
  height: string;
  round: number;
  step: number;
  signature: string;
  signbytes: string;
}

interface LastSign {
  height: bigint;
  round: number;
  step: number;
  signature: Uint8Array;
  signBytes: Uint8Array;
}

const ZERO_STATE: LastSign = { height: 0n, round: 0, step: 0, signature: new Uint8Array(0), signBytes: new Uint8Array(0) };
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const U32_MAX = 0xffff_ffff;


function cmpHRS(a: { height: bigint; round: number; step: number }, b: { height: bigint; round: number; step: number }): number {
  if (a.height !== b.height) return a.height < b.height ? -1 : 1;
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  if (a.step !== b.step) return a.step < b.step ? -1 : 1;
  return 0;
}

function stateCorrupt(path: string, what: string): AppError {
  return new AppError(
    'STORE_CORRUPT',
    `${path} is damaged: ${what}. Do not simply delete or reset it: a validator that forgets what it signed can ` +
      `double-sign and be slashed. Restore it from a backup, or write {"height": "H", "round": R, "step": S, ` +
      `"signature": "", "signbytes": ""} with a height above the last one this validator signed.`,
    { path },
  );
}

function parseState(path: string, text: string): LastSign {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (err) {
    throw stateCorrupt(path, `not JSON (${(err as Error).message})`);
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) throw stateCorrupt(path, 'not a JSON object');
  const o = j as Record<string, unknown>;
  if (typeof o.height !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(o.height) || BigInt(o.height) > U64_MAX) {
    throw stateCorrupt(path, 'height must be a decimal string of a u64');
  }
  const height = BigInt(o.height);
  if (typeof o.round !== 'number' || !Number.isInteger(o.round) || o.round < 0 || o.round > U32_MAX) {
    throw stateCorrupt(path, 'round must be a non-negative integer');
  }
  if (typeof o.step !== 'number' || !Number.isInteger(o.step) || o.step < 0 || o.step > SignStep.PRECOMMIT) {
    throw stateCorrupt(path, 'step must be 0, 1 (propose), 2 (prevote) or 3 (precommit)');
  }
  const b64 = (field: 'signature' | 'signbytes'): Uint8Array => {
    const v = o[field] ?? '';
    if (typeof v !== 'string') throw stateCorrupt(path, `${field} must be a base64 string`);
    try {
      return fromBase64(v);
    } catch {
      throw stateCorrupt(path, `${field} is not base64`);
    }
  };
  const signature = b64('signature');
  const signBytes = b64('signbytes');
  if (signature.length !== 0 && signature.length !== SIGNATURE_LENGTH) throw stateCorrupt(path, `signature must be ${SIGNATURE_LENGTH} bytes`);
  if ((signature.length === 0) !== (signBytes.length === 0)) throw stateCorrupt(path, 'signature and signbytes must both be set or both be empty');
  if (o.step !== SignStep.NONE && signature.length === 0) throw stateCorrupt(path, `step ${o.step} is recorded without the signature and signbytes it covered`);
  return { height, round: o.round, step: o.step, signature, signBytes };
}

function stateToJSON(s: LastSign): PrivValidatorStateJSON {
  return { height: s.height.toString(), round: s.round, step: s.step, signature: toBase64(s.signature), signbytes: toBase64(s.signBytes) };
}

/** Writes the state durably: temp file (0600), fsync, rename over, fsync the directory. */
async function persistState(path: string, s: LastSign): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(JSON.stringify(stateToJSON(s), null, 2) + '\n', 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export class PrivValidator {
  readonly address: Uint8Array;
  readonly publicKey: Uint8Array;

  private readonly keyPair: KeyPair;
  private readonly statePath: string;
  private readonly chainId: string;
  private last: LastSign;
  /** Signing is serial, so two concurrent requests for one height/round/step cannot both pass the check. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Set when persisting the state failed: the file's content is unknown, so nothing more is signed. */
  private failure: AppError | null = null;
  /** BLS key of the beacon, derived from the consensus key on first use (src/crypto/bls.ts). */
  private bls: { secret: Uint8Array; publicKey: Uint8Array } | null = null;
  /** The last reveal made: a proposer re-proposing in later rounds of one height reuses it (a BLS sign is ~20 ms). */
  private lastReveal: { height: bigint; reveal: Uint8Array } | null = null;

  private constructor(keyPair: KeyPair, statePath: string, chainId: string, last: LastSign) {
    this.keyPair = keyPair;
    this.publicKey = keyPair.publicKey;
    this.address = addressOf(keyPair.publicKey);
    this.statePath = statePath;
    this.chainId = chainId;
    this.last = last;
  }

  /**
   * Loads the double-sign guard from `statePath`. A missing file means nothing was ever signed: the zero state is
   * written. A malformed file is AppError('STORE_CORRUPT').
   */
  static async load(keyPair: KeyPair, statePath: string, chainId: string): Promise<PrivValidator> {
    let text: string | null = null;
    try {
      text = await readFile(statePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    let last: LastSign;
    if (text === null) {
      await mkdir(dirname(statePath), { recursive: true, mode: 0o700 });
      await persistState(statePath, ZERO_STATE);
      last = ZERO_STATE;
    } else {
      last = parseState(statePath, text);
    }
    return new PrivValidator(keyPair, statePath, chainId, last);
  }

  lastSigned(): { height: bigint; round: number; step: number } {
    return { height: this.last.height, round: this.last.round, step: this.last.step };
  }

  /** Signs a prevote or precommit; returns the vote with its signature (and, on a re-sign, the earlier timestamp). */
  signVote(vote: Vote): Promise<Vote> {
    return this.serial(async () => {
      if (vote.type !== VoteType.PREVOTE && vote.type !== VoteType.PRECOMMIT) {
        throw new AppError('INVALID_FIELD', `Vote.type must be 1 (prevote) or 2 (precommit), got ${vote.type}`, { field: 'type' });
      }
      if (vote.validatorAddress.length !== 0 && !equalBytes(vote.validatorAddress, this.address)) {
        throw new AppError('BAD_KEY', `Vote.validator_address is ${toHex(vote.validatorAddress)} but this validator's key has address ${toHex(this.address)}`);
      }
      const r = await this.signMessage(vote.height, vote.round, stepOf(vote.type), vote.timestamp, SignDomain.VOTE, (timestamp) =>
        voteSignBytes(this.chainId, { ...vote, timestamp }),
      );
      return { ...vote, timestamp: r.timestamp, signature: r.signature };
    });
  }

  /** This validator's BLS public key (48 bytes): what its MsgStake or genesis entry registers as bls_pub_key. */
  get blsPublicKey(): Uint8Array {
    return this.blsKey().publicKey;
  }

  /**
   * The RANDAO reveal for a block of `height`: the BLS signature over (chain id, height). Needs no double-sign
   * guard: a BLS signature is unique, so signing it again (another round, after a restart) yields the same bytes.
   */
  randaoReveal(height: bigint): Uint8Array {
    if (this.lastReveal?.height !== height) this.lastReveal = { height, reveal: randaoSign(this.blsKey().secret, this.chainId, height) };
    return this.lastReveal.reveal;
  }

  private blsKey(): { secret: Uint8Array; publicKey: Uint8Array } {
    if (this.bls === null) {
      const secret = blsSecretFromSeed(this.keyPair.secretKey);
      this.bls = { secret, publicKey: blsPublicKey(secret) };
    }
    return this.bls;
  }

  /** Signs a proposal; returns it with its signature (and, on a re-sign, the earlier timestamp). */
  signProposal(p: Proposal): Promise<Proposal> {
    return this.serial(async () => {
      if (p.type !== VoteType.PROPOSAL) throw new AppError('INVALID_FIELD', `Proposal.type must be 32, got ${p.type}`, { field: 'type' });
      const r = await this.signMessage(p.height, p.round, SignStep.PROPOSE, p.timestamp, SignDomain.PROPOSAL, (timestamp) =>
        proposalSignBytes(this.chainId, { ...p, timestamp }),
      );
      return { ...p, timestamp: r.timestamp, signature: r.signature };
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  /** CometBFT's FilePV.signVote/signProposal: the height/round/step check, re-sign, or sign and persist. */
  private async signMessage(
    height: bigint,
    round: number,
    step: number,
    timestamp: bigint,
    domain: SignDomain,
    signBytesAt: (timestamp: bigint) => Uint8Array,
  ): Promise<{ signature: Uint8Array; timestamp: bigint }> {
    if (this.failure !== null) throw this.failure;
    if (typeof height !== 'bigint' || height < 1n || height > U64_MAX) {
      throw new AppError('INVALID_FIELD', `cannot sign at height ${String(height)}; heights start at 1`, { field: 'height' });
    }
    if (!Number.isInteger(round) || round < 0 || round > U32_MAX) {
      throw new AppError('INVALID_FIELD', `cannot sign at round ${round}; rounds are non-negative integers`, { field: 'round' });
    }
    const next = { height, round, step };
    const last = this.last;
    const order = cmpHRS(next, last);
    const where = `height ${height} round ${round} step ${step}`;
    if (order < 0) {
      throw new AppError(
        'BAD_KEY',
        `refusing to sign: would double-sign at ${where}: it is below the last signed height ${last.height} round ${last.round} step ${last.step} (height/round/step regression)`,
        { height: height.toString(), round, step, lastHeight: last.height.toString(), lastRound: last.round, lastStep: last.step },
      );
    }
    const signBytes = signBytesAt(timestamp);
    if (order === 0) {
      // Same height/round/step: only the very same message may be signed again (crash recovery), or the same
      // message with another timestamp, which gets the earlier signature and timestamp back.
      if (equalBytes(signBytes, last.signBytes)) return { signature: last.signature, timestamp };
      const oldTimestamp = signedTimestamp(last.signBytes, domain);
      if (oldTimestamp !== null && equalBytes(signBytesAt(oldTimestamp), last.signBytes)) {
        return { signature: last.signature, timestamp: oldTimestamp };
      }
      throw new AppError('BAD_KEY', `refusing to sign: would double-sign at ${where}: a different message was already signed there`, {
        height: height.toString(),
        round,
        step,
      });
    }
    const signature = sign(signBytes, this.keyPair.secretKey);
    const updated: LastSign = { height, round, step, signature, signBytes };
    try {
      await persistState(this.statePath, updated);
    } catch (err) {
      this.failure = new AppError(
        'INTERNAL',
        `cannot persist ${this.statePath} (${(err as Error).message}); no signature was released and this validator signs nothing more until restarted`,
        { path: this.statePath },
      );
      throw this.failure;
    }
    this.last = updated;
    return { signature, timestamp };
  }
}
