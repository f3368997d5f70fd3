// The CometBFT-compatible method handlers (src/rpc/cometbft.ts), called directly (no sockets) on a real chain: a
// single validator's consensus host on a virtual clock commits real blocks with real transfers (test/helpers/
// rpc-chain.ts). Every method, its bad parameters, and the search semantics (each operator, AND, paging, order_by,
// the scan limit). The shapes themselves are checked field by field in rpc-shapes.test.ts.
import t, { type Test } from 'tap';
import { RpcChain } from './helpers/rpc-chain.ts';
import { fixture, openApp, send } from './helpers/chain.ts';
import { RpcCode, RpcError, type ChainEvent } from '../src/rpc/types.ts';
import { TxTree, txProof, verifyTxProof, type TxProofJSON } from '../src/rpc/encode.ts';
import { dataHashOf } from '../src/consensus/block.ts';
import { merkleRoot } from '../src/crypto/merkle.ts';
import { MAX_PER_PAGE, searchBlocks, searchTxs } from '../src/rpc/search.ts';
import { parseQuery } from '../src/rpc/query.ts';
import { blockEvents } from '../src/rpc/publish.ts';
import { addressOf, type KeyPair } from '../src/crypto/keys.ts';
import { sha256 } from '../src/crypto/hash.ts';
import { fromHex, toHex } from '../src/crypto/bytes.ts';
import { BlockCodec, CommitCodec } from '../src/codec/types.ts';
import { blockIdOf, verifyCommit } from '../src/consensus/block.ts';
import { decodeValidatorSet } from '../src/consensus/host.ts';
import { ErrorCodes } from '../src/errors.ts';

const addr = (k: KeyPair): string => toHex(addressOf(k.publicKey));
const hashOf = (tx: Uint8Array): string => toHex(sha256(tx));

/** Expects the promise to fail with an RpcError of `code` whose data matches `re`. */
async function rejects(t: Test, p: Promise<unknown>, code: number, re: RegExp, what: string): Promise<void> {
  try {
    await p;
    t.fail(`${what}: expected an error`);
  } catch (err) {
    if (!(err instanceof RpcError)) {
      t.fail(`${what}: expected an RpcError, got ${(err as Error).message}`);
      return;
    }
    t.equal(err.code, code, `${what}: code ${code}`);
    t.match(err.data, re, `${what}: ${err.data}`);
  }
}

