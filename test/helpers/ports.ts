// Free loopback ports for devnets of real node processes (every real-process test takes its ports here).
import { createServer, type Server } from 'node:net';
import { PORT_STRIDE } from '../../src/node/devnet.ts';

// Below Linux's ephemeral range (32768-60999 by default): a port there can be taken, between this check and the node's
// listen, by any outgoing connection on the machine (an RPC client, a p2p dial, another test's proxy), and the node
// then fails with "is the port in use?". Below 26656 too, the default p2p/rpc ports some tests use.
const LOW = 10_000;
const HIGH = 26_000;

/** A base port in LOW..HIGH whose devnet ports (p2p and rpc of each of n nodes) are all free right now. */
export async function freeBasePort(n: number): Promise<number> {
  const bind = (port: number) =>
    new Promise<Server | null>((res) => {
      const s = createServer();
      s.once('error', () => res(null));
      s.listen(port, '127.0.0.1', () => res(s));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = LOW + PORT_STRIDE * Math.floor(Math.random() * ((HIGH - LOW - PORT_STRIDE * n) / PORT_STRIDE));
    const held: Server[] = [];
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      for (const port of [base + PORT_STRIDE * i, base + PORT_STRIDE * i + 1]) {
        const s = await bind(port);
        if (s === null) ok = false;
        else held.push(s);
      }
    }
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    if (ok) return base;
  }
  throw new Error('no free port range found');
}
