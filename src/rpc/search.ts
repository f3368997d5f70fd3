// tx_search and block_search over the store's search index (src/state/store.ts: tx positions by height, and by
// "type.attr" + value for txs and for begin/end-block events), in CometBFT v0.38's semantics: conditions joined by AND
// over tx.hash, tx.height (block.height) and indexed event attributes; total_count is the number of matches; pages
// of per_page (default 30, at most 100); tx_search lists by (height, index) ascending unless order_by = "desc",
// block_search descending unless "asc".
//
// How a search runs: every condition that an index can answer is a candidate source (tx.hash = one lookup; an `=`
// on an attribute = the entries of that key and value; tx.height bounds = a height range; any other condition on an
// attribute = a scan of that key's values). Each source is read until it runs out or exceeds the smallest one found so
// far, so the cheapest source is the one used; the remaining conditions are then checked with `matches` on each
// candidate's event map (loading block results only when a condition needs event attributes). A search reads at
// most `maxScan` index entries (MAX_SEARCH_SCAN by default); a query that needs more is refused with a sentence
// saying how to narrow it, so no request can make the node walk its whole history.
import { fromHex, toHex } from '../crypto/bytes.ts';
import type { BlockResults } from '../codec/types.ts';
import type { Store } from '../state/store.ts';
import { indexedAttributes } from '../state/app.ts';
import { conditionHolds, matches, type Condition, type Query } from './query.ts';
import { RpcError } from './types.ts';

export const MAX_SEARCH_SCAN = 100_000;
export const DEFAULT_PER_PAGE = 30;
export const MAX_PER_PAGE = 100;

/** CometBFT's validatePerPage: absent or below 1 -> 30, above 100 -> 100. */
export function perPageOf(perPage: number | undefined): number {
  if (perPage === undefined || perPage < 1) return DEFAULT_PER_PAGE;
  return Math.min(perPage, MAX_PER_PAGE);
}

/** CometBFT's validatePage: absent -> 1; otherwise it must name an existing page (page 1 always exists). */
export function pageOf(page: number | undefined, perPage: number, total: number): number {
  const pages = Math.max(1, Math.ceil(total / perPage));
  if (page === undefined) return 1;
  if (page < 1 || page > pages) throw RpcError.invalidParams(`page should be within [1, ${pages}] range, given ${page}`);
  return page;
}

export function orderOf(orderBy: string | undefined, fallback: 'asc' | 'desc'): 'asc' | 'desc' {
  if (orderBy === undefined || orderBy === '') return fallback;
  if (orderBy === 'asc' || orderBy === 'desc') return orderBy;
  throw RpcError.invalidParams(`expected order_by to be either "asc" or "desc" or empty, got ${JSON.stringify(orderBy)}`);
}

export interface SearchOptions {
  page?: number;
  perPage?: number;
  orderBy?: string;
  /** Most index entries one search may read (default MAX_SEARCH_SCAN). */
  maxScan?: number;
  /** Aborted when the caller gave up (timeout, disconnect): the search stops instead of reading on. */
  signal?: AbortSignal;
}

export interface TxPosition {
  height: bigint;
  index: number;
}

export interface SearchPage<T> {
  /** Every match of the query, across all pages. */
  total: number;
  /** The requested page, in the requested order. */
  items: T[];
}

/** Inclusive bounds that numeric conditions on `key` put on an integer (heights); null when no condition bounds it. */
export function integerBounds(conditions: readonly Condition[], key: string): { lo: bigint; hi: bigint } | null {
  let lo = 0n;
  let hi = 0xffff_ffff_ffff_ffffn;
  let bounded = false;
  for (const c of conditions) {
    if (c.key !== key || c.value?.type !== 'number') continue;
    const scale = 10n ** BigInt(c.value.scale);
    const floor = c.value.mantissa / scale;
    const exact = c.value.mantissa % scale === 0n;
    const ceil = exact ? floor : floor + 1n;
    bounded = true;
    switch (c.op) {
      case '=':
        if (!exact) return { lo: 1n, hi: 0n };
        lo = lo > floor ? lo : floor;
        hi = hi < floor ? hi : floor;
        break;
      case '>':
        lo = lo > floor + 1n ? lo : floor + 1n;
        break;
      case '>=':
        lo = lo > ceil ? lo : ceil;
        break;
      case '<':
        hi = hi < ceil - 1n ? hi : ceil - 1n;
        break;
      case '<=':
        hi = hi < floor ? hi : floor;
        break;
      default:
        break;
    }
  }
  return bounded ? { lo, hi } : null;
}

