// Hardware attestation verification for agent registration (MsgRegisterAgent) and renewal (MsgRenewAttestation).
//
// An Attestation is {kind, report}: `kind` picks a verifier, `report` is in that verifier's format. A verifier turns
// the report into a verdict for one registering agent, or throws an AppError with one of four codes:
//   BAD_ATTESTATION          the report does not verify (format, signature, unknown authority, measurement not
//                            allow-listed);
//   ATTESTATION_EXPIRED      its validity is over, it was issued in the future, or it claims longer validity than
//                            agents.attestation_max_seconds;
//   ATTESTATION_MISMATCH     it is bound to another agent key or another chain id;
//   UNSUPPORTED_ATTESTATION  this build has no verifier for the kind.
//
// Built in: `authority`. A key listed in the agents.attestation_authorities param signs an AttestationStatement
// {chain_id, agent_pub_key, issued_ns, expires_ns} (sign bytes: attestationSignBytes, domain
// "agentcluster/attestation", bound to the chain id); the report is an encoded AuthorityReport. `agentcluster agent
// attest` issues one (src/cli/agent.ts).
//
// ---- For a TEE implementer (Intel TDX / SGX DCAP quotes, AMD SEV-SNP reports, NVIDIA GPU attestation) ----
//
// This build ships no vendor quote parser: each needs the vendor's certificate chain and collateral. To add one,
// implement TeeQuoteParser for the kind ('tdx', 'sgx', 'sev-snp', 'nvidia-gpu', ...) and register
// teeVerifier(parser) in the verifier map handed to verifyAttestation. The parser only verifies the vendor's
// signature chain over the quote and returns its fields {reportData, measurement, issuedNs}; teeVerifier applies the
// chain's policy, the same for every TEE kind:
//   * Binding. The first 32 bytes of the quote's report data (TDX/SGX REPORTDATA, SEV-SNP REPORT_DATA, the nonce of
//     an NVIDIA GPU report) must equal teeReportData(chainId, agentPubKey) =
//     sha256("agentcluster/attestation/v1" || u8(byte length of chainId) || chainId || agentPubKey), so a quote
//     proves this agent key on this chain and cannot be replayed for another key or chain. Any further bytes of the
//     report data are the enclave's own.
//   * Allow-list. The measurement (MRTD / MRENCLAVE / SEV-SNP MEASUREMENT / the GPU's attested measurement, as the
//     parser defines it for its kind) must be listed in the agents.tee_measurements param as
//     "<kind>:<measurement as upper-case hex>" under any label. Governance adds and removes entries; an agent whose
//     measurement is removed keeps its registration until its attestation expires, then cannot renew.
//   * Expiry and renewal. issuedNs must not be after the block time; the attestation is valid until
//     issuedNs + agents.attestation_max_seconds and must still be valid at the block time. Before then the agent
//     renews with MsgRenewAttestation carrying a fresh quote.
//   * Determinism. Every validator must reach the same verdict for the same block. A parser must not fetch anything
//     over the network (no PCCS/KDS/NRAS calls), read the local clock or depend on local files that can differ
//     between nodes: collateral such as vendor root certificates, TCB info and revocation lists must come from chain
//     params or be pinned in the build (and a change of pinned collateral is then a coordinated upgrade). Times come
//     only from the quote and the block time (ctx.now). A parser throws AppError BAD_ATTESTATION on anything it does
//     not accept; any other exception it throws is treated as BAD_ATTESTATION as well.
import { AppError } from '../errors.ts';
import { AttestationStatementCodec, AuthorityReportCodec, type Attestation, type AttestationStatement, type AuthorityReport } from '../codec/types.ts';
import { attestationSignBytes } from '../codec/signbytes.ts';
import { PUBKEY_LENGTH, sign, verify, type KeyPair } from '../crypto/keys.ts';
import { concat, equalBytes, toHex, utf8 } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { AgentParams } from './params.ts';
import { formatTime, MAX_TIME_NS, MIN_TIME_NS } from '../codec/time.ts';

const NS_PER_SECOND = 1_000_000_000n;
const I64_MAX = 0x7fff_ffff_ffff_ffffn;

export interface AttestationContext {
  chainId: string;
  /** The registering agent's ed25519 key (the tx signer). */
  agentPubKey: Uint8Array;
  /** Block time, ns since the epoch. */
  now: bigint;
  params: AgentParams;
}

export interface VerifiedAttestation {
  kind: string;
  /** When the agent must have renewed by (ns since the epoch). */
  expiresNs: bigint;
  /** The TEE measurement; empty for `authority`. */
  measurement: Uint8Array;
}

export interface AttestationVerifier {
  readonly kind: string;
  /** Verifies `report` for ctx.agentPubKey on ctx.chainId at ctx.now; throws AppError. Deterministic. */
  verify(report: Uint8Array, ctx: AttestationContext): VerifiedAttestation;
}

