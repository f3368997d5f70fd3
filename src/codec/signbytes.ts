// Canonical sign bytes: the only module that decides what a signature covers. Every signed thing is wrapped in a
// SignDoc naming its domain (what kind of message) and the chain id, so a signature made for one chain or one kind of
// message can never be replayed as another.
import { messageCodec } from './codec.ts';
import type { BlockID, Proposal, Vote } from './types.ts';

export const SignDomain = {
  TX: 'agentcluster/tx',
  VOTE: 'agentcluster/vote',
  PROPOSAL: 'agentcluster/proposal',
  ATTESTATION: 'agentcluster/attestation',
  /** A proposer's BLS RANDAO reveal over the height (src/crypto/bls.ts). */
  RANDAO: 'agentcluster/randao',
} as const;
export type SignDomain = (typeof SignDomain)[keyof typeof SignDomain];

interface SignDoc {
  domain: string;
  chainId: string;
  payload: Uint8Array;
}

const SignDocCodec = messageCodec<SignDoc>('SignDoc');
const CanonicalVoteCodec = messageCodec<{ type: number; height: bigint; round: number; blockId: BlockID; timestamp: bigint }>('CanonicalVote');
const CanonicalProposalCodec = messageCodec<{ type: number; height: bigint; round: number; polRound: number; blockId: BlockID; timestamp: bigint }>(
  'CanonicalProposal',
);

/** The timestamp inside vote or proposal sign bytes of `domain`, or null if they do not decode as such. */
export function signedTimestamp(bytes: Uint8Array, domain: SignDomain): bigint | null {
  try {
    const doc = SignDocCodec.decode(bytes);
    if (doc.domain !== domain) return null;
    const codec = domain === SignDomain.VOTE ? CanonicalVoteCodec : domain === SignDomain.PROPOSAL ? CanonicalProposalCodec : null;
    return codec === null ? null : codec.decode(doc.payload).timestamp;
  } catch {
    return null;
  }
}

export function signBytes(domain: SignDomain, chainId: string, payload: Uint8Array): Uint8Array {
  return SignDocCodec.encode({ domain, chainId, payload });
}

/** A transaction signs its encoded body exactly as carried in Tx.body. */
export function txSignBytes(chainId: string, body: Uint8Array): Uint8Array {
  return signBytes(SignDomain.TX, chainId, body);
}

/** An attestation authority signs the encoded AttestationStatement exactly as carried in AuthorityReport.statement. */
export function attestationSignBytes(chainId: string, statement: Uint8Array): Uint8Array {
  return signBytes(SignDomain.ATTESTATION, chainId, statement);
}

export function voteSignBytes(chainId: string, v: Vote): Uint8Array {
  const payload = CanonicalVoteCodec.encode({ type: v.type, height: v.height, round: v.round, blockId: v.blockId, timestamp: v.timestamp });
  return signBytes(SignDomain.VOTE, chainId, payload);
}

export function proposalSignBytes(chainId: string, p: Proposal): Uint8Array {
  const payload = CanonicalProposalCodec.encode({
    type: p.type,
    height: p.height,
    round: p.round,
    polRound: p.polRound,
    blockId: p.blockId,
    timestamp: p.timestamp,
  });
  return signBytes(SignDomain.PROPOSAL, chainId, payload);
}