/** A way to enumerate candidates; `satisfies` is the condition every candidate it yields already meets. */
interface Source<T> {
  satisfies: Condition | null;
  read(): AsyncIterable<T>;
}

class ScanLimit {
  readonly max: number;
  readonly signal: AbortSignal | undefined;
  constructor(max: number, signal?: AbortSignal) {
    this.max = max;
    this.signal = signal;
  }

  error(what: string): RpcError {
    return RpcError.invalidParams(
      `the query needs more than ${this.max} index entries (${what}); narrow it with an = condition on an event attribute or tx.height / block.height bounds`,
    );
  }
}

/**
 * Reads each source until it ends or exceeds the best so far; returns the smallest source's candidates and the
 * condition it satisfies. Throws when even the best source exceeds the limit.
 */
async function cheapest<T>(sources: Source<T>[], limit: ScanLimit, what: string): Promise<{ items: T[]; satisfies: Condition | null }> {
  let best: { items: T[]; satisfies: Condition | null } | null = null;
  for (const source of sources) {
    const cap = best === null ? limit.max : best.items.length - 1;
    if (cap < 0) break;
    const items: T[] = [];
    let over = false;
    for await (const item of source.read()) {
      limit.signal?.throwIfAborted();
      if (items.length >= cap) {
        over = true;
        break;
      }
      items.push(item);
    }
    if (!over) best = { items, satisfies: source.satisfies };
  }
  if (best === null) throw limit.error(what);
  return best;
}

const RESERVED_TX_KEYS = new Set(['tx.hash', 'tx.height', 'tm.event']);
const RESERVED_BLOCK_KEYS = new Set(['block.height', 'tm.event']);

/** Conditions an attribute index can answer: a composite "type.attr" key that is not one of the reserved keys. */
const onAttribute = (c: Condition, reserved: Set<string>): boolean => !reserved.has(c.key) && c.key.includes('.');
const isStringEquality = (c: Condition): c is Condition & { value: { type: 'string'; value: string } } => c.op === '=' && c.value?.type === 'string';

/** Runs the remaining conditions against an event map; an empty remainder matches everything. */
function remainderMatches(remaining: Condition[], events: Record<string, string[]>): boolean {
  return remaining.length === 0 || matches({ conditions: remaining }, events);
}

function addAttributes(map: Record<string, string[]>, results: BlockResults['txResults'][number]['events']): void {
  for (const a of indexedAttributes(results)) (map[a.key] ??= []).push(a.value);
}

/** The block results of one height at a time (candidates are visited in height order). */
class ResultsCache {
  private height = -1n;
  private results: BlockResults | undefined;
  private readonly store: Store;
  constructor(store: Store) {
    this.store = store;
  }

  async at(height: bigint): Promise<BlockResults> {
    if (height !== this.height) {
      this.results = await this.store.getResults(height);
      this.height = height;
    }
    if (this.results === undefined) throw RpcError.internal(`the results of height ${height} are missing from the store`);
    return this.results;
  }
}

const comparePositions = (a: TxPosition, b: TxPosition): number => (a.height < b.height ? -1 : a.height > b.height ? 1 : a.index - b.index);

