// The event bus: the node publishes committed-block events here (NewBlock, NewBlockHeader, Tx); internal listeners
// (broadcast_tx_commit) and WebSocket subscriptions (the registry below, used by server.ts) receive the ones their
// query matches. Publishing runs on the consensus commit path, so it never throws, costs nothing when nobody listens,
// and never waits for a subscriber: a WebSocket subscriber gets a ready-made JSON message and decides itself whether
// to send it or to drop its client (server.ts bounds each client's outgoing buffer).
import type { Logger } from 'pino';
import type { ChainEvent, EventSink } from './types.ts';
import { RpcError } from './types.ts';
import { formatQuery, matches, parseQuery, type Query } from './query.ts';

export type JsonRpcId = string | number | null;

/** A WebSocket client as the registry sees it (server.ts implements it). */
export interface Subscriber {
  /** For logs: e.g. the remote address. */
  readonly name: string;
  /** Sends one JSON-RPC message; may instead drop the client (slow consumer), which unregisters it. Never throws. */
  deliver(message: string): void;
}

export interface SubscriptionLimits {
  /** Most clients holding at least one subscription (config rpc.max_subscription_clients). */
  maxSubscriptionClients: number;
  /** Most subscriptions per client (config rpc.max_subscriptions_per_client). */
  maxSubscriptionsPerClient: number;
}

/** CometBFT's defaults, used until the server applies its config. */
export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = { maxSubscriptionClients: 100, maxSubscriptionsPerClient: 5 };

interface Subscription {
  query: Query;
  /** The query as the client wrote it: CometBFT echoes it in every event message. */
  text: string;
  /** The id of the subscribe request: every event message carries it. */
  id: JsonRpcId;
}

interface Listener {
  query: Query;
  fn: (event: ChainEvent) => void;
}

export class EventBus implements EventSink {
  private readonly listeners = new Set<Listener>();
  /** Subscriber -> canonical query text -> subscription. A client is here only while it holds a subscription. */
  private readonly clients = new Map<Subscriber, Map<string, Subscription>>();
  private limits: SubscriptionLimits;
  private readonly logger: Logger | undefined;

  constructor(opts: { limits?: Partial<SubscriptionLimits>; logger?: Logger } = {}) {
    this.limits = { ...DEFAULT_SUBSCRIPTION_LIMITS, ...opts.limits };
    this.logger = opts.logger;
  }

  /** The server applies its config here, so rpc.max_subscription_* always hold whoever built the bus. */
  setLimits(limits: Partial<SubscriptionLimits>): void {
    this.limits = { ...this.limits, ...limits };
  }

  /** Number of WebSocket clients holding subscriptions. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Number of subscriptions a client holds. */
  subscriptionCount(sub: Subscriber): number {
    return this.clients.get(sub)?.size ?? 0;
  }

  /** Number of internal listeners. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  // ---- EventSink ----

  publish(event: ChainEvent): void {
    if (this.listeners.size === 0 && this.clients.size === 0) return;
    try {
      this.dispatch(event);
    } catch (err) {
      // Only a bug can get here (listeners and subscribers are guarded): log it, never fail a commit for it.
      this.logger?.error({ err }, 'event publishing failed');
    }
  }

  /** Throws RpcError -32602 for a malformed query; the returned function removes the listener (idempotent). */
  subscribe(query: string, listener: (event: ChainEvent) => void): () => void {
    const entry: Listener = { query: parseQuery(query), fn: listener };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  private dispatch(event: ChainEvent): void {
    if (this.listeners.size > 0) {
      // A snapshot: a listener may unsubscribe (itself or others) while we iterate.
      for (const l of [...this.listeners]) {
        if (!this.listeners.has(l) || !matches(l.query, event.events)) continue;
        try {
          l.fn(event);
        } catch (err) {
          this.logger?.error({ err, kind: event.kind }, 'event listener threw');
        }
      }
    }
    if (this.clients.size === 0) return;
    // Serialised once per event, lazily; each message only wraps it with the subscription's id and query.
    let body: string | null = null;
    for (const [sub, subs] of [...this.clients]) {
      for (const s of [...subs.values()]) {
        // A delivery may drop a client (slow consumer), which unregisters it mid-loop.
        if (this.clients.get(sub) !== subs) break;
        if (!matches(s.query, event.events)) continue;
        if (body === null) {
          try {
            body = `"data":${JSON.stringify(event.data)},"events":${JSON.stringify(event.events)}`;
          } catch (err) {
            this.logger?.error({ err, kind: event.kind }, 'event is not serialisable to JSON; not sent to WebSocket subscribers');
            return;
          }
        }
        const message = `{"jsonrpc":"2.0","id":${JSON.stringify(s.id)},"result":{"query":${JSON.stringify(s.text)},${body}}}`;
        try {
          sub.deliver(message);
        } catch (err) {
          this.logger?.error({ err, subscriber: sub.name }, 'event delivery threw');
        }
      }
    }
  }

  // ---- WebSocket subscription registry (server.ts) ----

  /**
   * Registers `sub` for events matching `queryText`; each event message carries `id`. Throws RpcError: -32602 for a
   * malformed query; -32603 (as CometBFT) when a limit is reached or the client already holds this query (compared
   * in canonical form, so spacing does not matter).
   */
  addSubscription(sub: Subscriber, queryText: string, id: JsonRpcId): void {
    const existing = this.clients.get(sub);
    if (existing === undefined && this.clients.size >= this.limits.maxSubscriptionClients) {
      throw RpcError.internal(
        `max_subscription_clients ${this.limits.maxSubscriptionClients} reached: no more WebSocket clients may subscribe until one unsubscribes or disconnects`,
      );
    }
    if (existing !== undefined && existing.size >= this.limits.maxSubscriptionsPerClient) {
      throw RpcError.internal(
        `max_subscriptions_per_client ${this.limits.maxSubscriptionsPerClient} reached: unsubscribe from a query before subscribing to another`,
      );
    }
    const query = parseQuery(queryText);
    const key = formatQuery(query);
    if (existing?.has(key)) throw RpcError.internal(`already subscribed to ${JSON.stringify(key)} on this connection`);
    const subs = existing ?? new Map<string, Subscription>();
    subs.set(key, { query, text: queryText, id });
    if (existing === undefined) this.clients.set(sub, subs);
    this.logger?.info({ subscriber: sub.name, query: key }, 'subscribed');
  }

  /** Removes one subscription; throws RpcError -32602 for a malformed query, -32603 "subscription not found" (CometBFT). */
  removeSubscription(sub: Subscriber, queryText: string): void {
    const key = formatQuery(parseQuery(queryText));
    const subs = this.clients.get(sub);
    if (subs === undefined || !subs.delete(key)) {
      throw RpcError.internal(`subscription not found: this connection has no subscription to ${JSON.stringify(key)}`);
    }
    if (subs.size === 0) this.clients.delete(sub);
    this.logger?.info({ subscriber: sub.name, query: key }, 'unsubscribed');
  }

  /** Removes every subscription of a client; throws RpcError -32603 "subscription not found" if it holds none (CometBFT). */
  removeAllSubscriptions(sub: Subscriber): void {
    if (!this.clients.delete(sub)) throw RpcError.internal('subscription not found: this connection has no subscriptions');
    this.logger?.info({ subscriber: sub.name }, 'unsubscribed from all');
  }

  /** Forgets a client that went away (disconnected or dropped); silent if it held nothing. */
  dropSubscriber(sub: Subscriber): void {
    this.clients.delete(sub);
  }
}