/** TEE kinds this design knows about; a build without their parser says so (UNSUPPORTED_ATTESTATION) clearly. */
export const KNOWN_TEE_KINDS: readonly string[] = ['tdx', 'sgx', 'sev-snp', 'nvidia-gpu'];

export const AUTHORITY_KIND = 'authority';

function maxValidityNs(params: AgentParams): bigint {
  return params.attestation_max_seconds * NS_PER_SECOND;
}

/** A time for a message: RFC 3339 when representable, else the raw nanoseconds. Pure integer arithmetic. */
function when(ns: bigint): string {
  return ns >= MIN_TIME_NS && ns <= MAX_TIME_NS ? formatTime(ns) : `${ns} ns`;
}

/** The codec's reason without its own advice (the part before "; "), so the message stays one sentence. */
function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('; ')[0];
}

function seconds(ns: bigint): string {
  return `${ns / NS_PER_SECOND}${ns % NS_PER_SECOND === 0n ? '' : `.${(ns % NS_PER_SECOND).toString().padStart(9, '0')}`} s`;
}

// ---------------------------------------------------------------------------------------------------------------
// authority
// ---------------------------------------------------------------------------------------------------------------

function decodeAuthorityReport(report: Uint8Array): { r: AuthorityReport; s: AttestationStatement } {
  let r: AuthorityReport;
  try {
    r = AuthorityReportCodec.decode(report);
  } catch (err) {
    throw new AppError('BAD_ATTESTATION', `the authority attestation report is not an encoded AuthorityReport (${reason(err)}); issue it again with 'agentcluster agent attest'`, {
      kind: AUTHORITY_KIND,
      cause: err instanceof AppError ? err.code : 'DECODE',
    });
  }
  let s: AttestationStatement;
  try {
    s = AttestationStatementCodec.decode(r.statement);
  } catch (err) {
    throw new AppError('BAD_ATTESTATION', `the authority attestation's statement is not an encoded AttestationStatement (${reason(err)}); issue it again with 'agentcluster agent attest'`, {
      kind: AUTHORITY_KIND,
      cause: err instanceof AppError ? err.code : 'DECODE',
    });
  }
  return { r, s };
}

/** The name under which `key` is listed in agents.attestation_authorities, or null if it is not listed. */
function authorityName(params: AgentParams, key: Uint8Array): string | null {
  if (key.length !== PUBKEY_LENGTH) return null;
  const hex = toHex(key);
  for (const [name, listed] of Object.entries(params.attestation_authorities)) {
    if (listed === hex) return name;
  }
  return null;
}

/** The `authority` kind: a statement signed by a key listed in agents.attestation_authorities. */
export const authorityVerifier: AttestationVerifier = {
  kind: AUTHORITY_KIND,
  verify(report: Uint8Array, ctx: AttestationContext): VerifiedAttestation {
    const { r, s } = decodeAuthorityReport(report);

    const name = authorityName(ctx.params, r.authorityPubKey);
    if (name === null) {
      throw new AppError(
        'BAD_ATTESTATION',
        `the attestation is signed by ${r.authorityPubKey.length === PUBKEY_LENGTH ? toHex(r.authorityPubKey) : `a ${r.authorityPubKey.length}-byte key`}, which is not a trusted authority in agents.attestation_authorities; get it issued by a listed authority`,
        { kind: AUTHORITY_KIND, authority: toHex(r.authorityPubKey) },
      );
    }

    if (!verify(r.signature, attestationSignBytes(s.chainId, r.statement), r.authorityPubKey)) {
      throw new AppError('BAD_ATTESTATION', `the signature of authority '${name}' over the attestation statement does not verify; use the report exactly as the authority issued it`, {
        kind: AUTHORITY_KIND,
        authority: name,
      });
    }

    if (s.chainId !== ctx.chainId) {
      throw new AppError(
        'ATTESTATION_MISMATCH',
        `the attestation was issued for chain ${JSON.stringify(s.chainId.slice(0, 64))}, not ${JSON.stringify(ctx.chainId)}; get one issued for chain id ${JSON.stringify(ctx.chainId)}`,
        { kind: AUTHORITY_KIND, chain_id: s.chainId },
      );
    }

    if (!equalBytes(s.agentPubKey, ctx.agentPubKey)) {
      throw new AppError(
        'ATTESTATION_MISMATCH',
        `the attestation is bound to agent key ${s.agentPubKey.length > 0 ? toHex(s.agentPubKey.subarray(0, 64)) : '(empty)'}, not to the signer's key ${toHex(ctx.agentPubKey)}; get one issued for the key that signs the tx`,
        { kind: AUTHORITY_KIND, agent_pub_key: toHex(s.agentPubKey.subarray(0, 64)) },
      );
    }

    if (s.issuedNs > ctx.now) {
      throw new AppError('ATTESTATION_EXPIRED', `the attestation is issued in the future (at ${when(s.issuedNs)}, after the block time ${when(ctx.now)}); have it issued at or before the current time`, {
        kind: AUTHORITY_KIND,
        issued_ns: s.issuedNs.toString(),
      });
    }

    if (s.expiresNs <= ctx.now) {
      throw new AppError('ATTESTATION_EXPIRED', `the attestation expired at ${when(s.expiresNs)} (block time ${when(ctx.now)}); get a fresh one issued`, {
        kind: AUTHORITY_KIND,
        expires_ns: s.expiresNs.toString(),
      });
    }

    const max = maxValidityNs(ctx.params);
    if (s.expiresNs - s.issuedNs > max) {
      throw new AppError(
        'ATTESTATION_EXPIRED',
        `the attestation claims ${seconds(s.expiresNs - s.issuedNs)} of validity, longer than agents.attestation_max_seconds (${ctx.params.attestation_max_seconds} s); get one issued with a shorter validity`,
        { kind: AUTHORITY_KIND, validity_ns: (s.expiresNs - s.issuedNs).toString() },
      );
    }

    return { kind: AUTHORITY_KIND, expiresNs: s.expiresNs, measurement: new Uint8Array(0) };
  },
};

