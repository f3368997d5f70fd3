// The JSON-RPC transport, in CometBFT v0.38's dialect (rpc/jsonrpc/server): JSON-RPC 2.0 over HTTP POST `/` (one
// request or a batch), CometBFT's URI form GET `/method?arg=value`, and WebSocket at `/websocket` (requests, plus
// subscribe / unsubscribe / unsubscribe_all served from the EventBus registry). Methods come from a MethodTable
// (types.ts); this file only frames, parses arguments, limits and maps errors.
//
// HTTP statuses (as CometBFT v0.38 unless noted):
//   POST /   200 for every response to a well-formed body, errors included (-32600/-32601/-32602/-32603), and an empty
//            200 when the body held only notifications; 500 for malformed JSON (-32700); 400 (-32600) for a body over
//            MAX_BODY_BYTES, a batch over MAX_BATCH_REQUESTS, and (ours) an empty batch.
//   GET /m   200 on success, 500 for bad arguments (-32602) and handler errors (-32603), 404 (-32601) for an unknown,
//            disabled-unsafe or WebSocket-only method. Responses carry id -1, as CometBFT's.
//   GET /    (any method, empty body) 200 HTML list of the endpoints.
//   503      (ours; CometBFT queues) a connection beyond rpc.max_open_connections gets a -32603 body and is closed.
//   400      /websocket without a WebSocket upgrade. Node itself answers 408 (slow sender), 431 (headers over 16 KB).
// JSON-RPC details: a request without "id" is a notification and, as in CometBFT, is neither run nor answered; an
// "id": null is answered (JSON-RPC 2.0; CometBFT treats it as a notification). A batch is answered with an array even
// when it holds one request (JSON-RPC 2.0; CometBFT unwraps it). Batch entries run one after another, in order.
// Parameters: by name (unknown names are refused rather than ignored, so a misspelt name never silently reads as
// absent) or by position (at most the method's count; missing trailing ones are absent). Errors thrown by handlers:
// RpcError as is; AppError -> -32602 for codes that say the input itself is bad (BAD_INPUT_CODES), -32603 with
// "CODE: message" otherwise (CometBFT reports every handler error as -32603, "not found" included); INTERNAL,
// STORE_CORRUPT and any other exception -> -32603 "internal error", logged with its stack, never sent.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Logger } from 'pino';
import { RpcCode, RpcError, type Args, type Method, type MethodTable, type ParamSpec, type ParamType } from './types.ts';
import type { EventBus, JsonRpcId, Subscriber } from './events.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import { parseTcpAddress, type NodeConfig } from '../node/config.ts';

/** Largest request body (CometBFT's max_body_bytes default). */
export const MAX_BODY_BYTES = 1_000_000;
/** Most requests in one batch (CometBFT's max_request_batch_size default). */
export const MAX_BATCH_REQUESTS = 10;
/** Default time a handler may take (CometBFT's HTTP write timeout). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Default time a client has to send a whole request, headers and body (CometBFT's HTTP read timeout). */
export const DEFAULT_READ_TIMEOUT_MS = 10_000;
/** Largest WebSocket message. */
export const WS_MAX_PAYLOAD = 1_000_000;
/** Server pings every WebSocket this often; one that answered nothing for two periods is closed (CometBFT: 27 s / 30 s). */
export const DEFAULT_WS_PING_INTERVAL_MS = 27_000;
/** A WebSocket client is dropped when this many messages wait to be written to its socket (CometBFT's write channel). */
export const DEFAULT_WS_MAX_PENDING_MESSAGES = 100;
/** ... or when the bytes waiting would pass this (one message larger than this may still go out alone). */
export const DEFAULT_WS_MAX_PENDING_BYTES = 4 * 1024 * 1024;

/** AppError codes that mean the caller's input is wrong whatever the state: reported as -32602 (invalid params). */
export const BAD_INPUT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INVALID_FIELD',
  'TX_DECODE',
  'TX_TOO_LARGE',
  'UNKNOWN_MESSAGE',
  'INVALID_AMOUNT',
  'BAD_KEY',
  'BAD_SIGNATURE',
  'WRONG_CHAIN_ID',
]);

/** Codes whose message is for operators, not for RPC clients. */
const HIDDEN_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['INTERNAL', 'STORE_CORRUPT']);

/** CometBFT answers URI (GET) requests with this id. */
const URI_ID = -1;

export interface RpcServerOptions {
  /** tcp://HOST:PORT; port 0 picks a free port (see `url`). */
  laddr: string;
  methods: MethodTable;
  events: EventBus;
  config: NodeConfig['rpc'];
  logger: Logger;
  /** Time a handler may take before the call is abandoned with -32603 (default 10 s; broadcast_tx_commit gets at least its own timeout + 1 s). */
  requestTimeoutMs?: number;
  /** Time a client has to send a whole request (default 10 s). */
  readTimeoutMs?: number;
  wsPingIntervalMs?: number;
  wsMaxPendingMessages?: number;
  wsMaxPendingBytes?: number;
  /** Plain HTTP handlers by exact path, answered before JSON-RPC routing (e.g. GET /metrics). */
  extraRoutes?: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>>;
}

