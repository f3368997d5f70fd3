// Network partitions for fault tests: one TCP proxy per directed p2p link of a devnet, on 127.0.0.1 (node:net only).
// Node i dials node j only through its persistent_peers (src/p2p/transport.ts; no identify or peer exchange is
// configured, so a node learns no other address), and `LinkProxies.install` rewrites each node's config.toml so that
// entry points at the proxy P(i->j), which forwards to j's real p2p port. The /p2p/<peer id> suffix is kept: noise
// authenticates the peer id end to end, so a byte-transparent proxy is invisible to the nodes.
// A link that is cut destroys its live sockets (RST, so both sides see the loss at once) and resets every new one.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Test } from 'tap';
import { loadConfig, writeConfig } from '../../src/node/config.ts';
import type { FaultNet } from './faults.ts';

interface Pipe {
  client: Socket;
  upstream: Socket;
  /** The proxy's source port towards the target (what the target node sees as the remote address), once connected. */
  upstreamPort: number | null;
}

interface Link {
  from: number;
  to: number;
  server: Server;
  /** The proxy's listen port: what `from` dials for `to`. */
  port: number;
  pipes: Set<Pipe>;
  /** Connections forwarded / reset because the link was cut. */
  forwarded: number;
  refused: number;
}

/** A p2p multiaddr of a devnet node: /ip4/127.0.0.1/tcp/PORT/p2p/ID. */
function parseP2p(addr: string): { port: number; peerId: string } {
  const m = /^\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/p2p\/([^/]+)$/.exec(addr);
  if (m === null) throw new Error(`not a loopback p2p multiaddr: ${addr}`);
  return { port: Number(m[1]), peerId: m[2] };
}