/** tx_search: the matching tx positions of one page, and the total. */
export async function searchTxs(store: Store, query: Query, opts: SearchOptions = {}): Promise<SearchPage<TxPosition>> {
  const order = orderOf(opts.orderBy, 'asc');
  const perPage = perPageOf(opts.perPage);
  const limit = new ScanLimit(opts.maxScan ?? MAX_SEARCH_SCAN, opts.signal);
  const head = store.head()?.height ?? 0n;
  const conds = query.conditions;

  const sources: Source<TxPosition>[] = [];
  const hashCond = conds.find((c) => c.key === 'tx.hash' && isStringEquality(c));
  if (hashCond !== undefined) {
    sources.push({
      satisfies: hashCond,
      async *read() {
        let hash: Uint8Array;
        try {
          hash = fromHex((hashCond.value as { value: string }).value);
        } catch {
          return; // not hex: names no tx
        }
        const loc = await store.getTxLocation(hash);
        if (loc !== undefined) yield { height: loc.height, index: loc.index };
      },
    });
  }
  for (const c of conds) {
    if (onAttribute(c, RESERVED_TX_KEYS) && isStringEquality(c)) {
      sources.push({ satisfies: c, read: () => store.txsByAttribute(c.key, c.value.value) });
    }
  }
  const bounds = integerBounds(conds, 'tx.height');
  if (bounds !== null) {
    const lo = bounds.lo > 1n ? bounds.lo : 1n;
    const hi = bounds.hi < head ? bounds.hi : head;
    sources.push({ satisfies: null, read: () => store.txsByHeight(lo, hi) });
  }
  for (const c of conds) {
    if (onAttribute(c, RESERVED_TX_KEYS) && !isStringEquality(c)) {
      sources.push({
        satisfies: c,
        async *read() {
          for await (const hit of store.txsByAttribute(c.key)) if (conditionHolds(c, hit.value!)) yield { height: hit.height, index: hit.index };
        },
      });
    }
  }
  sources.push({ satisfies: null, read: () => store.txsByHeight(1n, head) });

  const chosen = await cheapest(sources, limit, 'txs');
  // A key scan yields a tx once per value of that key: keep one of each position, in chain order.
  const seen = new Set<string>();
  const candidates = chosen.items
    .filter((p) => {
      const k = `${p.height}/${p.index}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort(comparePositions);

  const remaining = conds.filter((c) => c !== chosen.satisfies);
  const needsHash = remaining.some((c) => c.key === 'tx.hash');
  const needsAttributes = remaining.some((c) => !RESERVED_TX_KEYS.has(c.key));
  const results = new ResultsCache(store);
  const hits: TxPosition[] = [];
  for (const p of candidates) {
    opts.signal?.throwIfAborted();
    if (remaining.length > 0) {
      const events: Record<string, string[]> = { 'tm.event': ['Tx'], 'tx.height': [p.height.toString()] };
      if (needsHash) {
        const hash = await store.getTxHashAt(p.height, p.index);
        if (hash !== undefined) events['tx.hash'] = [toHex(hash)];
      }
      if (needsAttributes) addAttributes(events, (await results.at(p.height)).txResults[p.index]?.events ?? []);
      if (!remainderMatches(remaining, events)) continue;
    }
    hits.push(p);
  }
  if (order === 'desc') hits.reverse();
  const page = pageOf(opts.page, perPage, hits.length);
  return { total: hits.length, items: hits.slice((page - 1) * perPage, page * perPage) };
}

/** block_search: the matching heights of one page, and the total. `first`..`last` are the heights the store holds. */
export async function searchBlocks(
  store: Store,
  range: { first: bigint; last: bigint },
  query: Query,
  opts: SearchOptions = {},
): Promise<SearchPage<bigint>> {
  const order = orderOf(opts.orderBy, 'desc');
  const perPage = perPageOf(opts.perPage);
  const limit = new ScanLimit(opts.maxScan ?? MAX_SEARCH_SCAN, opts.signal);
  const conds = query.conditions;
  const heights = (lo: bigint, hi: bigint): Source<bigint> => ({
    satisfies: null,
    async *read() {
      for (let h = lo; h <= hi; h++) yield h;
    },
  });

  const sources: Source<bigint>[] = [];
  for (const c of conds) {
    if (onAttribute(c, RESERVED_BLOCK_KEYS) && isStringEquality(c)) {
      sources.push({
        satisfies: c,
        async *read() {
          for await (const hit of store.blocksByAttribute(c.key, c.value.value)) yield hit.height;
        },
      });
    }
  }
  const bounds = integerBounds(conds, 'block.height');
  if (bounds !== null) sources.push(heights(bounds.lo > range.first ? bounds.lo : range.first, bounds.hi < range.last ? bounds.hi : range.last));
  for (const c of conds) {
    if (onAttribute(c, RESERVED_BLOCK_KEYS) && !isStringEquality(c)) {
      sources.push({
        satisfies: c,
        async *read() {
          for await (const hit of store.blocksByAttribute(c.key)) if (conditionHolds(c, hit.value!)) yield hit.height;
        },
      });
    }
  }
  sources.push(heights(range.first, range.last));

  const chosen = await cheapest(sources, limit, 'blocks');
  const candidates = [...new Set(chosen.items)].filter((h) => h >= range.first && h <= range.last).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const remaining = conds.filter((c) => c !== chosen.satisfies);
  const needsAttributes = remaining.some((c) => !RESERVED_BLOCK_KEYS.has(c.key));
  const results = new ResultsCache(store);
  const hits: bigint[] = [];
  for (const h of candidates) {
    opts.signal?.throwIfAborted();
    if (remaining.length > 0) {
      const events: Record<string, string[]> = { 'tm.event': ['NewBlock'], 'block.height': [h.toString()] };
      if (needsAttributes) {
        const r = await results.at(h);
        addAttributes(events, [...r.beginBlockEvents, ...r.endBlockEvents]);
      }
      if (!remainderMatches(remaining, events)) continue;
    }
    hits.push(h);
  }
  if (order === 'desc') hits.reverse();
  const page = pageOf(opts.page, perPage, hits.length);
  return { total: hits.length, items: hits.slice((page - 1) * perPage, page * perPage) };
}
