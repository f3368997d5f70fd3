// Committed-block events in CometBFT v0.38's shapes (types/events.go and event_bus.go): NewBlock, NewBlockHeader, and
// one Tx per tx of the block. `events` is the flat map queries match: tm.event always; block.height for the block
// events; tx.hash and tx.height for a Tx; and every attribute of the events involved as "type.key" (subscriptions see
// every attribute, as CometBFT's pubsub does; only the indexer looks at the index flag).
import type { Logger } from 'pino';
import { sha256 } from '../crypto/hash.ts';
import { toHex } from '../crypto/bytes.ts';
import type { Block, BlockID, BlockResults, Event } from '../codec/types.ts';
import type { App } from '../state/app.ts';
import type { CommittedBlock } from '../consensus/host.ts';
import type { ChainEvent, EventSink } from './types.ts';
import * as enc from './encode.ts';

/** Adds every attribute of `events` to the map as "type.key" -> values, in order. */
function addAttributes(map: Record<string, string[]>, events: readonly Event[]): void {
  for (const e of events) {
    for (const a of e.attributes) {
      const k = `${e.type}.${a.key}`;
      (map[k] ??= []).push(a.value);
    }
  }
}

/**
 * abci.ResponseFinalizeBlock as libs/json prints it: no JSON override, so its proto3 omitempty tags hold and an empty
 * list (or app hash) is left out. app_hash is plain bytes: base64.
 */
export function finalizeBlockJSON(results: BlockResults): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const events = [...results.beginBlockEvents, ...results.endBlockEvents];
  if (events.length > 0) out.events = events.map((e) => enc.event(e, { omitEmpty: true }));
  if (results.txResults.length > 0) out.tx_results = results.txResults.map(enc.execTxResult);
  if (results.validatorUpdates.length > 0) out.validator_updates = results.validatorUpdates.map(enc.validatorUpdate);
  if (results.appHash.length > 0) out.app_hash = enc.b64(results.appHash);
  return out;
}

/**
 * A ChainEvent whose `data` envelope is built on first read and kept: the bus reads it only to deliver to a matching
 * subscriber, so a block of thousands of txs costs only its event maps when few txs are watched.
 */
function chainEvent(kind: ChainEvent['kind'], events: Record<string, string[]>, build: () => ChainEvent['data']): ChainEvent {
  let data: ChainEvent['data'] | undefined;
  return {
    kind,
    events,
    get data() {
      return (data ??= build());
    },
  };
}

/** The events of one committed block, in publishing order: NewBlock, NewBlockHeader, then each Tx in block order. */
export function blockEvents(block: Block, blockId: BlockID, results: BlockResults): ChainEvent[] {
  const height = block.header.height.toString();
  const newBlock: Record<string, string[]> = { 'tm.event': ['NewBlock'], 'block.height': [height] };
  addAttributes(newBlock, [...results.beginBlockEvents, ...results.endBlockEvents]);
  const out: ChainEvent[] = [
    chainEvent('NewBlock', newBlock, () => ({
      type: 'tendermint/event/NewBlock',
      value: { block: enc.block(block), block_id: enc.blockId(blockId), result_finalize_block: finalizeBlockJSON(results) },
    })),
    chainEvent('NewBlockHeader', { 'tm.event': ['NewBlockHeader'], 'block.height': [height] }, () => ({
      type: 'tendermint/event/NewBlockHeader',
      value: { header: enc.header(block.header) },
    })),
  ];
  block.data.txs.forEach((tx, index) => {
    const result = results.txResults[index];
    const events: Record<string, string[]> = { 'tm.event': ['Tx'], 'tx.hash': [toHex(sha256(tx))], 'tx.height': [height] };
    addAttributes(events, result.events);
    out.push(
      chainEvent('Tx', events, () => {
        // abci.TxResult keeps its omitempty tags: index 0 is left out, as CometBFT leaves it out.
        const txResult: Record<string, unknown> = { height };
        if (index !== 0) txResult.index = index;
        txResult.tx = enc.b64(tx);
        txResult.result = enc.execTxResult(result);
        return { type: 'tendermint/event/Tx', value: { TxResult: txResult } };
      }),
    );
  });
  return out;
}

/** The events of a block the consensus host just committed (its results are in the store by then). */
export async function committedBlockEvents(app: App, c: CommittedBlock): Promise<ChainEvent[]> {
  const results = await app.store.getResults(c.height);
  if (results === undefined) throw new Error(`the results of height ${c.height} are not in the store`);
  return blockEvents(c.block, c.blockId, results);
}

/**
 * An onCommit callback for the consensus host: publishes each committed block's events to the sink, one height
 * after the other (results are read asynchronously, so the calls are chained to keep heights in order). It never
 * throws into consensus; a failure is logged and the next height is published as usual. `idle`, when given and true,
 * skips a block entirely (e.g. () => bus.listenerCount === 0 && bus.clientCount === 0).
 */
export function commitPublisher(app: App, sink: EventSink, opts: { logger?: Logger; idle?: () => boolean } = {}): (c: CommittedBlock) => void {
  const logger = opts.logger;
  let chain: Promise<void> = Promise.resolve();
  return (c) => {
    // Nobody listening (EventBus: no listener, no client): skip reading the results and building the maps.
    if (opts.idle?.() === true) return;
    chain = chain
      .then(async () => {
        for (const ev of await committedBlockEvents(app, c)) sink.publish(ev);
      })
      .catch((err: unknown) => logger?.error({ err, height: c.height.toString() }, 'publishing block events failed'));
  };
}