function hardClose(s: Socket): void {
  // RST rather than FIN: the peer learns at once that the connection is gone (resetAndDestroy needs a connected handle).
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

export class LinkProxies {
  readonly n: number;
  /** links[i][j]: the proxy node i dials to reach node j (null on the diagonal). */
  private readonly links: Array<Array<Link | null>>;
  /** The group each node is in; nodes talk only within their group. */
  private group: number[];
  /** Single links cut on top of the groups, as "i-j" with i < j. */
  private readonly cutPairs = new Set<string>();
  private closed = false;

  private constructor(n: number) {
    this.n = n;
    this.links = Array.from({ length: n }, () => Array.from({ length: n }, () => null));
    this.group = Array.from({ length: n }, () => 0);
  }

  /**
   * Starts a proxy for every ordered pair of nodes and points every node's persistent_peers at them. Call it from
   * startFaultNet's `prepare` (before any process starts). The proxies close at the test's teardown.
   */
  static async install(t: Test, net: FaultNet): Promise<LinkProxies> {
    const n = net.nodes.length;
    const proxies = new LinkProxies(n);
    t.teardown(() => proxies.close());
    const targets = net.nodes.map((node) => parseP2p(node.p2p));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) proxies.links[i][j] = await proxies.listen(i, j, targets[j].port);
    for (let i = 0; i < n; i++) {
      const cfg = await loadConfig(net.nodes[i].home);
      cfg.p2p.persistent_peers = cfg.p2p.persistent_peers.map((peer) => {
        const j = net.nodes.findIndex((node) => node.p2p === peer);
        if (j < 0) throw new Error(`${net.nodes[i].name}: persistent peer ${peer} is not a node of this devnet`);
        return `/ip4/127.0.0.1/tcp/${proxies.links[i][j]!.port}/p2p/${targets[j].peerId}`;
      });
      await writeConfig(net.nodes[i].home, cfg, { overwrite: true });
    }
    return proxies;
  }

  private async listen(from: number, to: number, targetPort: number): Promise<Link> {
    const server = createServer({ noDelay: true });
    const link: Link = { from, to, server, port: 0, pipes: new Set(), forwarded: 0, refused: 0 };
    server.on('connection', (client) => this.accept(link, client, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    link.port = (server.address() as { port: number }).port;
    return link;
  }

  private accept(link: Link, client: Socket, targetPort: number): void {
    client.on('error', () => {}); // resets are what this proxy is for
    if (this.closed || !this.isOpen(link.from, link.to)) {
      link.refused++;
      hardClose(client);
      return;
    }
    link.forwarded++;
    const upstream = connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
    upstream.on('error', () => {});
    const pipe: Pipe = { client, upstream, upstreamPort: null };
    link.pipes.add(pipe);
    upstream.once('connect', () => {
      pipe.upstreamPort = upstream.localPort ?? null;
    });
    const done = () => {
      if (!link.pipes.delete(pipe)) return;
      // One side gone: the other goes too, so the nodes see what a dropped TCP connection looks like.
      hardClose(client);
      hardClose(upstream);
    };
    client.once('close', done);
    upstream.once('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Whether node i may reach node j now (links are cut in both directions at once). */
  isOpen(i: number, j: number): boolean {
    return this.group[i] === this.group[j] && !this.cutPairs.has(pairKey(i, j));
  }

  /**
   * Splits the nodes into groups that cannot reach each other: live connections across groups are reset, new ones
   * refused. A node listed in no group is alone. Replaces any previous partition (single cut links stay cut).
   */
  partition(groups: number[][]): void {
    const group = Array.from({ length: this.n }, (_, i) => -1 - i);
    groups.forEach((g, k) => {
      for (const i of g) {
        if (i < 0 || i >= this.n || group[i] >= 0) throw new Error(`partition ${JSON.stringify(groups)}: bad or repeated node ${i}`);
        group[i] = k;
      }
    });
    this.group = group;
    this.enforce();
  }

  /** Node i alone on one side, every other node on the other. */
  isolate(i: number): void {
    this.partition([[i], [...Array(this.n).keys()].filter((x) => x !== i)]);
  }

  /** Cuts the link between i and j (both directions) until `restore` or `heal`. */
  cut(i: number, j: number): void {
    this.cutPairs.add(pairKey(i, j));
    this.enforce();
  }

  restore(i: number, j: number): void {
    this.cutPairs.delete(pairKey(i, j));
  }

  /** Every link open again; the nodes reconnect on their own redial schedule. */
  heal(): void {
    this.group = this.group.map(() => 0);
    this.cutPairs.clear();
  }

  private enforce(): void {
    for (const row of this.links) {
      for (const link of row) {
        if (link === null || this.isOpen(link.from, link.to)) continue;
        for (const p of [...link.pipes]) {
          link.pipes.delete(p);
          hardClose(p.client);
          hardClose(p.upstream);
        }
      }
    }
  }

  /** Live proxied connections from i to j. */
  live(i: number, j: number): number {
    return this.links[i][j]?.pipes.size ?? 0;
  }

  /** Live proxied connections between nodes of different groups (must be 0 while partitioned). */
  liveAcrossCuts(): number {
    let n = 0;
    for (const row of this.links) for (const link of row) if (link !== null && !this.isOpen(link.from, link.to)) n += link.pipes.size;
    return n;
  }

  /** Connections forwarded and reset so far, over every link. */
  counts(): { forwarded: number; refused: number } {
    let forwarded = 0;
    let refused = 0;
    for (const row of this.links) {
      for (const link of row) {
        forwarded += link?.forwarded ?? 0;
        refused += link?.refused ?? 0;
      }
    }
    return { forwarded, refused };
  }

  /**
   * Which proxy link a p2p connection seen by node `at` (its remote multiaddr in net_info) runs through: an outbound
   * one dials a proxy's listen port, an inbound one comes from a proxy's source port. Null: it bypasses the proxies.
   */
  linkOf(at: number, remoteAddr: string): { from: number; to: number } | null {
    const m = /^\/ip4\/127\.0\.0\.1\/tcp\/(\d+)/.exec(remoteAddr);
    if (m === null) return null;
    const port = Number(m[1]);
    for (const row of this.links) {
      for (const link of row) {
        if (link === null) continue;
        if (link.from === at && link.port === port) return { from: link.from, to: link.to };
        if (link.to === at) for (const p of link.pipes) if (p.upstreamPort === port) return { from: link.from, to: link.to };
      }
    }
    return null;
  }

  async close(): Promise<void> {
    this.closed = true;
    const servers: Promise<void>[] = [];
    for (const row of this.links) {
      for (const link of row) {
        if (link === null) continue;
        for (const p of link.pipes) {
          hardClose(p.client);
          hardClose(p.upstream);
        }
        link.pipes.clear();
        servers.push(new Promise((resolve) => link.server.close(() => resolve())));
      }
    }
    await Promise.all(servers);
  }
}

function pairKey(i: number, j: number): string {
  return i < j ? `${i}-${j}` : `${j}-${i}`;
}