export interface RpcServerStats {
  /** Open connections within the limit (HTTP and WebSocket). */
  connections: number;
  /** Open WebSocket sessions. */
  websockets: number;
  /** Largest outgoing buffer of any WebSocket session, in bytes. */
  maxWsBufferedBytes: number;
}

interface Entry {
  method: Method;
  /** Unsafe and rpc.unsafe is off: known, but refused as if absent. */
  disabled: boolean;
}

/** Maps anything a handler threw to the JSON-RPC error sent back (see the header comment); logs what is hidden. */
export function toRpcError(err: unknown, logger?: Logger, method?: string): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof AppError) {
    if (HIDDEN_CODES.has(err.code)) {
      logger?.error({ err, method }, 'RPC handler failed');
      return RpcError.internal('internal error');
    }
    const data = `${err.code}: ${err.message}`;
    return BAD_INPUT_CODES.has(err.code) ? RpcError.invalidParams(data) : RpcError.internal(data);
  }
  logger?.error({ err, method }, 'RPC handler failed');
  return RpcError.internal('internal error');
}

function errorJson(id: JsonRpcId, err: RpcError): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code: err.code, message: err.message, data: err.data } });
}

function invalidRequest(data: string): RpcError {
  return new RpcError(RpcCode.INVALID_REQUEST, data);
}

function methodNotFound(data: string): RpcError {
  return new RpcError(RpcCode.METHOD_NOT_FOUND, data);
}

/** A value shown in an error sentence, shortened. */
function shown(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    // too deeply nested for JSON.stringify (String() of such an array recurses just as deep and throws too)
    s = Array.isArray(v) ? '[...] (nested too deeply to show)' : typeof v === 'object' && v !== null ? '{...} (nested too deeply to show)' : String(v);
  }
  return s.length > 48 ? `${s.slice(0, 45)}...` : s;
}

// ---- argument parsing ----

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL_INT = /^-?[0-9]+$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const JSON_FORMS: Record<ParamType, string> = {
  int64: 'an integer, as a number or a decimal string such as "42"',
  int: 'an integer such as 42',
  string: 'a string',
  bytes: 'base64 bytes (a string)',
  hex: 'hex bytes (a string, 0x optional) or base64',
  bool: 'true or false',
};

const URI_FORMS: Record<ParamType, string> = {
  int64: 'an integer such as 42 or "42"',
  int: 'an integer such as 42 or "42"',
  string: 'a "quoted" or bare string',
  bytes: '0xHEX or a "quoted string"',
  hex: '0xHEX or bare HEX',
  bool: 'true or false',
};

function badParam(p: ParamSpec, forms: Record<ParamType, string>, got: unknown, why?: string): RpcError {
  return RpcError.invalidParams(`parameter "${p.name}" must be ${forms[p.type]}${why ? ` (${why})` : ''}; got ${shown(got)}`);
}

function integer(p: ParamSpec, text: string, forms: Record<ParamType, string>, got: unknown): bigint | number {
  if (!DECIMAL_INT.test(text)) throw badParam(p, forms, got);
  const n = BigInt(text);
  if (p.type === 'int') {
    if (n < BigInt(Number.MIN_SAFE_INTEGER) || n > BigInt(Number.MAX_SAFE_INTEGER)) throw badParam(p, forms, got, 'out of range');
    return Number(n);
  }
  if (n < INT64_MIN || n > INT64_MAX) throw badParam(p, forms, got, 'outside the int64 range');
  return n;
}

/** One JSON parameter value to its typed value (types.ts table); null/undefined are handled by the caller. */
function fromJson(p: ParamSpec, v: unknown): Args[string] {
  switch (p.type) {
    case 'int64':
    case 'int':
      if (typeof v === 'number') {
        if (!Number.isSafeInteger(v)) throw badParam(p, JSON_FORMS, v, Number.isInteger(v) ? 'too large for a JSON number; send it as a string' : 'not an integer');
        return p.type === 'int' ? v : BigInt(v);
      }
      if (typeof v === 'string') return integer(p, v, JSON_FORMS, v);
      throw badParam(p, JSON_FORMS, v);
    case 'string':
      if (typeof v !== 'string') throw badParam(p, JSON_FORMS, v);
      return v;
    case 'bytes':
      if (typeof v !== 'string' || !BASE64.test(v)) throw badParam(p, JSON_FORMS, v);
      return new Uint8Array(Buffer.from(v, 'base64'));
    case 'hex': {
      if (typeof v !== 'string') throw badParam(p, JSON_FORMS, v);
      const h = v.startsWith('0x') || v.startsWith('0X') ? v.slice(2) : v;
      if (HEX.test(h)) return new Uint8Array(Buffer.from(h, 'hex'));
      if (BASE64.test(v)) return new Uint8Array(Buffer.from(v, 'base64'));
      throw badParam(p, JSON_FORMS, v);
    }
    case 'bool':
      if (typeof v !== 'boolean') throw badParam(p, JSON_FORMS, v);
      return v;
  }
}

