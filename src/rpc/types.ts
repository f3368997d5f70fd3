// The contract between the JSON-RPC transport (server.ts: HTTP, WebSocket, JSON-RPC 2.0 framing, argument parsing)
// and the method tables (cometbft.ts, domain.ts): a method declares its parameters; the transport parses them from
// JSON (POST) or from a URI query (GET) by CometBFT's rules and calls the handler with typed values.

/** JSON-RPC 2.0 error codes (the only ones the node returns). */
export const RpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
} as const;

/** A JSON-RPC error: `message` is the spec's short text, `data` the sentence that says what was wrong (CometBFT's layout). */
export class RpcError extends Error {
  readonly code: number;
  readonly data: string;

  constructor(code: number, data: string) {
    super(RPC_MESSAGES[code] ?? 'Internal error');
    this.code = code;
    this.data = data;
  }

  static invalidParams(data: string): RpcError {
    return new RpcError(RpcCode.INVALID_PARAMS, data);
  }

  static internal(data: string): RpcError {
    return new RpcError(RpcCode.INTERNAL_ERROR, data);
  }
}

const RPC_MESSAGES: Record<number, string> = {
  [RpcCode.PARSE_ERROR]: 'Parse error',
  [RpcCode.INVALID_REQUEST]: 'Invalid Request',
  [RpcCode.METHOD_NOT_FOUND]: 'Method not found',
  [RpcCode.INVALID_PARAMS]: 'Invalid params',
  [RpcCode.INTERNAL_ERROR]: 'Internal error',
};

/**
 * Parameter types, and the value the handler receives:
 *   int64   bigint   JSON: a number or a decimal string; URI: 5 or "5"
 *   int     number   as int64, within the safe integer range (page, per_page, ...)
 *   string  string   JSON: a string; URI: "quoted" (CometBFT) or bare
 *   bytes   Uint8Array  JSON: base64; URI: 0xHEX, or a "quoted" string taken as its UTF-8 bytes
 *   hex     Uint8Array  JSON: hex (with or without 0x) or base64; URI: 0xHEX or bare HEX (hashes, addresses)
 *   bool    boolean  JSON: true/false; URI: true/false
 * An absent optional parameter is `undefined`; JSON null counts as absent.
 */
export type ParamType = 'int64' | 'int' | 'string' | 'bytes' | 'hex' | 'bool';

export interface ParamSpec {
  name: string;
  type: ParamType;
  optional?: boolean;
}

export type Args = Record<string, bigint | number | string | Uint8Array | boolean | undefined>;

/** What a handler knows about its caller. */
export interface CallContext {
  /** The WebSocket session, for calls that arrived over /websocket (subscribe needs it); null over HTTP. */
  session: unknown | null;
  /** Aborted when the client goes away or the request times out; long handlers (broadcast_tx_commit) watch it. */
  signal: AbortSignal;
}

export interface Method {
  params: readonly ParamSpec[];
  /** Changes the node (dialing, flushing the mempool): refused unless config rpc.unsafe = true. */
  unsafe?: boolean;
  /** Only over WebSocket (subscribe, unsubscribe, unsubscribe_all). */
  websocketOnly?: boolean;
  /** Returns the JSON `result` (already in wire encoding: strings for int64, upper-case hex, base64). */
  handler(args: Args, ctx: CallContext): unknown | Promise<unknown>;
}

export type MethodTable = Record<string, Method>;

/**
 * One event published after a block commits, in CometBFT's shape: `events` is the flat map the query language matches
 * (composite key "type.attribute" -> values; always "tm.event", plus "tx.hash" and "tx.height" for a Tx event), `data`
 * is the envelope sent to subscribers as result.data: {type: "tendermint/event/NewBlock", value: {...}}.
 */
export interface ChainEvent {
  kind: 'NewBlock' | 'NewBlockHeader' | 'Tx';
  events: Record<string, string[]>;
  data: { type: string; value: unknown };
}

/** Where committed-block events go (events.ts implements it); internal listeners (broadcast_tx_commit) use it too. */
export interface EventSink {
  publish(event: ChainEvent): void;
  /** Calls `listener` for every published event matching `query` (CometBFT query syntax) until the returned function is called. */
  subscribe(query: string, listener: (event: ChainEvent) => void): () => void;
}
