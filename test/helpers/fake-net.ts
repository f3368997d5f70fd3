// One node's view of an in-memory network for reactor tests: what it sends and whom it penalizes is recorded; the
// test connects peers and delivers their messages by hand.
import type { ChannelId, Network, PeerInfo } from '../../src/p2p/types.ts';

export class FakeNet implements Network {
  readonly sent: Array<{ peer: string; channel: ChannelId; bytes: Uint8Array }> = [];
  readonly penalties: Array<{ peer: string; reason: string; cost: number }> = [];
  private readonly handlers = new Map<ChannelId, (peer: string, bytes: Uint8Array) => void>();
  private readonly peerHandlers: Array<(event: 'connected' | 'disconnected', peer: string) => void> = [];
  private readonly connected = new Set<string>();

  peers(): PeerInfo[] {
    return [...this.connected].map((id) => ({ id, remoteAddr: '', outbound: true }));
  }
  send(peer: string, channel: ChannelId, bytes: Uint8Array): void {
    if (this.connected.has(peer)) this.sent.push({ peer, channel, bytes });
  }
  broadcast(channel: ChannelId, bytes: Uint8Array, except?: string): void {
    for (const p of this.connected) if (p !== except) this.sent.push({ peer: p, channel, bytes });
  }
  onMessage(channel: ChannelId, handler: (peer: string, bytes: Uint8Array) => void): void {
    this.handlers.set(channel, handler);
  }
  onPeer(handler: (event: 'connected' | 'disconnected', peer: string) => void): void {
    this.peerHandlers.push(handler);
  }
  penalize(peer: string, reason: string, cost = 10): void {
    this.penalties.push({ peer, reason, cost });
  }
  connect(peer: string): void {
    this.connected.add(peer);
    for (const h of this.peerHandlers) h('connected', peer);
  }
  disconnect(peer: string): void {
    this.connected.delete(peer);
    for (const h of this.peerHandlers) h('disconnected', peer);
  }
  /** A message from `peer` arrives on `channel`. */
  deliver(peer: string, channel: ChannelId, bytes: Uint8Array): void {
    this.handlers.get(channel)?.(peer, bytes);
  }
  /** Messages sent to `peer` on `channel`, from the `from`-th message sent on. */
  sentTo(peer: string, channel: ChannelId, from = 0): Uint8Array[] {
    return this.sent.slice(from).filter((s) => s.peer === peer && s.channel === channel).map((s) => s.bytes);
  }
}