t.test('methods on a chain of 23 blocks with transfers', async (t) => {
  const c = await RpcChain.start(t);
  const [u0, u1, u2, u3, u4] = c.fx.users;
  // Height 1 is committed by start() (empty). Height 2: three transfers; height 3: one transfer and one tx with a
  // wrong nonce (it fails the ante checks: no events, no fee); height 5: 35 small transfers; the rest empty.
  const a = send(u0, u1, 100n, 0n);
  const b = send(u1, u2, 200n, 0n);
  const cc = send(u0, u2, 300n, 1n);
  c.include(a, b, cc);
  await c.next();
  const d = send(u2, u3, 50n, 0n);
  const bad = send(u0, u4, 1n, 7n);
  c.include(d, bad);
  await c.next();
  await c.next();
  const many = Array.from({ length: 35 }, (_, i) => send(u3, u4, BigInt(i + 1), BigInt(i)));
  c.include(...many);
  await c.next();
  while (c.app.head().height < 23n) await c.next();
  const latest = c.app.head().height;
  t.equal(latest, 23n);

  t.test('health', async (t) => {
    t.same(await c.call('health'), {});
  });

  t.test('status: latest and earliest block, app hash of the latest header, our validator', async (t) => {
    const s = await c.call('status');
    const last = BlockCodec.decode((await c.app.store.getBlock(23n))!);
    t.equal(s.sync_info.latest_block_height, '23');
    t.equal(s.sync_info.latest_block_hash, toHex(c.app.head().blockHash));
    t.equal(s.sync_info.latest_app_hash, toHex(last.header.appHash), 'the app hash in the latest header (CometBFT)');
    t.equal(s.sync_info.earliest_block_height, '1');
    t.equal(s.sync_info.catching_up, false);
    t.equal(s.node_info.network, 'test-chain');
    t.equal(s.node_info.version, '0.38.x');
    t.equal(s.node_info.other.tx_index, 'on');
    t.equal(s.validator_info.address, addr(c.fx.validator));
    t.equal(s.validator_info.voting_power, c.fx.genesis.validators[0].stake.toString());
    c.catchingUp = true;
    t.equal((await c.call('status')).sync_info.catching_up, true, 'catching_up follows the node');
    c.catchingUp = false;
  });

  t.test('net_info lists the peers the node reports', async (t) => {
    const none = await c.call('net_info');
    t.same({ listening: none.listening, n_peers: none.n_peers, peers: none.peers }, { listening: true, n_peers: '0', peers: [] });
    c.peers.push({ id: 'cd'.repeat(20), moniker: 'peer-1', remoteIp: '10.0.0.2', listenAddr: 'tcp://10.0.0.2:26656', isOutbound: true });
    const one = await c.call('net_info');
    t.equal(one.n_peers, '1');
    t.equal(one.peers[0].node_info.id, 'cd'.repeat(20));
    t.equal(one.peers[0].remote_ip, '10.0.0.2');
    t.equal(one.peers[0].is_outbound, true);
    c.peers.length = 0;
  });

  t.test('genesis', async (t) => {
    const g = (await c.call('genesis')).genesis;
    t.equal(g.chain_id, 'test-chain');
    t.equal(g.initial_height, '1');
    t.equal(g.validators.length, 1);
    t.equal(g.validators[0].address, addr(c.fx.validator));
    t.equal(g.validators[0].name, 'v0');
    t.same(Object.keys(g.app_state), ['params', 'allocations']);
  });

  t.test('blockchain: newest first, at most 20, min/max rules', async (t) => {
    const all = await c.call('blockchain');
    t.equal(all.last_height, '23');
    t.same(all.block_metas.map((m: any) => m.header.height), Array.from({ length: 20 }, (_, i) => String(23 - i)), '20 metas, 23 down to 4');
    const some = await c.call('blockchain', { minHeight: 2n, maxHeight: 5n });
    t.same(some.block_metas.map((m: any) => m.header.height), ['5', '4', '3', '2']);
    t.same(some.block_metas.map((m: any) => m.num_txs), ['35', '0', '2', '3']);
    const b5 = (await c.app.store.getBlock(5n))!;
    t.equal(some.block_metas[0].block_size, String(b5.length));
    t.equal(some.block_metas[0].block_id.hash, toHex(blockIdOf(BlockCodec.decode(b5).header, b5).hash));
    const clipped = await c.call('blockchain', { minHeight: 0n, maxHeight: 100n });
    t.equal(clipped.block_metas[0].header.height, '23', 'max is clipped to the latest height');
    await rejects(t, c.call('blockchain', { minHeight: 7n, maxHeight: 3n }), RpcCode.INVALID_PARAMS, /min height 7 can't be greater than max height 3/, 'min > max');
    await rejects(t, c.call('blockchain', { minHeight: -1n }), RpcCode.INVALID_PARAMS, /non-negative/, 'negative');
  });

  t.test('block, header, block_by_hash, header_by_hash', async (t) => {
    const b2 = await c.call('block', { height: 2n });
    t.equal(b2.block.header.height, '2');
    t.same(b2.block.data.txs, [a, b, cc].map((x) => Buffer.from(x).toString('base64')));
    t.equal(b2.block.last_commit.height, '1');
    t.equal((await c.call('block')).block.header.height, '23', 'no height: the latest');
    t.same(await c.call('block_by_hash', { hash: fromHex(b2.block_id.hash) }), b2);
    t.same((await c.call('header', { height: 2n })).header, b2.block.header);
    t.same((await c.call('header_by_hash', { hash: fromHex(b2.block_id.hash) })).header, b2.block.header);
    t.same(await c.call('block_by_hash', { hash: sha256(new Uint8Array([1])) }), { block_id: { hash: '', parts: { total: 0, hash: '' } }, block: null }, 'an unknown hash: an empty result, as CometBFT');
    t.same(await c.call('header_by_hash', { hash: sha256(new Uint8Array([1])) }), { header: null });
    for (const m of ['block', 'header', 'block_results', 'commit']) {
      await rejects(t, c.call(m, { height: 0n }), RpcCode.INVALID_PARAMS, /^height must be greater than 0, but got 0$/, `${m} at height 0`);
      await rejects(t, c.call(m, { height: 24n }), RpcCode.INVALID_PARAMS, /^height 24 must be less than or equal to the current blockchain height 23$/, `${m} beyond the latest`);
    }
    for (const m of ['block_by_hash', 'header_by_hash', 'tx']) {
      await rejects(t, c.call(m, { hash: new Uint8Array(31) }), RpcCode.INVALID_PARAMS, /must be 32 bytes \(64 hex digits\), got 31 bytes/, `${m} with a short hash`);
    }
  });

  t.test('block_results: tx results, failed tx, block events', async (t) => {
    const r2 = await c.call('block_results', { height: 2n });
    t.equal(r2.height, '2');
    t.same(r2.txs_results.map((x: any) => x.code), [0, 0, 0]);
    t.same(r2.txs_results[0].events.find((e: any) => e.type === 'transfer').attributes, [
      { key: 'sender', value: addr(u0), index: true },
      { key: 'recipient', value: addr(u1), index: true },
      { key: 'amount', value: '100', index: true },
    ]);
    t.same(r2.finalize_block_events.map((e: any) => e.type), ['emission', 'emission', 'emission', 'emission', 'rewards', 'fees']);
    const stored = (await c.app.store.getResults(2n))!;
    t.equal(r2.app_hash, Buffer.from(stored.appHash).toString('base64'), 'app_hash is base64, as CometBFT prints []byte');
    const r3 = await c.call('block_results', { height: 3n });
    t.equal(r3.txs_results[1].code, ErrorCodes.WRONG_NONCE);
    t.equal(r3.txs_results[1].codespace, 'agentcluster');
    t.match(r3.txs_results[1].log, /WRONG_NONCE/);
    t.same(r3.txs_results[1].events, []);
    const r4 = await c.call('block_results', { height: 4n });
    t.equal(r4.txs_results, null, 'an empty block: null, as CometBFT prints a nil list');
    t.equal((await c.call('block_results')).height, '23');
  });

  t.test('commit: the latest is the seen commit, an older one the canonical commit of the next block', async (t) => {
    const set = decodeValidatorSet((await c.app.store.getValidatorSet(5n))!);
    const old = await c.call('commit', { height: 5n });
    t.equal(old.canonical, true);
    const b6 = BlockCodec.decode((await c.app.store.getBlock(6n))!);
    t.equal(old.signed_header.commit.block_id.hash, toHex(b6.header.lastBlockId.hash), 'the commit names block 5');
    t.equal(old.signed_header.header.height, '5');
    t.equal(verifyCommit('test-chain', b6.lastCommit, set, 5n, b6.header.lastBlockId), null);
    const last = await c.call('commit');
    t.equal(last.canonical, false);
    t.equal(last.signed_header.header.height, '23');
    const seen = CommitCodec.decode((await c.app.store.getCommit(23n))!);
    t.equal(last.signed_header.commit.block_id.hash, toHex(seen.blockId.hash));
    t.equal(last.signed_header.commit.signatures[0].block_id_flag, 2);
  });

  t.test('validators: default height is the next one, paging', async (t) => {
    const v = await c.call('validators');
    t.equal(v.block_height, '24', 'the set of the height being decided');
    t.same([v.count, v.total], ['1', '1']);
    t.equal(v.validators[0].address, addr(c.fx.validator));
    t.equal(v.validators[0].pub_key.value, Buffer.from(c.fx.validator.publicKey).toString('base64'));
    t.equal((await c.call('validators', { height: 3n, page: 1, per_page: 1 })).block_height, '3');
    await rejects(t, c.call('validators', { page: 2, per_page: 1 }), RpcCode.INVALID_PARAMS, /^page should be within \[1, 1\] range, given 2$/, 'page 2 of 1');
    await rejects(t, c.call('validators', { page: 0 }), RpcCode.INVALID_PARAMS, /given 0/, 'page 0');
    await rejects(t, c.call('validators', { height: 0n }), RpcCode.INVALID_PARAMS, /greater than 0/, 'height 0');
    await rejects(t, c.call('validators', { height: 25n }), RpcCode.INVALID_PARAMS, /current blockchain height 24/, 'beyond the next height');
    c.catchingUp = true;
    t.equal((await c.call('validators')).block_height, '23', 'while catching up, the latest height');
    c.catchingUp = false;
  });

  t.test('consensus_params', async (t) => {
    const p = await c.call('consensus_params', { height: 2n });
    t.equal(p.block_height, '2');
    t.same(p.consensus_params.block, { max_bytes: '2097152', max_gas: '-1' });
    t.same(p.consensus_params.validator, { pub_key_types: ['ed25519'] });
    t.equal((await c.call('consensus_params')).block_height, '24');
    await rejects(t, c.call('consensus_params', { height: 99n }), RpcCode.INVALID_PARAMS, /must be less than or equal/, 'beyond');
  });

  t.test('consensus_state: the host round state', async (t) => {
    const rs = (await c.call('consensus_state')).round_state;
    const st = c.host!.status();
    t.match(rs['height/round/step'], new RegExp(`^${st.height}/${st.round}/[1-8]$`));
    t.equal(rs.proposer.address, addr(c.fx.validator));
    t.equal(rs.proposer.index, 0);
    t.ok(rs.height_vote_set.length >= 1);
    t.match(rs.height_vote_set[0].prevotes_bit_array, /^BA\{1:[x_]\} \d+\/\d+ = \d\.\d\d$/);
  });

  t.test('tx: by hash, with a Merkle proof of inclusion against the data hash', async (t) => {
    const r = await c.call('tx', { hash: sha256(cc) });
    t.same([r.hash, r.height, r.index, r.tx], [hashOf(cc), '2', 2, Buffer.from(cc).toString('base64')]);
    t.equal(r.tx_result.code, 0);
    t.notOk('proof' in r, 'no proof unless asked');
    const b2 = BlockCodec.decode((await c.app.store.getBlock(2n))!);
    for (const [tx, height, block] of [[a, 2n, b2], [cc, 2n, b2], [many[17], 5n, BlockCodec.decode((await c.app.store.getBlock(5n))!)]] as const) {
      const p = await c.call('tx', { hash: sha256(tx), prove: true });
      t.equal(p.height, String(height));
      t.ok(verifyTxProof(p.proof as TxProofJSON, block.header.dataHash), `the proof of a tx at ${height}/${p.index} verifies`);
      const forged = { ...p.proof, proof: { ...p.proof.proof, index: String((p.index + 1) % block.data.txs.length) } };
      t.notOk(verifyTxProof(forged, block.header.dataHash), 'and fails for another index');
      t.notOk(verifyTxProof(p.proof, sha256(new Uint8Array([9]))), 'and for another root');
    }
    const failed = await c.call('tx', { hash: sha256(bad) });
    t.equal(failed.tx_result.code, ErrorCodes.WRONG_NONCE, 'a failed tx is indexed too');
    await rejects(t, c.call('tx', { hash: sha256(new Uint8Array([7])) }), RpcCode.INTERNAL_ERROR, /^tx \([0-9A-F]{64}\) not found$/, 'unknown tx');
  });

  t.test('tx_search: every operator, AND, tx.hash, tx.height', async (t) => {
    const search = async (query: string, more: Record<string, unknown> = {}) => c.call('tx_search', { query, ...more });
    const hashes = (r: any): string[] => r.txs.map((x: any) => x.hash);
    const count = async (query: string): Promise<number> => Number((await search(query)).total_count);

    t.same(hashes(await search('tx.height = 2')), [a, b, cc].map(hashOf), 'tx.height =, in block order');
    t.same(hashes(await search(`tx.hash = '${hashOf(d)}'`)), [hashOf(d)], 'tx.hash =');
    t.same(hashes(await search(`tx.hash = '${hashOf(d).toLowerCase()}'`)), [hashOf(d)], 'tx.hash in lower case');
    t.equal(await count(`tx.hash = 'ZZ'`), 0, 'a hash that is not hex names no tx');
    t.equal(await count('tx.height >= 2 AND tx.height <= 3'), 5, 'a height range (the failed tx included)');
    t.equal(await count('tx.height > 2 AND tx.height < 5'), 2);
    t.equal(await count('tx.height > 5'), 0);
    t.equal(await count('tx.height = 2.5'), 0, 'no tx at a fractional height');
    t.equal(await count(`transfer.sender = '${addr(u0)}'`), 2, 'attribute =');
    t.same(hashes(await search('transfer.amount > 150')), [b, cc].map(hashOf), 'attribute >, numerically');
    t.equal(await count('transfer.amount >= 200'), 2);
    t.equal(await count('transfer.amount < 50'), 35, '1..35');
    t.equal(await count('transfer.amount <= 50'), 36, 'and the 50');
    t.equal(await count('transfer.amount = 100'), 1, '= with a number compares numerically');
    t.same(hashes(await search(`transfer.recipient CONTAINS '${addr(u2).slice(3, 15)}'`)), [b, cc].map(hashOf), 'CONTAINS');
    t.equal(await count('transfer.sender EXISTS'), 39, 'EXISTS: every successful transfer');
    t.equal(await count('transfer EXISTS'), 39, 'EXISTS on an event type');
    t.equal(await count('nothing.here EXISTS'), 0);
    t.same(hashes(await search(`transfer.amount >= 200 AND transfer.sender = '${addr(u0)}'`)), [hashOf(cc)], 'AND of two attribute conditions');
    t.same(hashes(await search(`message.action = 'send' AND tx.height = 3`)), [hashOf(d)], 'AND with a height: the failed tx has no events');
    t.equal(await count(`transfer.sender = '${addr(u0)}' AND tx.height = 3`), 0, 'an empty intersection');
    t.equal(await count(`tm.event = 'Tx' AND tx.height = 2`), 3, 'tm.event = Tx holds for every tx');
    t.equal(await count(`tx.signer = '${addr(u3)}' AND tx.fee > 0`), 35);
    t.same(hashes(await search(`tx.hash = '${hashOf(a)}' AND transfer.amount = 100`)), [hashOf(a)], 'tx.hash AND an attribute');
    t.equal(await count(`tx.hash = '${hashOf(a)}' AND transfer.amount = 101`), 0);
    t.same(hashes(await search(`tx.height = 2 AND tx.hash CONTAINS '${hashOf(b).slice(10, 20)}'`)), [hashOf(b)], 'a tx.hash condition checked per candidate');
  });

  t.test('tx_search: paging and order_by', async (t) => {
    const q = `transfer.sender = '${addr(u3)}'`;
    const asc = await c.call('tx_search', { query: q });
    t.equal(asc.total_count, '35');
    t.equal(asc.txs.length, 30, 'default per_page 30');
    t.same(asc.txs.map((x: any) => x.index), Array.from({ length: 30 }, (_, i) => i), 'ascending by default');
    const p4 = await c.call('tx_search', { query: q, page: 4, per_page: 10 });
    t.same(p4.txs.map((x: any) => x.index), [30, 31, 32, 33, 34], 'the last page is partial');
    t.equal(p4.total_count, '35', 'total_count counts every match');
    const desc = await c.call('tx_search', { query: q, order_by: 'desc', per_page: 3 });
    t.same(desc.txs.map((x: any) => x.index), [34, 33, 32]);
    const mixed = await c.call('tx_search', { query: 'tx.height >= 2', order_by: 'desc', per_page: MAX_PER_PAGE });
    t.same(mixed.txs.slice(34, 38).map((x: any) => `${x.height}/${x.index}`), ['5/0', '3/1', '3/0', '2/2'], 'desc orders by height, then index');
    t.equal((await c.call('tx_search', { query: 'tx.height >= 1', per_page: 1000 })).txs.length, 40, 'per_page above 100 is clamped (40 txs in all)');
    t.equal((await c.call('tx_search', { query: q, per_page: 0 })).txs.length, 30, 'per_page 0: the default');
    const proved = await c.call('tx_search', { query: 'tx.height = 5', prove: true, per_page: 2 });
    const b5 = BlockCodec.decode((await c.app.store.getBlock(5n))!);
    t.ok(proved.txs.every((x: any) => verifyTxProof(x.proof, b5.header.dataHash)), 'prove adds verifiable proofs');
    await rejects(t, c.call('tx_search', { query: q, page: 5, per_page: 10 }), RpcCode.INVALID_PARAMS, /^page should be within \[1, 4\] range, given 5$/, 'page out of range');
    await rejects(t, c.call('tx_search', { query: q, page: 0 }), RpcCode.INVALID_PARAMS, /given 0/, 'page 0');
    t.equal((await c.call('tx_search', { query: 'tx.height = 99', page: 1 })).total_count, '0', 'page 1 of nothing is fine');
    await rejects(t, c.call('tx_search', { query: q, order_by: 'sideways' }), RpcCode.INVALID_PARAMS, /order_by/, 'bad order_by');
    await rejects(t, c.call('tx_search', { query: 'tx.height >' }), RpcCode.INVALID_PARAMS, /invalid query/, 'bad query');
    await rejects(t, c.call('tx_search', { query: '' }), RpcCode.INVALID_PARAMS, /empty/, 'empty query');
  });

  t.test('block_search: heights, block events, paging and order', async (t) => {
    const heights = (r: any): string[] => r.blocks.map((x: any) => x.block.header.height);
    const r = await c.call('block_search', { query: 'block.height >= 2 AND block.height <= 4' });
    t.same(heights(r), ['4', '3', '2'], 'newest first by default');
    t.equal(r.total_count, '3');
    t.equal(r.blocks[0].block_id.hash, (await c.call('block', { height: 4n })).block_id.hash);
    t.same(heights(await c.call('block_search', { query: 'block.height = 3' })), ['3']);
    t.same(heights(await c.call('block_search', { query: 'fees.amount EXISTS', order_by: 'asc' })), ['2', '3', '5'], 'blocks that collected fees');
    t.same(heights(await c.call('block_search', { query: 'fees.amount > 0 AND block.height < 4' })), ['3', '2']);
    const r5 = await c.call('block_results', { height: 5n });
    const paid = r5.finalize_block_events.find((e: any) => e.type === 'fees').attributes[0].value;
    t.same(heights(await c.call('block_search', { query: `fees.amount = '${paid}'` })), ['5'], 'attribute = string');
    const paged = await c.call('block_search', { query: 'block.height > 0', per_page: 5, page: 2 });
    t.same(heights(paged), ['18', '17', '16', '15', '14']);
    t.equal(paged.total_count, '23');
    t.same(heights(await c.call('block_search', { query: 'block.height > 100' })), []);
    t.same(heights(await c.call('block_search', { query: "tm.event = 'NewBlock' AND block.height <= 2", order_by: 'asc' })), ['1', '2']);
    await rejects(t, c.call('block_search', { query: 'block.height > 0', page: 6, per_page: 5 }), RpcCode.INVALID_PARAMS, /\[1, 5\]/, 'page out of range');
    await rejects(t, c.call('block_search', { query: 'block.height > 0', order_by: 'up' }), RpcCode.INVALID_PARAMS, /order_by/, 'bad order_by');
    await rejects(t, c.call('block_search', { query: 'block.height AND' }), RpcCode.INVALID_PARAMS, /invalid query/, 'bad query');
  });

  t.test('a search reads a bounded number of index entries and says how to narrow a broader query', async (t) => {
    const q = parseQuery('transfer.sender EXISTS');
    t.equal((await searchTxs(c.app.store, q, { maxScan: 100 })).total, 39);
    await rejects(t, searchTxs(c.app.store, q, { maxScan: 20 }), RpcCode.INVALID_PARAMS, /more than 20 index entries.*narrow it/, 'over the limit');
    const narrow = parseQuery(`transfer.sender EXISTS AND tx.height = 2`);
    t.equal((await searchTxs(c.app.store, narrow, { maxScan: 20 })).total, 3, 'the cheapest source (the height) is used');
    const cheapAttr = parseQuery(`tx.height >= 1 AND transfer.sender = '${addr(u0)}'`);
    t.equal((await searchTxs(c.app.store, cheapAttr, { maxScan: 5 })).total, 2, 'an = attribute lookup beats a broad height range');
    await rejects(t, searchBlocks(c.app.store, { first: 1n, last: 23n }, parseQuery('block.height > 0'), { maxScan: 10 }), RpcCode.INVALID_PARAMS, /more than 10 index entries/, 'blocks too');
    // a caller that gave up (timeout, disconnect) stops the search
    const gone = new AbortController();
    gone.abort(new Error('caller went away'));
    await t.rejects(searchTxs(c.app.store, q, { signal: gone.signal }), /caller went away/, 'tx search stops when aborted');
    await t.rejects(searchBlocks(c.app.store, { first: 1n, last: 23n }, parseQuery('block.height > 0'), { signal: gone.signal }), /caller went away/, 'block search too');
  });

  t.test('dial_seeds and dial_peers are unsafe and refuse until p2p exists', async (t) => {
    for (const m of ['dial_seeds', 'dial_peers', 'unsafe_flush_mempool']) t.equal(c.methods[m].unsafe, true, `${m} is unsafe`);
    await rejects(t, c.call('dial_seeds', {}), RpcCode.INTERNAL_ERROR, /issue 5/, 'dial_seeds');
    await rejects(t, c.call('dial_peers', {}), RpcCode.INTERNAL_ERROR, /issue 5/, 'dial_peers');
  });

  t.test('published events: NewBlock, NewBlockHeader, one Tx per tx, with their query keys', async (t) => {
    const of = (h: string): ChainEvent[] => c.published.filter((e) => (e.events['block.height'] ?? e.events['tx.height'])?.[0] === h);
    const at2 = of('2');
    t.same(at2.map((e) => e.kind), ['NewBlock', 'NewBlockHeader', 'Tx', 'Tx', 'Tx']);
    const tx0 = at2[2];
    t.same(tx0.events['tx.hash'], [hashOf(a)]);
    t.same(tx0.events['transfer.amount'], ['100']);
    t.same(tx0.events['tm.event'], ['Tx']);
    const value = tx0.data.value as any;
    t.notOk('index' in value.TxResult, 'index 0 is omitted (omitempty), as in CometBFT');
    t.equal((at2[3].data.value as any).TxResult.index, 1);
    t.same(at2[0].events['fees.amount'], [(await c.call('block_results', { height: 2n })).finalize_block_events.find((e: any) => e.type === 'fees').attributes[0].value]);
    const stored = (await c.app.store.getBlock(2n))!;
    const again = blockEvents(BlockCodec.decode(stored), blockIdOf(BlockCodec.decode(stored).header, stored), (await c.app.store.getResults(2n))!);
    t.same(again.map((e) => e.data), at2.map((e) => e.data), 'blockEvents is a pure function of the stored block and results');
  });
});

t.test('the store search index: length-prefixed keys keep keys, values and positions apart', async (t) => {
  const { app, cleanup } = await openApp(fixture().genesis);
  t.teardown(cleanup);
  const head = app.head();
  const h = head.height + 1n;
  const hash = (n: number) => sha256(new Uint8Array([n]));
  await app.store.commitHeight({
    head: { ...head, height: h },
    state: [],
    nodes: [],
    txIndex: [
      { index: 0, hash: hash(0), attributes: [{ key: 'a.b', value: 'x' }, { key: 'a.bx', value: '' }, { key: 'ü.ключ', value: 'värde ✓' }] },
      { index: 1, hash: hash(1), attributes: [{ key: 'a.b', value: 'xy' }, { key: 'a.b', value: 'xy' }] },
      { index: 300, hash: hash(2), attributes: [{ key: 'a.b', value: 'x' }] },
    ],
    blockIndex: [{ key: 'e.k', value: '1' }, { key: 'e.k', value: '10' }],
  });
  const all = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
    const out: T[] = [];
    for await (const x of it) out.push(x);
    return out;
  };
  t.same(await all(app.store.txsByAttribute('a.b', 'x')), [{ height: h, index: 0, value: 'x' }, { height: h, index: 300, value: 'x' }], 'exact value, in position order');
  t.same((await all(app.store.txsByAttribute('a.b'))).map((x) => `${x.value}@${x.index}`), ['x@0', 'x@300', 'xy@1'], 'a whole key: by value, then position; a duplicate attribute is one entry');
  t.same((await all(app.store.txsByAttribute('a.bx'))).map((x) => x.value), [''], 'a key that extends another is its own range; an empty value is kept');
  t.same((await all(app.store.txsByAttribute('ü.ключ', 'värde ✓'))).map((x) => x.index), [0], 'non-ASCII keys and values');
  t.same(await all(app.store.txsByAttribute('a.b', 'z')), []);
  t.same((await all(app.store.txsByHeight(h, h, { reverse: true }))).map((x) => [x.index, toHex(x.hash)]), [[300, toHex(hash(2))], [1, toHex(hash(1))], [0, toHex(hash(0))]]);
  t.same(await app.store.getTxHashAt(h, 1), hash(1));
  t.equal(await app.store.getTxHashAt(h, 2), undefined);
  t.same((await all(app.store.blocksByAttribute('e.k'))).map((x) => x.value), ['1', '10']);
  t.same(await all(app.store.blocksByAttribute('e.k', '10')), [{ height: h, value: '10' }]);
});