/** One URI argument (already percent-decoded, non-empty) to its typed value, by CometBFT's rules. */
function fromUri(p: ParamSpec, raw: string): Args[string] {
  const quoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"');
  const is0x = raw.startsWith('0x') || raw.startsWith('0X');
  switch (p.type) {
    case 'int64':
    case 'int':
      return integer(p, quoted ? raw.slice(1, -1) : raw, URI_FORMS, raw);
    case 'string':
      if (!quoted) return raw;
      try {
        return JSON.parse(raw) as string;
      } catch {
        throw badParam(p, URI_FORMS, raw, 'the quoted string is not a valid JSON string');
      }
    case 'bytes':
      if (is0x) {
        if (!HEX.test(raw.slice(2))) throw badParam(p, URI_FORMS, raw, 'odd length or non-hex digits');
        return new Uint8Array(Buffer.from(raw.slice(2), 'hex'));
      }
      if (quoted) {
        try {
          return new TextEncoder().encode(JSON.parse(raw) as string);
        } catch {
          throw badParam(p, URI_FORMS, raw, 'the quoted string is not a valid JSON string');
        }
      }
      throw badParam(p, URI_FORMS, raw);
    case 'hex': {
      const h = is0x ? raw.slice(2) : raw;
      if (!HEX.test(h)) throw badParam(p, URI_FORMS, raw);
      return new Uint8Array(Buffer.from(h, 'hex'));
    }
    case 'bool':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw badParam(p, URI_FORMS, raw);
  }
}

function paramList(specs: readonly ParamSpec[]): string {
  return specs.length === 0 ? 'none' : specs.map((p) => `${p.name} (${p.type}${p.optional ? ', optional' : ''})`).join(', ');
}

function checkRequired(name: string, specs: readonly ParamSpec[], args: Args, forms: Record<ParamType, string>): Args {
  for (const p of specs) {
    if (!p.optional && args[p.name] === undefined) {
      throw RpcError.invalidParams(`${name} needs parameter "${p.name}": ${forms[p.type]}`);
    }
  }
  return args;
}

/** JSON-RPC params (absent, an object by name, or an array by position) to typed arguments; throws RpcError -32602. */
export function parseJsonParams(name: string, specs: readonly ParamSpec[], params: unknown): Args {
  const args: Args = {};
  if (params === undefined || params === null) return checkRequired(name, specs, args, JSON_FORMS);
  if (Array.isArray(params)) {
    if (params.length > specs.length) {
      throw RpcError.invalidParams(`${name} takes at most ${specs.length} positional parameters (${paramList(specs)}); got ${params.length}`);
    }
    params.forEach((v, i) => {
      if (v !== null && v !== undefined) args[specs[i].name] = fromJson(specs[i], v);
    });
    return checkRequired(name, specs, args, JSON_FORMS);
  }
  if (typeof params !== 'object') {
    throw RpcError.invalidParams(`params must be an object (by name) or an array (by position); got ${shown(params)}`);
  }
  const byName = params as Record<string, unknown>;
  for (const key of Object.keys(byName)) {
    if (!specs.some((p) => p.name === key)) {
      throw RpcError.invalidParams(`${name} has no parameter ${JSON.stringify(key)}; it takes: ${paramList(specs)}`);
    }
  }
  for (const p of specs) {
    const v = byName[p.name];
    if (Object.hasOwn(byName, p.name) && v !== null && v !== undefined) args[p.name] = fromJson(p, v);
  }
  return checkRequired(name, specs, args, JSON_FORMS);
}

/** A URI query string (after `?`) to typed arguments by CometBFT's rules; an empty value is absent. Throws RpcError -32602. */
export function parseUriParams(name: string, specs: readonly ParamSpec[], query: string): Args {
  const args: Args = {};
  const seen = new Set<string>();
  for (const [key, raw] of new URLSearchParams(query)) {
    const p = specs.find((s) => s.name === key);
    if (p === undefined) throw RpcError.invalidParams(`${name} has no parameter ${JSON.stringify(key)}; it takes: ${paramList(specs)}`);
    if (seen.has(key)) throw RpcError.invalidParams(`parameter "${key}" is given more than once`);
    seen.add(key);
    if (raw !== '') args[key] = fromUri(p, raw);
  }
  return checkRequired(name, specs, args, URI_FORMS);
}

// ---- helpers ----

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}

function sendBody(res: http.ServerResponse, status: number, body: string, contentType = 'application/json'): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendEmpty(res: http.ServerResponse): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(200, { 'Content-Length': 0 });
  res.end();
}

class BodyTooLarge extends Error {}

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x.x.x. */
export function isLoopback(address: string): boolean {
  return address === '::1' || /^(?:::ffff:)?127\.\d+\.\d+\.\d+$/i.test(address);
}