export interface AuthorityAttestationInput {
  authority: KeyPair;
  chainId: string;
  agentPubKey: Uint8Array;
  issuedNs: bigint;
  expiresNs: bigint;
}

/** Builds and signs an `authority` attestation (for the CLI, devnet genesis and tests). Throws INVALID_FIELD on bad input. */
export function issueAuthorityAttestation(input: AuthorityAttestationInput): Attestation {
  const { authority, chainId, agentPubKey, issuedNs, expiresNs } = input;
  if (agentPubKey.length !== PUBKEY_LENGTH) {
    throw new AppError('INVALID_FIELD', `the agent public key must be ${PUBKEY_LENGTH} bytes, got ${agentPubKey.length}; pass the agent's ed25519 public key`, { field: 'agent_pub_key' });
  }
  if (chainId === '') throw new AppError('INVALID_FIELD', 'the chain id of an attestation must not be empty; pass the chain id of the chain to register on', { field: 'chain_id' });
  if (issuedNs < 0n || issuedNs > I64_MAX) {
    throw new AppError('INVALID_FIELD', `issued_ns ${issuedNs} is outside 0..${I64_MAX}; pass a time in nanoseconds since the epoch`, { field: 'issued_ns' });
  }
  if (expiresNs <= issuedNs || expiresNs > I64_MAX) {
    throw new AppError('INVALID_FIELD', `expires_ns ${expiresNs} must be after issued_ns ${issuedNs} and at most ${I64_MAX}; pass a positive validity`, { field: 'expires_ns' });
  }
  const statement = AttestationStatementCodec.encode({ chainId, agentPubKey, issuedNs, expiresNs });
  const signature = sign(attestationSignBytes(chainId, statement), authority.secretKey);
  const report = AuthorityReportCodec.encode({ statement, authorityPubKey: authority.publicKey, signature });
  return { kind: AUTHORITY_KIND, report };
}

// ---------------------------------------------------------------------------------------------------------------
// TEE plug-in point
// ---------------------------------------------------------------------------------------------------------------

/** The fields of a vendor quote that the chain's policy needs, after the vendor signature chain has verified. */
export interface TeeQuote {
  /** The quote's report data (at least 32 bytes); the first 32 must be teeReportData(chainId, agentPubKey). */
  reportData: Uint8Array;
  /** The measurement of the attested code/VM, as allow-listed in agents.tee_measurements. */
  measurement: Uint8Array;
  /** When the quote was produced, ns since the epoch, as the vendor signed it. */
  issuedNs: bigint;
}

export interface TeeQuoteParser {
  readonly kind: string;
  /**
   * Verifies the vendor signature chain of `report` against collateral pinned in the build or taken from chain
   * params (never fetched, never the local clock) and returns the quote's fields; throws AppError BAD_ATTESTATION.
   */
  parse(report: Uint8Array): TeeQuote;
}

const TEE_REPORT_DATA_DOMAIN = utf8('agentcluster/attestation/v1');
export const TEE_REPORT_DATA_LENGTH = 32;

/**
 * What an enclave must put in the first 32 bytes of its report data to bind a quote to an agent key on a chain:
 * sha256(utf8("agentcluster/attestation/v1") || u8(byte length of chainId) || utf8(chainId) || agentPubKey).
 */
