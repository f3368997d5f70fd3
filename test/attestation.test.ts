// Hardware attestation verification (src/state/attestation.ts) and `agentcluster agent attest` (src/cli/agent.ts):
// the `authority` kind accepted and every rejection with its exact code, the TEE policy through a test-only quote
// parser, random and mutated reports, and the CLI round trip into verifyAttestation.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_VERIFIERS,
  issueAuthorityAttestation,
  teeReportData,
  teeVerifier,
  verifyAttestation,
  type AttestationContext,
  type AttestationVerifier,
  type TeeQuote,
  type TeeQuoteParser,
} from '../src/state/attestation.ts';
import { agentCommand, attestationFromJSON, readAttestationFile } from '../src/cli/agent.ts';
import { AuthorityReportCodec, type Attestation } from '../src/codec/types.ts';
import { defaultAppParams, type AgentParams } from '../src/state/params.ts';
import { generateKeyPair, keyFileToJSON, sign, verify, type KeyPair } from '../src/crypto/keys.ts';
import { concat, fromBase64, readU64be, toBase64, toHex, u64be, utf8 } from '../src/crypto/bytes.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { formatTime, parseTime } from '../src/codec/time.ts';
import { AppError, type ErrorCode } from '../src/errors.ts';
import { Rng } from './helpers/rng.ts';
import { cli } from './helpers/inproc.ts';

const NS = 1_000_000_000n;
const DAY = 86_400n * NS;
const CHAIN = 'agentcluster-test-1';
const NOW = parseTime('2026-12-01T00:00:00Z');
const MAX_SECONDS = 90n * 86_400n;
const MAX = MAX_SECONDS * NS;

const rng = new Rng(6);
const authority = generateKeyPair(rng.bytes(32));
const stranger = generateKeyPair(rng.bytes(32));
const agent = generateKeyPair(rng.bytes(32));
const otherAgent = generateKeyPair(rng.bytes(32));

function params(over: Partial<AgentParams> = {}): AgentParams {
  return {
    ...defaultAppParams().agents,
    attestation_max_seconds: MAX_SECONDS,
    attestation_authorities: { acme: toHex(authority.publicKey) },
    tee_measurements: {},
    ...over,
  };
}

function ctx(over: Partial<AttestationContext> = {}): AttestationContext {
  return { chainId: CHAIN, agentPubKey: agent.publicKey, now: NOW, params: params(), ...over };
}

function issue(over: { authority?: KeyPair; chainId?: string; agentPubKey?: Uint8Array; issuedNs?: bigint; expiresNs?: bigint } = {}): Attestation {
  return issueAuthorityAttestation({
    authority: over.authority ?? authority,
    chainId: over.chainId ?? CHAIN,
    agentPubKey: over.agentPubKey ?? agent.publicKey,
    issuedNs: over.issuedNs ?? NOW - DAY,
    expiresNs: over.expiresNs ?? NOW + 29n * DAY,
  });
}