t.test('tx proofs: the memoised tree is the header data hash (root over tx hashes), and every index of every size proves', async (t) => {
  for (let n = 1; n <= 33; n++) {
    const txs = Array.from({ length: n }, (_, i) => sha256(new Uint8Array([n, i])).subarray(0, 5 + (i % 7)));
    const tree = new TxTree(txs);
    const root = dataHashOf(txs);
    t.same(tree.root(), root, `root of ${n}`);
    t.same(root, merkleRoot(txs.map((x) => sha256(x))), 'CometBFT: the leaves are the tx hashes');
    let ok = true;
    for (let i = 0; i < n; i++) {
      const p = txProof(txs, i, tree);
      ok &&= verifyTxProof(p, root) && p.proof.aunts.length <= Math.ceil(Math.log2(n));
      ok &&= verifyTxProof(txProof(txs, i), root);
      if (n > 1) ok &&= !verifyTxProof({ ...p, data: Buffer.from(txs[(i + 1) % n]).toString('base64') }, root);
    }
    t.ok(ok, `all ${n} proofs verify against the data hash, and a swapped tx does not`);
  }
});

t.test('status and genesis before the first block', async (t) => {
  const c = await RpcChain.start(t, { consensus: false });
  const s = await c.call('status');
  t.equal(s.sync_info.latest_block_height, '0');
  t.equal(s.sync_info.latest_block_hash, '');
  t.equal(s.sync_info.latest_app_hash, toHex(c.app.head().appHash), 'never empty: the genesis app hash');
  t.match(s.sync_info.latest_app_hash, /^[0-9A-F]{64}$/);
  t.equal(s.sync_info.latest_block_time, '2025-11-24T16:00:00.000000000Z', 'the genesis time');
  t.equal(s.validator_info.voting_power, '0', 'no validator set stored yet');
  await rejects(t, c.call('block'), RpcCode.INVALID_PARAMS, /no block has been committed yet/, 'block');
  await rejects(t, c.call('blockchain'), RpcCode.INVALID_PARAMS, /min height 1 can't be greater than max height 0/, 'blockchain');
  await rejects(t, c.call('consensus_state'), RpcCode.INTERNAL_ERROR, /consensus is not running/, 'consensus_state');
  t.equal((await c.call('tx_search', { query: 'tx.height > 0' })).total_count, '0');
  t.equal((await c.call('block_search', { query: 'block.height > 0' })).total_count, '0');
  t.equal((await c.call('genesis')).genesis.chain_id, 'test-chain');
});

t.test('mempool methods: broadcast_tx_*, check_tx, unconfirmed txs, flush', async (t) => {
  const c = await RpcChain.start(t);
  if (c.mempool === null) {
    t.pass('mempool methods', { skip: `the mempool does not work yet: ${c.mempoolError}` });
    return;
  }
  const [u0, u1, u2] = c.fx.users;

  t.test('check_tx checks without adding', async (t) => {
    const tx = send(u0, u1, 5n, 0n);
    const r = await c.call('check_tx', { tx });
    t.equal(r.code, 0);
    t.equal(c.mempool!.size, 0, 'not added');
    const garbage = await c.call('check_tx', { tx: new Uint8Array([1, 2, 3]) });
    t.equal(garbage.code, ErrorCodes.TX_DECODE);
    t.equal(garbage.codespace, 'agentcluster');
  });

  t.test('broadcast_tx_sync: the CheckTx verdict; unconfirmed_txs lists the pool', async (t) => {
    const tx1 = send(u0, u1, 5n, 0n);
    const tx2 = send(u0, u1, 6n, 1n);
    const r = await c.call('broadcast_tx_sync', { tx: tx1 });
    t.same(r, { code: 0, data: '', log: '', codespace: '', hash: hashOf(tx1) });
    await c.call('broadcast_tx_sync', { tx: tx2 });
    const replay = await c.call('broadcast_tx_sync', { tx: send(u0, u1, 7n, 0n) });
    t.not(replay.code, 0, 'a second tx with a used nonce is refused');
    t.match(replay.log, /nonce/i);
    const wrongChain = await c.call('broadcast_tx_sync', { tx: send(u0, u1, 7n, 2n, { chainId: 'other-chain' }) });
    t.equal(wrongChain.code, ErrorCodes.WRONG_CHAIN_ID);
    const u = await c.call('unconfirmed_txs');
    t.same([u.n_txs, u.total], ['2', '2']);
    t.same(u.txs, [tx1, tx2].map((x) => Buffer.from(x).toString('base64')));
    t.equal(u.total_bytes, String(tx1.length + tx2.length));
    t.equal((await c.call('unconfirmed_txs', { limit: 1 })).txs.length, 1);
    t.same(await c.call('num_unconfirmed_txs'), { n_txs: '2', total: '2', total_bytes: String(tx1.length + tx2.length), txs: null });
    await c.next();
    t.equal(c.mempool!.size, 0, 'committed txs leave the pool');
    t.equal((await c.call('tx', { hash: sha256(tx2) })).tx_result.code, 0);
  });

  t.test('broadcast_tx_async answers at once; the check runs in the background', async (t) => {
    const tx = send(u1, u2, 9n, 0n);
    const r = await c.call('broadcast_tx_async', { tx });
    t.same(r, { code: 0, data: '', log: '', codespace: '', hash: hashOf(tx) });
    const bad = await c.call('broadcast_tx_async', { tx: new Uint8Array([0xff]) });
    t.equal(bad.code, 0, 'even for a tx the check will reject (CometBFT v0.38)');
    for (let i = 0; i < 1000 && !c.mempool!.has(sha256(tx)); i++) await new Promise((res) => setTimeout(res, 1));
    t.ok(c.mempool!.has(sha256(tx)), 'the tx reached the pool');
  });

  t.test('unsafe_flush_mempool empties the pool', async (t) => {
    t.ok(c.mempool!.size > 0);
    t.same(await c.call('unsafe_flush_mempool'), {});
    t.equal(c.mempool!.size, 0);
  });

  t.test('broadcast_tx_commit waits for the block; a rejected tx returns at once with height 0', async (t) => {
    const tx = send(u2, u0, 11n, 0n);
    const pending = c.call('broadcast_tx_commit', { tx });
    for (let i = 0; i < 1000 && !c.mempool!.has(sha256(tx)); i++) await new Promise((res) => setTimeout(res, 1));
    const block = await c.next();
    const r = await pending;
    t.equal(r.hash, hashOf(tx));
    t.equal(r.height, String(block.height));
    t.equal(r.check_tx.code, 0);
    t.equal(r.tx_result.code, 0);
    t.same(r.tx_result.events.find((e: any) => e.type === 'transfer').attributes[2], { key: 'amount', value: '11', index: true });
    t.equal(c.bus.listenerCount, 1, 'its subscription is gone (only the test recorder is left)');

    const rejected = await c.call('broadcast_tx_commit', { tx: send(u2, u0, 11n, 0n) });
    t.equal(rejected.height, '0');
    t.not(rejected.check_tx.code, 0);
    t.same(rejected.tx_result, { code: 0, data: null, log: '', info: '', gas_wanted: '0', gas_used: '0', events: [], codespace: '' });
    t.equal(c.bus.listenerCount, 1, 'no subscription left behind');
  });

  t.test('broadcast_tx_commit times out, or stops when the caller goes away', async (t) => {
    c.ctx.config.rpc.timeout_broadcast_tx_commit_ms = 30;
    await rejects(t, c.call('broadcast_tx_commit', { tx: send(u0, u2, 1n, 2n) }), RpcCode.INTERNAL_ERROR, /timed out waiting for tx to be included in a block/, 'timeout');
    c.ctx.config.rpc.timeout_broadcast_tx_commit_ms = 5_000;
    const ac = new AbortController();
    const p = c.call('broadcast_tx_commit', { tx: send(u0, u2, 1n, 3n) }, ac.signal);
    setTimeout(() => ac.abort(), 10);
    await rejects(t, p, RpcCode.INTERNAL_ERROR, /cancelled/, 'abort');
    const gone = new AbortController();
    gone.abort();
    await rejects(t, c.call('broadcast_tx_commit', { tx: send(u0, u2, 1n, 4n) }, gone.signal), RpcCode.INTERNAL_ERROR, /cancelled/, 'a caller already gone');
    t.equal(c.bus.listenerCount, 1, 'no subscription left behind');
    await c.next();
  });
});
