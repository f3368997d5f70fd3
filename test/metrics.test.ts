// Node metrics: the Metrics methods update agentcluster_* series, and GET /metrics on the RPC server (extraRoutes)
// serves them as Prometheus text, with the default process metrics.
import t from 'tap';
import pino from 'pino';
import { Metrics, METRICS_PATH, sampleValue } from '../src/node/metrics.ts';
import { RpcServer } from '../src/rpc/server.ts';
import { EventBus } from '../src/rpc/events.ts';
import { defaultConfig } from '../src/node/config.ts';

const NAMES = [
  'agentcluster_height',
  'agentcluster_round',
  'agentcluster_block_interval_seconds',
  'agentcluster_block_txs',
  'agentcluster_txs_total',
  'agentcluster_mempool_size',
  'agentcluster_mempool_bytes',
  'agentcluster_peers',
  'agentcluster_votes_received_total',
  'agentcluster_wal_fsync_seconds',
  'agentcluster_blocksync_height',
];

t.test('GET /metrics serves Prometheus text with every agentcluster_* metric', async (t) => {
  const m = new Metrics();
  m.observeCommit(7n, 120, null);
  m.observeCommit(8n, 30, 1_050);
  m.setRound(2);
  m.setMempool(42, 9_000);
  m.setPeers(3);
  m.voteReceived('prevote');
  m.voteReceived('precommit', 2);
  m.observeWalFsync(1.5);
  m.setBlocksyncHeight(5n);
  const server = await RpcServer.start({
    laddr: 'tcp://127.0.0.1:0',
    methods: {},
    events: new EventBus(),
    config: { ...defaultConfig('m').rpc },
    logger: pino({ level: 'silent' }),
    extraRoutes: m.routes(),
  });
  t.teardown(() => server.close());

  const res = await fetch(server.url + METRICS_PATH);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  for (const name of NAMES) t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  t.equal(sampleValue(text, 'agentcluster_height'), 8);
  t.equal(sampleValue(text, 'agentcluster_round'), 2);
  t.equal(sampleValue(text, 'agentcluster_mempool_size'), 42);
  t.equal(sampleValue(text, 'agentcluster_mempool_bytes'), 9000);
  t.equal(sampleValue(text, 'agentcluster_peers'), 3);
  t.equal(sampleValue(text, 'agentcluster_txs_total'), 150);
  t.equal(sampleValue(text, 'agentcluster_blocksync_height'), 5);
  t.equal(sampleValue(text, 'agentcluster_block_txs_count'), 2);
  t.equal(sampleValue(text, 'agentcluster_block_interval_seconds_count'), 1, 'the first commit has no interval');
  t.equal(sampleValue(text, 'agentcluster_block_interval_seconds_sum'), 1.05);
  t.match(text, /^agentcluster_votes_received_total\{type="precommit"\} 2$/m);
  t.match(text, /^agentcluster_votes_received_total\{type="prevote"\} 1$/m);
  t.ok((sampleValue(text, 'process_resident_memory_bytes') ?? 0) > 0, 'default process metrics are there');

  const post = await fetch(server.url + METRICS_PATH, { method: 'POST', body: '{}' });
  t.equal(post.status, 405);
  await post.text();
  const rpc = await fetch(server.url + '/health');
  t.match(await rpc.text(), /"jsonrpc":"2\.0"/, 'other paths still go to JSON-RPC');
});

t.test('two nodes in one process keep separate registries', async (t) => {
  const a = new Metrics({ defaultMetrics: false });
  const b = new Metrics({ defaultMetrics: false, labels: { node: 'b' } });
  a.setPeers(1);
  b.setPeers(2);
  t.equal(sampleValue(await a.text(), 'agentcluster_peers'), 1);
  t.equal(sampleValue(await b.text(), 'agentcluster_peers'), 2, 'labelled samples are read too');
  t.notMatch(await a.text(), /process_resident_memory_bytes/);
});

t.test('sampleValue', async (t) => {
  t.equal(sampleValue('x_total 3\nx 4\n', 'x'), 4);
  t.equal(sampleValue('# HELP x y\nx{a="b"} 1.5e3\n', 'x'), 1500);
  t.equal(sampleValue('y 1\n', 'x'), null);
});