/** The AppError code verifyAttestation throws, or 'OK'. Anything else thrown fails the test by propagating. */
function outcome(a: Attestation, c: AttestationContext = ctx(), verifiers?: ReadonlyMap<string, AttestationVerifier>): ErrorCode | 'OK' {
  try {
    verifyAttestation(a, c, verifiers);
    return 'OK';
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

function withReport(a: Attestation, edit: (r: { statement: Uint8Array; authorityPubKey: Uint8Array; signature: Uint8Array }) => void): Attestation {
  const r = AuthorityReportCodec.decode(a.report);
  edit(r);
  return { kind: a.kind, report: AuthorityReportCodec.encode(r) };
}

t.test('authority: a valid attestation is accepted and returns its expiry', async (t) => {
  const expiresNs = NOW + 29n * DAY;
  const v = verifyAttestation(issue({ expiresNs }), ctx());
  t.equal(v.kind, 'authority');
  t.equal(v.expiresNs, expiresNs);
  t.equal(v.measurement.length, 0);
  t.same(DEFAULT_VERIFIERS.has('authority') && DEFAULT_VERIFIERS.size, 1, 'the default build verifies `authority` only');
});

t.test('authority: table of acceptances and rejections, each with its exact code', async (t) => {
  const valid = issue();
  const flippedSig = withReport(valid, (r) => {
    r.signature = Uint8Array.from(r.signature);
    r.signature[10] ^= 0x01;
  });
  const flippedStatement = withReport(valid, (r) => {
    // the last byte of the statement is inside expires_ns's varint: still decodes, no longer what was signed
    r.statement = Uint8Array.from(r.statement);
    r.statement[r.statement.length - 1] ^= 0x01;
  });
  const garbageStatement = withReport(valid, (r) => {
    r.statement = new Uint8Array([0xff, 0xff, 0xff]);
  });
  const rows: Array<[string, Attestation, AttestationContext, ErrorCode | 'OK']> = [
    ['valid', valid, ctx(), 'OK'],
    ['issued exactly now', issue({ issuedNs: NOW, expiresNs: NOW + DAY }), ctx(), 'OK'],
    ['expires one ns after now', issue({ expiresNs: NOW + 1n }), ctx(), 'OK'],
    ['validity exactly attestation_max_seconds', issue({ issuedNs: NOW - DAY, expiresNs: NOW - DAY + MAX }), ctx(), 'OK'],
    ['validity one ns longer than attestation_max_seconds', issue({ issuedNs: NOW - DAY, expiresNs: NOW - DAY + MAX + 1n }), ctx(), 'ATTESTATION_EXPIRED'],
    ['validity longer than a lowered attestation_max_seconds', valid, ctx({ params: params({ attestation_max_seconds: 86_400n }) }), 'ATTESTATION_EXPIRED'],
    ['undecodable report', { kind: 'authority', report: new Uint8Array([0xff, 0x01, 0x02]) }, ctx(), 'BAD_ATTESTATION'],
    ['non-canonical report (unknown field)', { kind: 'authority', report: concat(valid.report, new Uint8Array([0x20, 0x01])) }, ctx(), 'BAD_ATTESTATION'],
    ['empty report', { kind: 'authority', report: new Uint8Array(0) }, ctx(), 'BAD_ATTESTATION'],
    ['statement is not an AttestationStatement', garbageStatement, ctx(), 'BAD_ATTESTATION'],
    ['unknown authority key', issue({ authority: stranger }), ctx(), 'BAD_ATTESTATION'],
    ['no authorities listed at all', valid, ctx({ params: params({ attestation_authorities: {} }) }), 'BAD_ATTESTATION'],
    ['bad signature (flipped byte)', flippedSig, ctx(), 'BAD_ATTESTATION'],
    ['statement changed after signing', flippedStatement, ctx(), 'BAD_ATTESTATION'],
    ['statement for another chain', issue({ chainId: 'other-chain' }), ctx(), 'ATTESTATION_MISMATCH'],
    ['valid attestation checked on another chain', valid, ctx({ chainId: 'other-chain' }), 'ATTESTATION_MISMATCH'],
    ['statement for another agent key', issue({ agentPubKey: otherAgent.publicKey }), ctx(), 'ATTESTATION_MISMATCH'],
    ['issued in the future', issue({ issuedNs: NOW + 1n, expiresNs: NOW + DAY }), ctx(), 'ATTESTATION_EXPIRED'],
    ['expires exactly now', issue({ expiresNs: NOW }), ctx(), 'ATTESTATION_EXPIRED'],
    ['expired before now', issue({ issuedNs: NOW - 10n * DAY, expiresNs: NOW - DAY }), ctx(), 'ATTESTATION_EXPIRED'],
    ['unknown kind', { kind: 'magic', report: valid.report }, ctx(), 'UNSUPPORTED_ATTESTATION'],
    ['known TEE kind without a parser (tdx)', { kind: 'tdx', report: valid.report }, ctx(), 'UNSUPPORTED_ATTESTATION'],
    ['known TEE kind without a parser (nvidia-gpu)', { kind: 'nvidia-gpu', report: valid.report }, ctx(), 'UNSUPPORTED_ATTESTATION'],
    // order of the checks: the first failing one decides
    ['unknown authority wins over a chain mismatch', issue({ authority: stranger, chainId: 'other-chain' }), ctx(), 'BAD_ATTESTATION'],
    ['bad signature wins over an agent mismatch', withReport(issue({ agentPubKey: otherAgent.publicKey }), (r) => (r.signature = new Uint8Array(64))), ctx(), 'BAD_ATTESTATION'],
    ['chain mismatch wins over expiry', issue({ chainId: 'other-chain', expiresNs: NOW }), ctx(), 'ATTESTATION_MISMATCH'],
  ];
  for (const [name, a, c, expected] of rows) t.equal(outcome(a, c), expected, name);
});

t.test('authority: error messages say what is wrong and what to do', async (t) => {
  const unknown = thrown(() => verifyAttestation(issue({ authority: stranger }), ctx()));
  t.match(unknown.message, toHex(stranger.publicKey));
  t.match(unknown.message, /not a trusted authority in agents\.attestation_authorities/);
  const chain = thrown(() => verifyAttestation(issue({ chainId: 'other-chain' }), ctx()));
  t.match(chain.message, /"other-chain"/);
  t.match(chain.message, CHAIN);
  const future = thrown(() => verifyAttestation(issue({ issuedNs: NOW + 1n, expiresNs: NOW + DAY }), ctx()));
  t.match(future.message, /issued in the future/);
  const long = thrown(() => verifyAttestation(issue({ issuedNs: NOW - DAY, expiresNs: NOW - DAY + MAX + NS }), ctx()));
  t.match(long.message, /longer than agents\.attestation_max_seconds \(7776000 s\)/);
  const decode = thrown(() => verifyAttestation({ kind: 'authority', report: new Uint8Array([0xff]) }, ctx()));
  t.match(decode.message, /not an encoded AuthorityReport/);
  const tdx = thrown(() => verifyAttestation({ kind: 'tdx', report: new Uint8Array([1]) }, ctx()));
  t.equal(
    tdx.message,
    "this build has no verifier for tdx quotes (it needs the vendor's certificate chain); register with an `authority` attestation or run a node built with a tdx parser",
  );
  const magic = thrown(() => verifyAttestation({ kind: 'magic', report: new Uint8Array([1]) }, ctx()));
  t.match(magic.message, /"magic" is not supported; use one of: authority/);
  for (const e of [unknown, chain, future, long, decode, tdx, magic]) {
    t.notOk(e.message.includes('\n'), 'one line');
    t.ok(e.message.includes(';'), 'says what to do after the semicolon');
  }
});

t.test('issueAuthorityAttestation refuses bad input', async (t) => {
  t.equal(thrown(() => issue({ agentPubKey: new Uint8Array(31) })).code, 'INVALID_FIELD');
  t.equal(thrown(() => issue({ issuedNs: NOW, expiresNs: NOW })).code, 'INVALID_FIELD');
  t.equal(thrown(() => issue({ issuedNs: -1n })).code, 'INVALID_FIELD');
  t.equal(thrown(() => issue({ chainId: '' })).code, 'INVALID_FIELD');
});

t.test('property: random bytes as an authority report always throw AppError BAD_ATTESTATION', async (t) => {
  const r = new Rng(2026);
  const codes = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const report = r.bytes(r.int(0, 300));
    let code = 'OK';
    try {
      verifyAttestation({ kind: 'authority', report }, ctx());
    } catch (err) {
      code = err instanceof AppError ? err.code : `non-AppError ${(err as Error)?.name}`;
    }
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  t.same(Object.fromEntries(codes), { BAD_ATTESTATION: 200 });
});

t.test('property: any single bit flip of a valid report is BAD_ATTESTATION', async (t) => {
  const r = new Rng(7);
  const valid = issue();
  const codes = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const report = Uint8Array.from(valid.report);
    report[r.int(0, report.length - 1)] ^= 1 << r.int(0, 7);
    let code = 'OK';
    try {
      verifyAttestation({ kind: 'authority', report }, ctx());
    } catch (err) {
      code = err instanceof AppError ? err.code : `non-AppError ${(err as Error)?.name}`;
    }
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  t.same(Object.fromEntries(codes), { BAD_ATTESTATION: 300 });
});

// ---------------------------------------------------------------------------------------------------------------
// TEE policy, through a test-only quote parser
// ---------------------------------------------------------------------------------------------------------------

// 'test-tee' report layout: report_data (64) || measurement length (1) || measurement || issued_ns (u64 BE) ||
// ed25519 signature (64) of everything before it by the test root key (the stand-in for a vendor chain).
const teeRoot = generateKeyPair(rng.bytes(32));
const MEASUREMENT = sha256(utf8('agent build 1.0'));

function quote(q: { reportData?: Uint8Array; measurement?: Uint8Array; issuedNs?: bigint; signer?: KeyPair } = {}): Uint8Array {
  const reportData = q.reportData ?? concat(teeReportData(CHAIN, agent.publicKey), new Uint8Array(32).fill(7));
  const measurement = q.measurement ?? MEASUREMENT;
  const body = concat(reportData, new Uint8Array([measurement.length]), measurement, u64be(q.issuedNs ?? NOW - DAY));
  return concat(body, sign(body, (q.signer ?? teeRoot).secretKey));
}

const testTeeParser: TeeQuoteParser = {
  kind: 'test-tee',
  parse(report: Uint8Array): TeeQuote {
    const bad = (why: string): AppError => new AppError('BAD_ATTESTATION', `test-tee quote ${why}; send a quote signed by the test root`);
    if (report.length < 64 + 1 + 8 + 64) throw bad('is too short');
    const mlen = report[64];
    const bodyLength = 64 + 1 + mlen + 8;
    if (report.length !== bodyLength + 64) throw bad('has the wrong length');
    const body = report.subarray(0, bodyLength);
    if (!verify(report.subarray(bodyLength), body, teeRoot.publicKey)) throw bad('is not signed by the test root');
    return { reportData: body.subarray(0, 64), measurement: body.subarray(65, 65 + mlen), issuedNs: readU64be(body, 65 + mlen) };
  },
};

const TEE_VERIFIERS: ReadonlyMap<string, AttestationVerifier> = new Map([...DEFAULT_VERIFIERS, ['test-tee', teeVerifier(testTeeParser)]]);

function teeCtx(over: Partial<AttestationContext> = {}, measurements: Record<string, string> = { build1: `test-tee:${toHex(MEASUREMENT)}` }): AttestationContext {
  return ctx({ params: params({ tee_measurements: measurements }), ...over });
}

t.test('teeReportData is sha256(domain || u8(len chain id) || chain id || agent key)', async (t) => {
  const expected = sha256(concat(utf8('agentcluster/attestation/v1'), new Uint8Array([CHAIN.length]), utf8(CHAIN), agent.publicKey));
  t.equal(toHex(teeReportData(CHAIN, agent.publicKey)), toHex(expected));
  t.not(toHex(teeReportData(CHAIN, otherAgent.publicKey)), toHex(expected), 'another key, another binding');
  t.not(toHex(teeReportData('agentcluster-test-', agent.publicKey)), toHex(expected), 'the length prefix separates chain id and key');
});

t.test('TEE policy: accepted when bound and allow-listed; each rejection with its code', async (t) => {
  const good = { kind: 'test-tee', report: quote() };
  const v = verifyAttestation(good, teeCtx(), TEE_VERIFIERS);
  t.equal(v.kind, 'test-tee');
  t.equal(v.expiresNs, NOW - DAY + MAX, 'expires attestation_max_seconds after the quote');
  t.equal(toHex(v.measurement), toHex(MEASUREMENT));

  const rows: Array<[string, Attestation, AttestationContext, ErrorCode | 'OK']> = [
    ['valid', good, teeCtx(), 'OK'],
    ['32 bytes of report data suffice', { kind: 'test-tee', report: quote({ reportData: concat(teeReportData(CHAIN, agent.publicKey), new Uint8Array(32)) }) }, teeCtx(), 'OK'],
    ['issued exactly now', { kind: 'test-tee', report: quote({ issuedNs: NOW }) }, teeCtx(), 'OK'],
    ['report data for another agent', { kind: 'test-tee', report: quote({ reportData: concat(teeReportData(CHAIN, otherAgent.publicKey), new Uint8Array(32)) }) }, teeCtx(), 'ATTESTATION_MISMATCH'],
    ['report data for another chain', good, teeCtx({ chainId: 'other-chain' }), 'ATTESTATION_MISMATCH'],
    ['unbound report data', { kind: 'test-tee', report: quote({ reportData: new Uint8Array(64) }) }, teeCtx(), 'ATTESTATION_MISMATCH'],
    ['measurement not allow-listed', { kind: 'test-tee', report: quote({ measurement: sha256(utf8('agent build 2.0')) }) }, teeCtx(), 'BAD_ATTESTATION'],
    ['allow-list empty', good, teeCtx({}, {}), 'BAD_ATTESTATION'],
    ['measurement listed for another kind only', good, teeCtx({}, { x: `tdx:${toHex(MEASUREMENT)}` }), 'BAD_ATTESTATION'],
    ['empty measurement', { kind: 'test-tee', report: quote({ measurement: new Uint8Array(0) }) }, teeCtx(), 'BAD_ATTESTATION'],
    ['vendor signature does not verify', { kind: 'test-tee', report: quote({ signer: stranger }) }, teeCtx(), 'BAD_ATTESTATION'],
    ['truncated quote', { kind: 'test-tee', report: good.report.subarray(0, 50) }, teeCtx(), 'BAD_ATTESTATION'],
    ['issued in the future', { kind: 'test-tee', report: quote({ issuedNs: NOW + 1n }) }, teeCtx(), 'ATTESTATION_EXPIRED'],
    ['expired: issued + max == now', { kind: 'test-tee', report: quote({ issuedNs: NOW - MAX }) }, teeCtx(), 'ATTESTATION_EXPIRED'],
    ['still valid: issued + max == now + 1', { kind: 'test-tee', report: quote({ issuedNs: NOW - MAX + 1n }) }, teeCtx(), 'OK'],
    ['expired long ago', { kind: 'test-tee', report: quote({ issuedNs: NOW - 2n * MAX }) }, teeCtx(), 'ATTESTATION_EXPIRED'],
    ['test-tee in the default build', good, teeCtx(), 'UNSUPPORTED_ATTESTATION'],
  ];
  for (const [name, a, c, expected] of rows) {
    t.equal(outcome(a, c, name === 'test-tee in the default build' ? DEFAULT_VERIFIERS : TEE_VERIFIERS), expected, name);
  }

  const notListed = thrown(() => verifyAttestation({ kind: 'test-tee', report: quote({ measurement: sha256(utf8('agent build 2.0')) }) }, teeCtx(), TEE_VERIFIERS));
  t.match(notListed.message, toHex(sha256(utf8('agent build 2.0'))), 'names the measurement in hex');
  t.match(notListed.message, /agents\.tee_measurements/, 'names the param to add it to');
  t.match(notListed.message, /governance/);
  const expired = thrown(() => verifyAttestation({ kind: 'test-tee', report: quote({ issuedNs: NOW - MAX }) }, teeCtx(), TEE_VERIFIERS));
  t.match(expired.message, /renew it with a fresh quote/);
  const mismatch = thrown(() => verifyAttestation(good, teeCtx({ agentPubKey: otherAgent.publicKey }), TEE_VERIFIERS));
  t.match(mismatch.message, toHex(teeReportData(CHAIN, otherAgent.publicKey)), 'says which report data is expected');
});

t.test('TEE policy: a parser that throws something other than AppError rejects with BAD_ATTESTATION', async (t) => {
  const sloppy: TeeQuoteParser = {
    kind: 'sloppy-tee',
    parse(report) {
      return { reportData: report.subarray(0, 64), measurement: report.subarray(64, 96), issuedNs: new DataView(report.buffer).getBigUint64(200) };
    },
  };
  const verifiers = new Map([['sloppy-tee', teeVerifier(sloppy)]]);
  t.equal(outcome({ kind: 'sloppy-tee', report: new Uint8Array(10) }, ctx(), verifiers), 'BAD_ATTESTATION');
  const unsupported = thrown(() => verifyAttestation({ kind: 'authority', report: issue().report }, ctx(), verifiers));
  t.equal(unsupported.code, 'UNSUPPORTED_ATTESTATION');
  t.match(unsupported.message, /use one of: sloppy-tee/);
});

// ---------------------------------------------------------------------------------------------------------------
// CLI: agentcluster agent attest, readAttestationFile
// ---------------------------------------------------------------------------------------------------------------

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agentcluster-attest-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('cli: agent attest issues an attestation that verifies', async (t) => {
  const dir = await tempDir(t);
  const keyFile = join(dir, 'authority_key.json');
  await writeFile(keyFile, JSON.stringify(keyFileToJSON(authority), null, 2));

  const out = await cli('agent', 'attest', '--authority-key', keyFile, '--pub-key', toHex(agent.publicKey), '--chain-id', CHAIN, '--valid-for', '3600', '--issued-at', '2026-12-01T00:00:00Z');
  t.equal(out.code, 0, out.stderr);
  t.equal(out.stderr, '');
  const json = JSON.parse(out.stdout) as { kind: string; report: string; expires_at: string };
  t.same(Object.keys(json).sort(), ['expires_at', 'kind', 'report']);
  t.equal(json.kind, 'authority');
  t.equal(json.expires_at, '2026-12-01T01:00:00.000000000Z');
  t.ok(fromBase64(json.report).length > 0);

  const a = attestationFromJSON(json);
  const v = verifyAttestation(a, ctx({ now: NOW + NS }));
  t.equal(v.expiresNs, NOW + 3600n * NS);
  t.equal(formatTime(v.expiresNs), json.expires_at);
  t.equal(outcome(a, ctx({ now: NOW + 3600n * NS })), 'ATTESTATION_EXPIRED', 'expired at expires_at');
  t.equal(outcome(a, ctx({ agentPubKey: otherAgent.publicKey, now: NOW + NS })), 'ATTESTATION_MISMATCH');

  // the printed JSON is the file that `tx agent register --attestation FILE` reads
  const file = join(dir, 'attestation.json');
  await writeFile(file, out.stdout);
  const read = await readAttestationFile(file);
  t.equal(read.kind, 'authority');
  t.equal(toBase64(read.report), json.report);

  // the key as `keys show` prints it (base64) works too, and lower-case hex
  const b64 = await cli('agent', 'attest', '--authority-key', keyFile, '--pub-key', toBase64(agent.publicKey), '--chain-id', CHAIN, '--issued-at', '2026-12-01T00:00:00Z');
  t.equal(b64.code, 0, b64.stderr);
  const lower = await cli('agent', 'attest', '--authority-key', keyFile, '--pub-key', toHex(agent.publicKey).toLowerCase(), '--chain-id', CHAIN, '--issued-at', '2026-12-01T00:00:00Z');
  t.equal(lower.code, 0, lower.stderr);
  t.equal(JSON.parse(b64.stdout).report, JSON.parse(lower.stdout).report, 'same attestation either way (ed25519 is deterministic)');
  t.equal(JSON.parse(b64.stdout).expires_at, '2026-12-31T00:00:00.000000000Z', 'default validity: 30 days');
});

t.test('cli: agent attest defaults issued-at to now, truncated to the second', async (t) => {
  const dir = await tempDir(t);
  const keyFile = join(dir, 'k.json');
  await writeFile(keyFile, JSON.stringify(keyFileToJSON(authority)));
  const before = BigInt(Math.floor(Date.now() / 1000)) * NS;
  const out = await cli('agent', 'attest', '--authority-key', keyFile, '--pub-key', toHex(agent.publicKey), '--chain-id', CHAIN, '--valid-for', '60');
  const after = BigInt(Math.floor(Date.now() / 1000)) * NS;
  t.equal(out.code, 0, out.stderr);
  const json = JSON.parse(out.stdout) as { expires_at: string };
  const expires = parseTime(json.expires_at);
  t.equal(expires % NS, 0n, 'whole seconds');
  t.ok(expires >= before + 60n * NS && expires <= after + 60n * NS);
  t.equal(verifyAttestation(attestationFromJSON(json), ctx({ now: after })).expiresNs, expires);
});

t.test('cli: agent attest errors', async (t) => {
  const dir = await tempDir(t);
  const keyFile = join(dir, 'k.json');
  await writeFile(keyFile, JSON.stringify(keyFileToJSON(authority)));
  const pub = toHex(agent.publicKey);
  const base = ['agent', 'attest', '--authority-key', keyFile, '--pub-key', pub, '--chain-id', CHAIN];
  const rows: Array<[string, string[], number, RegExp]> = [
    ['missing --pub-key', ['agent', 'attest', '--authority-key', keyFile, '--chain-id', CHAIN], 2, /missing required option --pub-key/],
    ['missing --authority-key', ['agent', 'attest', '--pub-key', pub, '--chain-id', CHAIN], 2, /missing required option --authority-key/],
    ['no subcommand', ['agent'], 2, /'agent' needs a subcommand/],
    ['bad --valid-for', [...base, '--valid-for', '1.5'], 2, /--valid-for must be a whole number of seconds/],
    ['zero --valid-for', [...base, '--valid-for', '0'], 2, /--valid-for/],
    ['bad --issued-at', [...base, '--issued-at', 'yesterday'], 2, /--issued-at: "yesterday" is not an RFC 3339 time/],
    ['short --pub-key', ['agent', 'attest', '--authority-key', keyFile, '--pub-key', 'ABCD', '--chain-id', CHAIN], 1, /error \[INVALID_FIELD\]: --pub-key must be/],
    ['small-order --pub-key', ['agent', 'attest', '--authority-key', keyFile, '--pub-key', '01' + '00'.repeat(31), '--chain-id', CHAIN], 1, /error \[BAD_KEY\]: --pub-key is not a valid ed25519 public key/],
    ['bad --chain-id', ['agent', 'attest', '--authority-key', keyFile, '--pub-key', pub, '--chain-id', 'has space'], 1, /error \[INVALID_FIELD\]: --chain-id/],
    ['missing key file', ['agent', 'attest', '--authority-key', join(dir, 'nope.json'), '--pub-key', pub, '--chain-id', CHAIN], 1, /error \[NOT_FOUND\]: .*nope\.json does not exist/],
  ];
  for (const [name, argv, code, message] of rows) {
    const out = await cli(...argv);
    t.equal(out.code, code, name);
    t.match(out.stderr, message, name);
    t.equal(out.stdout, '', `${name}: nothing on stdout`);
  }
  const notJson = join(dir, 'bad.json');
  await writeFile(notJson, '{not json');
  const bad = await cli('agent', 'attest', '--authority-key', notJson, '--pub-key', pub, '--chain-id', CHAIN);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /error \[BAD_KEY\]: .*bad\.json is not valid JSON/);

  const help = await cli('agent', '--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /attest\s+as an attestation authority/);
  t.equal(agentCommand.subcommands?.map((c) => c.name).join(','), 'attest,run');
});

t.test('readAttestationFile: clear INVALID_FIELD errors naming the file and field', async (t) => {
  const dir = await tempDir(t);
  const write = async (name: string, text: string): Promise<string> => {
    const p = join(dir, name);
    await writeFile(p, text);
    return p;
  };
  const report = toBase64(issue().report);
  const rows: Array<[string, string, ErrorCode, string | undefined]> = [
    ['not-json.json', '{"kind":', 'INVALID_FIELD', undefined],
    ['array.json', '[]', 'INVALID_FIELD', undefined],
    ['no-kind.json', JSON.stringify({ report }), 'INVALID_FIELD', 'kind'],
    ['bad-kind.json', JSON.stringify({ kind: 'Authority!', report }), 'INVALID_FIELD', 'kind'],
    ['no-report.json', JSON.stringify({ kind: 'authority' }), 'INVALID_FIELD', 'report'],
    ['bad-report.json', JSON.stringify({ kind: 'authority', report: 'not base64!' }), 'INVALID_FIELD', 'report'],
    ['empty-report.json', JSON.stringify({ kind: 'authority', report: '' }), 'INVALID_FIELD', 'report'],
  ];
  for (const [name, text, code, field] of rows) {
    const p = await write(name, text);
    let err: unknown;
    try {
      await readAttestationFile(p);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof AppError, name);
    const e = err as AppError;
    t.equal(e.code, code, name);
    t.match(e.message, name, `${name}: names the file`);
    if (field !== undefined) {
      t.equal(e.meta.field, field, `${name}: names the field`);
      t.match(e.message, `"${field}"`);
    }
  }
  let missing: unknown;
  try {
    await readAttestationFile(join(dir, 'absent.json'));
  } catch (e) {
    missing = e;
  }
  t.equal((missing as AppError).code, 'NOT_FOUND');
  const ok = await readAttestationFile(await write('ok.json', JSON.stringify({ kind: 'authority', report, expires_at: 'ignored' })));
  t.equal(outcome(ok), 'OK');
});
