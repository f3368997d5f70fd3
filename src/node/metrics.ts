// Prometheus metrics of a node (prom-client), served at GET /metrics on the RPC port through RpcServer's extraRoutes.
// Each node owns its Registry (several nodes may share one process in tests); components receive `Metrics | null` and
// call the small methods below, so nothing outside this file knows prom-client.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRICS_PATH = '/metrics';

/** Block interval buckets, seconds: a healthy devnet sits around 1 s; the tail shows rounds lost to timeouts. */
const INTERVAL_BUCKETS = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10, 30];
const TXS_BUCKETS = [0, 1, 10, 100, 500, 1000, 2500, 5000, 10_000, 20_000];
/** fsync on an SSD takes 0.1-10 ms; seconds on a sick disk. */
const FSYNC_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export type VoteKind = 'prevote' | 'precommit';

export class Metrics {
  readonly registry: Registry;
  private readonly height: Gauge;
  private readonly round: Gauge;
  private readonly blockInterval: Histogram;
  private readonly blockTxs: Histogram;
  private readonly txsTotal: Counter;
  private readonly mempoolSize: Gauge;
  private readonly mempoolBytes: Gauge;
  private readonly peers: Gauge;
  private readonly votes: Counter<'type'>;
  private readonly walFsync: Histogram;
  private readonly blocksyncHeight: Gauge;

  constructor(opts: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}) {
    this.registry = new Registry();
    if (opts.labels) this.registry.setDefaultLabels(opts.labels);
    // process_resident_memory_bytes, CPU, event loop lag, GC, heap: what an operator (and bench's rss_mb) reads first.
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.height = new Gauge({ name: 'agentcluster_height', help: 'Height of the last committed block', registers });
    this.round = new Gauge({ name: 'agentcluster_round', help: 'Consensus round at the current height', registers });
    this.blockInterval = new Histogram({
      name: 'agentcluster_block_interval_seconds',
      help: 'Time between consecutive committed blocks',
      buckets: INTERVAL_BUCKETS,
      registers,
    });
    this.blockTxs = new Histogram({ name: 'agentcluster_block_txs', help: 'Transactions per committed block', buckets: TXS_BUCKETS, registers });
    this.txsTotal = new Counter({ name: 'agentcluster_txs_total', help: 'Transactions committed since the node started', registers });
    this.mempoolSize = new Gauge({ name: 'agentcluster_mempool_size', help: 'Transactions in the mempool', registers });
    this.mempoolBytes = new Gauge({ name: 'agentcluster_mempool_bytes', help: 'Bytes of transactions in the mempool', registers });
    this.peers = new Gauge({ name: 'agentcluster_peers', help: 'Connected peers', registers });
    this.votes = new Counter({ name: 'agentcluster_votes_received_total', help: 'Votes received, by type', labelNames: ['type'], registers });
    this.walFsync = new Histogram({ name: 'agentcluster_wal_fsync_seconds', help: 'Duration of WAL fsyncs', buckets: FSYNC_BUCKETS, registers });
    this.blocksyncHeight = new Gauge({ name: 'agentcluster_blocksync_height', help: 'Height reached by block sync (0 when not syncing yet)', registers });
    // Zero series so that dashboards and scrapers see every metric from the first scrape.
    for (const type of ['prevote', 'precommit'] satisfies VoteKind[]) this.votes.inc({ type }, 0);
  }

  /** A block was committed: its height, its tx count, and ms since the previous commit (null for the first one seen). */
  observeCommit(height: bigint, txs: number, intervalMs: number | null): void {
    this.height.set(Number(height));
    this.blockTxs.observe(txs);
    this.txsTotal.inc(txs);
    if (intervalMs !== null && intervalMs >= 0) this.blockInterval.observe(intervalMs / 1000);
  }

  setRound(round: number): void {
    this.round.set(round);
  }

  setMempool(size: number, bytes: number): void {
    this.mempoolSize.set(size);
    this.mempoolBytes.set(bytes);
  }

  setPeers(n: number): void {
    this.peers.set(n);
  }

  voteReceived(type: VoteKind, n = 1): void {
    this.votes.inc({ type }, n);
  }

  observeWalFsync(ms: number): void {
    this.walFsync.observe(ms / 1000);
  }

  setBlocksyncHeight(height: bigint): void {
    this.blocksyncHeight.set(Number(height));
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** GET /metrics handler for RpcServerOptions.extraRoutes. */
  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('use GET /metrics\n');
      return;
    }
    const body = await this.text();
    res.writeHead(200, { 'Content-Type': this.contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  /** `extraRoutes` for RpcServer.start: { '/metrics': handler }. */
  routes(): Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> {
    return { [METRICS_PATH]: this.handle };
  }
}

/** Reads the first sample of a metric (any labels) from a Prometheus text exposition, e.g. process_resident_memory_bytes. */
export function sampleValue(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const rest = line[name.length] === '{' ? line.slice(line.indexOf('}') + 1) : line.slice(name.length);
    const v = Number(rest.trim().split(' ')[0]);
    return Number.isFinite(v) ? v : null;
  }
  return null;
}
