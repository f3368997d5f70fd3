// `agentcluster bench` against one real node (a 1-validator devnet started as a child process), a tiny run: the JSON
// has every field and its numbers agree with each other. Plus the command-line checks and the signing workers.
import t from 'tap';
import { join } from 'node:path';
import { createDevnet, FAUCET_KEY_FILE } from '../../src/node/devnet.ts';
import { runCli } from '../../src/cli/index.ts';
import type { Io } from '../../src/cli/command.ts';
import { measureVerifyRate, signAll } from '../../src/cli/bench.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import { NodeProcess } from '../helpers/proc.ts';
import { tempDir } from '../helpers/tmp.ts';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

t.test('bench against a single node', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const dir = join(tmp.path, 'net');
  const [node] = await createDevnet({
    validators: 1,
    dir,
    configure: (cfg) => {
      cfg.rpc.laddr = 'tcp://127.0.0.1:0';
      cfg.p2p.laddr = '/ip4/127.0.0.1/tcp/0';
      cfg.log.level = 'info';
    },
  });
  const proc = new NodeProcess(['start', '--home', node.home], { NODE_OPTIONS: '' });
  t.teardown(() => proc.kill());
  const url = (await proc.waitFor((l) => l.msg === 'rpc listening')).url as string;
  await proc.waitFor((l) => l.msg === 'committed block');

  const r = await cli('bench', '--nodes', url, '--faucet', join(dir, FAUCET_KEY_FILE), '--duration', '2', '--rate', '15', '--accounts', '3', '--drain', '15');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /bench: funding 3 accounts/, 'progress on stderr');
  const out = JSON.parse(r.stdout);
  for (const k of ['submitted', 'committed', 'tps', 'latency_ms', 'blocks', 'block_interval_ms', 'verify_ceiling_tps', 'rss_mb', 'duration_s', 'rate', 'accounts', 'nodes']) {
    t.ok(k in out, `has ${k}`);
  }
  t.same(out.nodes, [url]);
  t.equal(out.duration_s, 2);
  t.equal(out.rate, 15);
  t.equal(out.accounts, 3);
  t.equal(out.submitted + out.rejected + out.errors + out.unsent, 30, 'every due tx is accounted for');
  t.equal(out.rejected, 0);
  t.ok(out.submitted > 0);
  t.ok(out.committed <= out.submitted, 'committed <= submitted');
  t.equal(out.committed, out.submitted, 'with a long enough drain everything commits');
  t.ok(out.committed_in_window <= out.committed);
  t.equal(out.tps, Math.round((out.committed_in_window / 2) * 10) / 10);
  const l = out.latency_ms;
  t.ok(l.p50 >= 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, `percentiles ordered: ${JSON.stringify(l)}`);
  t.ok(l.max < 15_000);
  t.ok(out.blocks >= 1);
  t.ok(out.block_interval_ms === null || out.block_interval_ms > 0);
  t.equal(out.validators, 1);
  t.ok(out.verify_per_s_per_core > 0);
  t.ok(Math.abs(out.verify_ceiling_tps - out.cores * out.verify_per_s_per_core) <= out.cores, 'ceiling = cores x verifies/s / validators (1 here)');
  t.ok(BigInt(out.end_height) > BigInt(out.start_height));
  t.ok(url in out.rss_mb);
});

t.test('bench command line', async (t) => {
  let r = await cli('bench', '--nodes', 'http://127.0.0.1:1');
  t.equal(r.code, 2);
  t.match(r.stderr, /missing the faucet/);
  r = await cli('bench', '--faucet', '/nonexistent');
  t.equal(r.code, 1);
  t.match(r.stderr, /^error \[NOT_FOUND\]/);
  r = await cli('bench', '--nodes', 'http://127.0.0.1:1', '--rate', 'fast');
  t.equal(r.code, 2);
  t.match(r.stderr, /--rate must be a number/);
  r = await cli('bench', '--nodes', 'ftp://x', '--devnet', '/nonexistent');
  t.equal(r.code, 1);
  t.match(r.stderr, /NOT_FOUND/);
  r = await cli('bench', '--help');
  t.equal(r.code, 0);
  t.match(r.stdout, /verify_ceiling_tps/);
});

t.test('signing workers produce the same txs as signing in-process', async (t) => {
  const jobs = [0, 1, 2].map((i) => ({ seed: new Uint8Array(32).fill(i + 1), to: new Uint8Array(20).fill(9), firstNonce: BigInt(i), count: 5 + i }));
  const params = { chainId: 'c', gasLimit: 5000n, gasPrice: 1n, amount: 1n };
  const inline = await signAll(params, jobs, 1);
  const threaded = await signAll(params, jobs, 2, 0);
  t.same(threaded.map((txs) => txs.map(toHex)), inline.map((txs) => txs.map(toHex)));
  t.same(inline.map((txs) => txs.length), [5, 6, 7]);
  t.ok(measureVerifyRate(20) > 0);
});