export function teeReportData(chainId: string, agentPubKey: Uint8Array): Uint8Array {
  const id = utf8(chainId);
  if (id.length > 255) throw new AppError('INVALID_FIELD', `the chain id is ${id.length} bytes; a chain id bound into TEE report data is at most 255 bytes`, { field: 'chain_id' });
  return sha256(TEE_REPORT_DATA_DOMAIN, new Uint8Array([id.length]), id, agentPubKey);
}

/** An AttestationVerifier for a TEE kind: the parser checks the vendor chain, this applies the chain's policy. */
export function teeVerifier(parser: TeeQuoteParser): AttestationVerifier {
  const kind = parser.kind;
  return {
    kind,
    verify(report: Uint8Array, ctx: AttestationContext): VerifiedAttestation {
      let quote: TeeQuote;
      try {
        quote = parser.parse(report);
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw new AppError('BAD_ATTESTATION', `the ${kind} quote does not verify (${reason(err)}); send the quote exactly as the ${kind} attestation produced it`, {
          kind,
        });
      }

      if (quote.reportData.length < TEE_REPORT_DATA_LENGTH) {
        throw new AppError('BAD_ATTESTATION', `the ${kind} quote carries ${quote.reportData.length} bytes of report data, fewer than ${TEE_REPORT_DATA_LENGTH}; produce the quote with the agent binding in its report data`, {
          kind,
        });
      }
      const expected = teeReportData(ctx.chainId, ctx.agentPubKey);
      if (!equalBytes(quote.reportData.subarray(0, TEE_REPORT_DATA_LENGTH), expected)) {
        throw new AppError(
          'ATTESTATION_MISMATCH',
          `the ${kind} quote's report data does not bind the signer's key on chain ${JSON.stringify(ctx.chainId)}; produce the quote with report data starting with ${toHex(expected)} (teeReportData of the chain id and the agent key)`,
          { kind, expected: toHex(expected) },
        );
      }

      const entry = `${kind}:${toHex(quote.measurement)}`;
      const listed = quote.measurement.length > 0 && Object.values(ctx.params.tee_measurements).some((m) => m === entry);
      if (!listed) {
        throw new AppError(
          'BAD_ATTESTATION',
          `the ${kind} measurement ${quote.measurement.length > 0 ? toHex(quote.measurement) : '(empty)'} is not allow-listed; run an allow-listed build or have governance add "${entry}" to agents.tee_measurements`,
          { kind, measurement: toHex(quote.measurement) },
        );
      }

      if (quote.issuedNs > ctx.now) {
        throw new AppError('ATTESTATION_EXPIRED', `the ${kind} quote is issued in the future (at ${when(quote.issuedNs)}, after the block time ${when(ctx.now)}); produce it at or before the current time`, {
          kind,
          issued_ns: quote.issuedNs.toString(),
        });
      }
      const expiresNs = quote.issuedNs + maxValidityNs(ctx.params);
      if (expiresNs <= ctx.now) {
        throw new AppError(
          'ATTESTATION_EXPIRED',
          `the ${kind} quote expired at ${when(expiresNs)} (its issue time plus agents.attestation_max_seconds, ${ctx.params.attestation_max_seconds} s; block time ${when(ctx.now)}); renew it with a fresh quote`,
          { kind, expires_ns: expiresNs.toString() },
        );
      }
      return { kind, expiresNs, measurement: Uint8Array.from(quote.measurement) };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// dispatch
// ---------------------------------------------------------------------------------------------------------------

/** The verifiers built into this node: `authority` only (TEE kinds need a vendor parser, see the header). */
export const DEFAULT_VERIFIERS: ReadonlyMap<string, AttestationVerifier> = new Map([[AUTHORITY_KIND, authorityVerifier]]);

/** Verifies an attestation with the verifier of its kind; throws AppError (the four attestation codes). */
export function verifyAttestation(a: Attestation, ctx: AttestationContext, verifiers: ReadonlyMap<string, AttestationVerifier> = DEFAULT_VERIFIERS): VerifiedAttestation {
  const verifier = verifiers.get(a.kind);
  if (verifier === undefined) {
    const supported = [...verifiers.keys()].sort();
    if (KNOWN_TEE_KINDS.includes(a.kind)) {
      throw new AppError(
        'UNSUPPORTED_ATTESTATION',
        `this build has no verifier for ${a.kind} quotes (it needs the vendor's certificate chain); register with an \`authority\` attestation or run a node built with a ${a.kind} parser`,
        { kind: a.kind, supported },
      );
    }
    throw new AppError(
      'UNSUPPORTED_ATTESTATION',
      `attestation kind ${JSON.stringify(a.kind.slice(0, 40))} is not supported; use one of: ${supported.length > 0 ? supported.join(', ') : '(none in this build)'}`,
      { kind: a.kind.slice(0, 40), supported },
    );
  }
  return verifier.verify(a.report, ctx);
}