/** An oversized body is read and discarded up to this size so that its client gets the answer (see serveJsonRpc). */
export const DRAIN_LIMIT_BYTES = 8 * MAX_BODY_BYTES;

/**
 * Reads and discards the rest of a request body. True once it ended; false if the client went away or the body
 * (declared or read) passed `limit`, in which case the request is destroyed.
 */
function drained(req: http.IncomingMessage, limit: number): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let size = 0;
    const declared = Number(req.headers['content-length'] ?? 0);
    const cut = (): void => {
      req.destroy();
      resolve(false);
    };
    if (declared > limit) return cut();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) cut();
    });
    req.on('end', () => resolve(true));
    req.on('close', () => resolve(false));
    req.resume();
  });
}

/** Reads a request body of at most `limit` bytes; rejects with BodyTooLarge (by Content-Length or while streaming). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null, body?: Buffer): void => {
      if (done) return;
      done = true;
      if (err) reject(err);
      else resolve(body!);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        finish(new BodyTooLarge());
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => finish(null, Buffer.concat(chunks, size)));
    req.on('error', (err) => finish(err));
    req.on('close', () => finish(new Error('the client closed the connection before sending the whole body')));
  });
}

// ---- WebSocket sessions ----

class WsSession implements Subscriber {
  readonly name: string;
  readonly ws: WebSocket;
  private readonly server: RpcServer;
  /** Aborted when the session ends: in-flight calls see it. */
  readonly abort = new AbortController();
  /** Messages handed to ws and not yet written to the socket. */
  pending = 0;
  /** Heard from the client (message or pong) since the last ping. */
  alive = true;
  closed = false;
  /** A request is being handled; the socket is paused meanwhile so requests run one at a time, as in CometBFT. */
  busy = false;
  /** The id of the request being handled (subscribe stamps it on its events). */
  currentId: JsonRpcId = null;
  private readonly queue: RawData[] = [];
  private killTimer: NodeJS.Timeout | null = null;

  constructor(server: RpcServer, ws: WebSocket, name: string) {
    this.server = server;
    this.ws = ws;
    this.name = name;
  }

  deliver(message: string): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    const buffered = this.ws.bufferedAmount;
    const limits = this.server.wsLimits;
    if (this.pending >= limits.messages || (buffered > 0 && buffered + message.length > limits.bytes)) {
      this.end(1008, `slow consumer: ${this.pending} messages (${buffered} bytes) still unsent`);
      return;
    }
    this.pending++;
    this.ws.send(message, () => {
      this.pending--;
    });
  }

  deliverMaybe(message: string | null): void {
    if (message !== null) this.deliver(message);
  }

  received(data: RawData): void {
    this.alive = true;
    if (this.closed) return;
    this.queue.push(data);
    if (!this.busy) void this.drain();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    this.ws.pause();
    try {
      while (this.queue.length > 0 && !this.closed) {
        await this.server.handleWsMessage(this, this.queue.shift()!);
      }
    } catch (err) {
      // Only a bug gets here; an unhandled rejection would stop the node, so end this session instead.
      this.server.sessionFailed(this, err);
    } finally {
      this.busy = false;
      if (!this.closed) this.ws.resume();
    }
  }

  /** Ends the session: unsubscribes, aborts calls, sends a close frame, and destroys the socket if that is not enough within 1 s. */
  end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.server.sessionEnded(this, reason);
    this.abort.abort(RpcError.internal(`the WebSocket connection closed: ${reason}`));
    try {
      // A close reason is at most 123 bytes.
      this.ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
    } catch {
      this.ws.terminate();
    }
    this.killTimer = setTimeout(() => this.ws.terminate(), 1000);
    this.killTimer.unref();
  }

  /** The socket is gone (closed by either side). */
  gone(): void {
    if (this.killTimer) clearTimeout(this.killTimer);
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.server.sessionEnded(this, 'disconnected');
    this.abort.abort(RpcError.internal('the WebSocket connection closed'));
  }
}

// ---- the server ----

export class RpcServer {
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly table = new Map<string, Entry>();
  private readonly events: EventBus;
  private readonly config: NodeConfig['rpc'];
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  /** @internal Per-session outgoing buffer bounds. */
  readonly wsLimits: { messages: number; bytes: number };
  private readonly pingIntervalMs: number;
  private pingTimer: NodeJS.Timeout | null = null;
  /** Connections within max_open_connections, and the ones beyond it (answered 503, then closed). */
  private readonly sockets = new Set<Socket>();
  private readonly overLimit = new Set<Socket>();
  private readonly sessions = new Set<WsSession>();
  /** In-flight calls over HTTP, aborted by close(). */
  private readonly inflight = new Set<AbortController>();
  private closing = false;
  private closed: Promise<void> | null = null;
  private boundUrl = '';
  private readonly extraRoutes: Map<string, NonNullable<RpcServerOptions['extraRoutes']>[string]>;

  private constructor(opts: RpcServerOptions) {
    this.events = opts.events;
    this.config = opts.config;
    this.log = opts.logger; // the caller binds the module name (node.ts: log.child({ module: 'rpc' }))
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.extraRoutes = new Map(Object.entries(opts.extraRoutes ?? {}));
    this.wsLimits = {
      messages: opts.wsMaxPendingMessages ?? DEFAULT_WS_MAX_PENDING_MESSAGES,
      bytes: opts.wsMaxPendingBytes ?? DEFAULT_WS_MAX_PENDING_BYTES,
    };
    this.pingIntervalMs = opts.wsPingIntervalMs ?? DEFAULT_WS_PING_INTERVAL_MS;
    this.events.setLimits({
      maxSubscriptionClients: opts.config.max_subscription_clients,
      maxSubscriptionsPerClient: opts.config.max_subscriptions_per_client,
    });
    for (const [name, method] of Object.entries({ ...opts.methods, ...this.subscriptionMethods() })) {
      this.table.set(name, { method, disabled: method.unsafe === true && !opts.config.unsafe });
    }

    const readTimeout = opts.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    this.http = http.createServer({
      requestTimeout: readTimeout,
      headersTimeout: readTimeout,
      // How often Node checks those two timeouts (its default, 30 s, would let a slow sender hold a connection that long).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(readTimeout / 4))),
      keepAliveTimeout: 5000,
    });
    this.http.on('connection', (socket: Socket) => this.onConnection(socket));
    this.http.on('request', (req, res) => this.onRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, perMessageDeflate: false, clientTracking: false });
  }

  /** Starts listening; rejects with AppError BAD_CONFIG for a malformed or unusable laddr. */
  static async start(opts: RpcServerOptions): Promise<RpcServer> {
    const addr = parseTcpAddress(opts.laddr);
    if (addr === null) {
      throw new AppError('BAD_CONFIG', `rpc.laddr ${JSON.stringify(opts.laddr)} must be tcp://HOST:PORT, for example "tcp://127.0.0.1:26657"`);
    }
    const server = new RpcServer(opts);
    try {
      await new Promise<void>((resolve, reject) => {
        server.http.once('error', reject);
        server.http.listen(addr.port, addr.host, () => {
          server.http.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      server.http.close();
      throw new AppError('BAD_CONFIG', `cannot listen on ${opts.laddr} (rpc.laddr): ${(err as Error).message}`);
    }
    // After listening, errors (EMFILE on accept, ...) are logged: with no listener they would crash the process.
    server.http.on('error', (err) => server.log.error({ err }, 'RPC server error'));
    const bound = server.http.address();
    if (bound === null || typeof bound === 'string') throw new AppError('INTERNAL', 'the RPC server has no TCP address');
    const host = bound.address === '0.0.0.0' ? '127.0.0.1' : bound.address === '::' ? '::1' : bound.address;
    server.boundUrl = `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
    server.pingTimer = setInterval(() => server.pingSweep(), server.pingIntervalMs);
    server.pingTimer.unref();
    server.log.info({ url: server.boundUrl, unsafe: opts.config.unsafe }, 'RPC server listening');
    if (opts.config.unsafe && !isLoopback(bound.address)) {
      server.log.warn({ url: server.boundUrl }, 'rpc.unsafe is on and the RPC listens beyond loopback: anyone who reaches it can change this node');
    }
    return server;
  }

  /** http://HOST:PORT actually bound (a wildcard host shows as loopback). */
  get url(): string {
    return this.boundUrl;
  }

  get stats(): RpcServerStats {
    let maxBuffered = 0;
    for (const s of this.sessions) maxBuffered = Math.max(maxBuffered, s.ws.bufferedAmount);
    return { connections: this.sockets.size, websockets: this.sessions.size, maxWsBufferedBytes: maxBuffered };
  }

  /** Stops listening, answers in-flight calls with -32603, closes every WebSocket (1001) and socket. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const ctl of this.inflight) ctl.abort(RpcError.internal('the server is shutting down'));
    for (const s of [...this.sessions]) s.end(1001, 'server shutting down');
    this.http.closeIdleConnections();
    // A short grace for answers and close handshakes to flush, then every remaining socket is destroyed.
    const deadline = performance.now() + 500;
    while (this.sockets.size + this.overLimit.size > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      this.http.closeIdleConnections();
    }
    // Every socket still in these sets has not emitted 'close' yet, so waiting for it cannot hang.
    const remaining = [...this.sockets, ...this.overLimit];
    const allClosed = Promise.all(remaining.map((s) => new Promise((resolve) => s.once('close', resolve))));
    for (const s of remaining) s.destroy();
    for (const s of [...this.sessions]) s.ws.terminate();
    await allClosed;
    await stopped;
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.log.info('RPC server closed');
  }

  // ---- connections ----

  private onConnection(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.sockets.size >= this.config.max_open_connections) {
      // Beyond the limit: its request (if any comes soon) gets a 503 sentence, then the connection closes.
      this.overLimit.add(socket);
      const kill = setTimeout(() => socket.destroy(), 2000).unref();
      socket.once('close', () => {
        clearTimeout(kill);
        this.overLimit.delete(socket);
      });
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private tooManyConnections(): string {
    return errorJson(
      null,
      RpcError.internal(`too many open connections: this server allows ${this.config.max_open_connections} (rpc.max_open_connections); retry later`),
    );
  }

  // ---- HTTP ----

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = performance.now();
    const methods: string[] = [];
    res.once('close', () => {
      this.log.debug(
        { http: req.method, url: (req.url ?? '').slice(0, 200), status: res.statusCode, methods, ms: Math.round(performance.now() - started), remote: req.socket.remoteAddress },
        'RPC request',
      );
    });
    if (this.overLimit.has(req.socket)) {
      res.setHeader('Connection', 'close');
      req.resume();
      sendBody(res, 503, this.tooManyConnections());
      return;
    }
    this.route(req, res, methods).catch((err: unknown) => {
      // Only a bug gets here: answer 500 if we still can, never crash the process.
      this.log.error({ err }, 'RPC request failed');
      if (!res.headersSent) sendBody(res, 500, errorJson(null, RpcError.internal('internal error')));
      else res.destroy();
    });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, methods: string[]): Promise<void> {
    const { path, query } = splitUrl(req.url ?? '/');
    if (path === '/' || path === '') return this.serveJsonRpc(req, res, methods);
    const extra = this.extraRoutes.get(path);
    if (extra !== undefined) return extra(req, res);
    if (path === '/websocket') {
      req.resume();
      sendBody(res, 400, errorJson(null, invalidRequest('/websocket takes WebSocket connections only: connect with a WebSocket client (ws://HOST:PORT/websocket)')));
      return;
    }
    req.resume(); // URI calls take their arguments from the query string; any body is discarded
    let name: string;
    try {
      name = decodeURIComponent(path.slice(1));
    } catch {
      name = path.slice(1);
    }
    methods.push(name);
    return this.serveUri(name, query, res);
  }

  private async serveJsonRpc(req: http.IncomingMessage, res: http.ServerResponse, methods: string[]): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(req, MAX_BODY_BYTES);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) return; // the client went away mid-body
      // Read and discard the rest of a moderately oversized body before answering: a client still writing it would
      // otherwise meet a closed socket (EPIPE) instead of the answer. Beyond DRAIN_LIMIT_BYTES the connection is cut unanswered.
      if (!(await drained(req, DRAIN_LIMIT_BYTES))) return;
      res.setHeader('Connection', 'close');
      sendBody(res, 400, errorJson(null, invalidRequest(`the request body is larger than ${MAX_BODY_BYTES} bytes (max_body_bytes)`)));
      return;
    }
    if (body.length === 0) {
      sendBody(res, 200, this.endpointList(), 'text/html');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      sendBody(res, 500, errorJson(null, new RpcError(RpcCode.PARSE_ERROR, `the request body is not valid JSON: ${(err as Error).message}`)));
      return;
    }
    const ctl = this.track(res);
    try {
      if (Array.isArray(parsed)) {
        const batchError = this.checkBatch(parsed);
        if (batchError) {
          sendBody(res, 400, errorJson(null, batchError));
          return;
        }
        const out: string[] = [];
        for (const item of parsed) {
          if (ctl.signal.aborted) return;
          const r = await this.handleOne(item, null, ctl.signal, methods);
          if (r !== null) out.push(r);
        }
        if (out.length === 0) sendEmpty(res);
        else sendBody(res, 200, `[${out.join(',')}]`);
      } else {
        const r = await this.handleOne(parsed, null, ctl.signal, methods);
        if (r === null) sendEmpty(res);
        else sendBody(res, 200, r);
      }
    } finally {
      this.inflight.delete(ctl);
    }
  }

  /** An abort controller for one HTTP request: aborted if the client goes away first; close() aborts the rest. */
  private track(res: http.ServerResponse): AbortController {
    const ctl = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) ctl.abort(RpcError.internal('the client closed the connection'));
    });
    this.inflight.add(ctl);
    return ctl;
  }

  private checkBatch(batch: unknown[]): RpcError | null {
    if (batch.length === 0) return invalidRequest('the batch is empty: send at least one request');
    if (batch.length > MAX_BATCH_REQUESTS) {
      return invalidRequest(`the batch holds ${batch.length} requests; at most ${MAX_BATCH_REQUESTS} are allowed (max_request_batch_size)`);
    }
    return null;
  }

  private async serveUri(name: string, query: string, res: http.ServerResponse): Promise<void> {
    const entry = this.table.get(name);
    const refusal = this.refusal(name, entry, 'http');
    if (refusal !== null) {
      sendBody(res, 404, errorJson(URI_ID, refusal));
      return;
    }
    let args: Args;
    try {
      args = parseUriParams(name, entry!.method.params, query);
    } catch (err) {
      sendBody(res, 500, errorJson(URI_ID, toRpcError(err, this.log, name)));
      return;
    }
    const ctl = this.track(res);
    try {
      const result = await this.call(name, entry!.method, args, null, ctl.signal);
      const body = this.success(URI_ID, result, name);
      sendBody(res, body.ok ? 200 : 500, body.text);
    } catch (err) {
      sendBody(res, 500, errorJson(URI_ID, toRpcError(err, this.log, name)));
    } finally {
      this.inflight.delete(ctl);
    }
  }

  /** CometBFT's endpoint page: the methods without and with arguments, as relative links. */
  private endpointList(): string {
    const visible = [...this.table].filter(([, e]) => !e.disabled).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const link = (href: string, text: string): string => `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a><br>`;
    const noArgs = visible.filter(([, e]) => e.method.params.length === 0).map(([n]) => link(`/${n}`, n));
    const withArgs = visible
      .filter(([, e]) => e.method.params.length > 0)
      .map(([n, e]) => {
        const href = `/${n}?${e.method.params.map((p) => `${p.name}=_`).join('&')}`;
        return link(href, href);
      });
    return `<html><body><br>Available endpoints:<br>${noArgs.join('')}<br>Endpoints that require arguments:<br>${withArgs.join('')}</body></html>`;
  }

  // ---- dispatch (HTTP and WebSocket) ----

  /** Why a method cannot be called over this transport, or null if it can. */
  private refusal(name: string, entry: Entry | undefined, transport: 'http' | 'ws'): RpcError | null {
    if (entry === undefined) return methodNotFound(`method ${shown(name)} does not exist; GET / lists the available methods`);
    if (entry.disabled) {
      return methodNotFound(`method ${shown(name)} changes the node and is disabled; it is available only when the config sets rpc.unsafe = true`);
    }
    if (entry.method.websocketOnly && transport === 'http') {
      return methodNotFound(`method ${shown(name)} is available only over WebSocket: connect to /websocket`);
    }
    return null;
  }

  /** One JSON-RPC request object to its serialised response, or null for a notification (not run, as in CometBFT). */
  private async handleOne(req: unknown, session: WsSession | null, signal: AbortSignal, methods: string[]): Promise<string | null> {
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      return errorJson(null, invalidRequest(`a request must be a JSON object {"jsonrpc":"2.0","id":...,"method":...,"params":...}; got ${shown(req)}`));
    }
    const r = req as Record<string, unknown>;
    const hasId = Object.hasOwn(r, 'id');
    const rawId = r.id;
    if (hasId && rawId !== null && typeof rawId !== 'string' && typeof rawId !== 'number') {
      return errorJson(null, invalidRequest(`"id" must be a string, a number or null; got ${shown(rawId)}`));
    }
    const id = (hasId ? rawId : null) as JsonRpcId;
    if (r.jsonrpc !== '2.0') return errorJson(id, invalidRequest(`"jsonrpc" must be "2.0"; got ${shown(r.jsonrpc)}`));
    if (typeof r.method !== 'string' || r.method === '') {
      return errorJson(id, invalidRequest(`"method" must be a non-empty string; got ${shown(r.method)}`));
    }
    const name = r.method;
    methods.push(name);
    if (!hasId) return null;
    const entry = this.table.get(name);
    const refusal = this.refusal(name, entry, session === null ? 'http' : 'ws');
    if (refusal !== null) return errorJson(id, refusal);
    try {
      const args = parseJsonParams(name, entry!.method.params, r.params);
      if (session !== null) session.currentId = id;
      const result = await this.call(name, entry!.method, args, session, signal);
      return this.success(id, result, name).text;
    } catch (err) {
      return errorJson(id, toRpcError(err, this.log, name));
    }
  }

  private success(id: JsonRpcId, result: unknown, name: string): { ok: boolean; text: string } {
    try {
      return { ok: true, text: JSON.stringify({ jsonrpc: '2.0', id, result: result === undefined ? null : result }) };
    } catch (err) {
      this.log.error({ err, method: name }, 'RPC result is not serialisable to JSON');
      return { ok: false, text: errorJson(id, RpcError.internal('internal error')) };
    }
  }

  /** Runs a handler under the request timeout; the handler's signal aborts on timeout, disconnect or shutdown. */
  private async call(name: string, method: Method, args: Args, session: WsSession | null, parent: AbortSignal): Promise<unknown> {
    // broadcast_tx_commit waits for a block under its own timeout, so it must not be cut short first (CometBFT raises
    // its HTTP write timeout the same way).
    const ms = name === 'broadcast_tx_commit' ? Math.max(this.requestTimeoutMs, this.config.timeout_broadcast_tx_commit_ms + 1000) : this.requestTimeoutMs;
    const ctl = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = RpcError.internal(`${name} did not finish within ${ms} ms; the call was abandoned`);
        ctl.abort(err);
        reject(err);
      }, ms);
      onAbort = () => {
        const reason = parent.reason instanceof RpcError ? parent.reason : RpcError.internal('the call was cancelled');
        ctl.abort(reason);
        reject(reason);
      };
      if (parent.aborted) onAbort();
      else parent.addEventListener('abort', onAbort, { once: true });
    });
    const work = Promise.resolve().then(() => method.handler(args, { session, signal: ctl.signal }));
    work.catch(() => {}); // when the timeout wins, a late failure must not become an unhandled rejection
    try {
      return await Promise.race([work, stop]);
    } finally {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort!);
    }
  }

  // ---- WebSocket ----

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node drops its error listener from an upgraded socket; a reset while we refuse must not become an uncaught error.
    socket.on('error', () => {});
    const refuse = (status: string, body: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    if (this.overLimit.has(req.socket) || this.closing) {
      refuse('503 Service Unavailable', this.tooManyConnections());
      return;
    }
    if (splitUrl(req.url ?? '/').path !== '/websocket') {
      refuse('404 Not Found', errorJson(null, methodNotFound('WebSocket connections are served at /websocket only')));
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onWebSocket(ws, req));
  }

  private onWebSocket(ws: WebSocket, req: http.IncomingMessage): void {
    const session = new WsSession(this, ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`);
    this.sessions.add(session);
    this.log.debug({ client: session.name }, 'WebSocket connected');
    ws.on('message', (data) => session.received(data));
    ws.on('pong', () => {
      session.alive = true;
    });
    ws.on('error', (err) => this.log.debug({ err, client: session.name }, 'WebSocket error'));
    ws.on('close', () => {
      this.sessions.delete(session);
      session.gone();
    });
  }

  /** @internal A session's request loop failed (a bug): log it and close the session. */
  sessionFailed(session: WsSession, err: unknown): void {
    this.log.error({ err, client: session.name }, 'WebSocket request handling failed');
    session.end(1011, 'internal error');
  }

  /** @internal Called by a session once it ends: its subscriptions go with it. */
  sessionEnded(session: WsSession, reason: string): void {
    this.events.dropSubscriber(session);
    this.log.debug({ client: session.name, reason }, 'WebSocket session ended');
  }

  /** @internal One WebSocket message: a request or a batch; the answer goes through the session's bounded buffer. */
  async handleWsMessage(session: WsSession, data: RawData): Promise<void> {
    const started = performance.now();
    const methods: string[] = [];
    try {
      session.deliverMaybe(await this.answerWs(session, data, methods));
    } finally {
      this.log.debug({ client: session.name, methods, ms: Math.round(performance.now() - started) }, 'RPC WebSocket request');
    }
  }

  private async answerWs(session: WsSession, data: RawData, methods: string[]): Promise<string | null> {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      return errorJson(null, new RpcError(RpcCode.PARSE_ERROR, `the message is not valid JSON: ${(err as Error).message}`));
    }
    if (!Array.isArray(parsed)) return this.handleOne(parsed, session, session.abort.signal, methods);
    const batchError = this.checkBatch(parsed);
    if (batchError) return errorJson(null, batchError);
    const out: string[] = [];
    for (const item of parsed) {
      if (session.closed) return null;
      const r = await this.handleOne(item, session, session.abort.signal, methods);
      if (r !== null) out.push(r);
    }
    return out.length > 0 ? `[${out.join(',')}]` : null;
  }

  private pingSweep(): void {
    for (const s of this.sessions) {
      if (s.closed) continue;
      // A session busy with a long call has its socket paused, so its pongs wait unread: it counts as alive.
      if (!s.alive && !s.busy) {
        this.log.info({ client: s.name }, 'closing a WebSocket that stopped answering pings');
        s.end(1001, 'no pong received');
        s.ws.terminate();
        continue;
      }
      s.alive = false;
      try {
        s.ws.ping();
      } catch {
        // the socket is closing; its close event ends the session
      }
    }
  }

  private subscriptionMethods(): MethodTable {
    const sessionOf = (session: unknown): WsSession => {
      if (!(session instanceof WsSession)) throw RpcError.internal('this method is available only over WebSocket: connect to /websocket');
      return session;
    };
    return {
      subscribe: {
        params: [{ name: 'query', type: 'string' }],
        websocketOnly: true,
        handler: (args, ctx) => {
          const s = sessionOf(ctx.session);
          this.events.addSubscription(s, args.query as string, s.currentId);
          return {};
        },
      },
      unsubscribe: {
        params: [{ name: 'query', type: 'string' }],
        websocketOnly: true,
        handler: (args, ctx) => {
          this.events.removeSubscription(sessionOf(ctx.session), args.query as string);
          return {};
        },
      },
      unsubscribe_all: {
        params: [],
        websocketOnly: true,
        handler: (_args, ctx) => {
          this.events.removeAllSubscriptions(sessionOf(ctx.session));
          return {};
        },
      },
    };
  }
}
