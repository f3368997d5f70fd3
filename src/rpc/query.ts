// CometBFT's event query language (libs/pubsub/query in v0.38), used by subscribe, tx_search and block_search:
//
//   query     = condition { "AND" condition }
//   condition = key ( "=" | "<" | "<=" | ">" | ">=" ) value | key "CONTAINS" string | key "EXISTS"
//   key       = a letter or "_", then letters, digits, ".", "_", "-"   (composite "type.attribute": tm.event, tx.height)
//   value     = 'single-quoted string' (no escapes) | number (123, 4.5) | TIME 2026-01-02T03:04:05Z | DATE 2026-01-02
//
// Keywords are upper case. `<`, `<=`, `>`, `>=` take a number, TIME or DATE; CONTAINS takes a string; `=` takes any.
// Matching against an event's flat map (composite key -> values): every condition must hold, and a condition holds
// when ANY value of its key satisfies it. As in CometBFT, a numeric comparison reads the decimal number a value starts
// with ("100uacc" compares as 100) and a value that does not start with one never satisfies it; TIME and DATE
// conditions parse the value as RFC 3339 or YYYY-MM-DD and never match a value that is not one. Numbers compare
// exactly (bigint mantissa and decimal scale), never through floating point. A key with no values that is the type
// part of other keys ("transfer" given "transfer.amount") matches as the empty string, as CometBFT does for EXISTS.
// Differences from CometBFT, all stricter or more exact: a number needs digits after its decimal point, TIME/DATE
// years must lie in 1970-9999 (the node's time range), and a negative attribute value ("-5") compares as negative.
import { RpcError } from './types.ts';
import { parseTime } from '../codec/time.ts';

/** Longest accepted query, in UTF-8 bytes (CometBFT's limit for subscribe; enough for a dozen conditions). */
export const MAX_QUERY_BYTES = 512;

export type QueryOp = '=' | '<' | '<=' | '>' | '>=' | 'CONTAINS' | 'EXISTS';

/** A literal in a query. A number is `mantissa / 10^scale` exactly (text "4.50" -> 450n, scale 2). Times are ns since the epoch. */
export type QueryValue =
  | { type: 'string'; value: string }
  | { type: 'number'; text: string; mantissa: bigint; scale: number }
  | { type: 'time'; text: string; ns: bigint }
  | { type: 'date'; text: string; ns: bigint };

export interface Condition {
  /** Composite key "type.attribute", e.g. "tx.height". */
  key: string;
  op: QueryOp;
  /** Absent only for EXISTS. */
  value?: QueryValue;
}

export interface Query {
  conditions: Condition[];
}

// ---- scanner ----

type TokenKind = 'key' | 'string' | 'number' | 'time' | 'date' | 'and' | 'op' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
  /** Offset of the token's first character in the query (in UTF-16 code units, as the text is shown). */
  pos: number;
}

const KEY_START = /[\p{L}_]/u;
const KEY_REST = /[\p{L}\p{N}._-]/u;
const DIGIT = /[0-9]/;
const SPACE = /\s/u;

function fail(text: string, pos: number, what: string): never {
  throw RpcError.invalidParams(`invalid query ${JSON.stringify(text)}: ${what} at offset ${pos}`);
}

function describe(tok: Token): string {
  switch (tok.kind) {
    case 'end':
      return 'the end of the query';
    case 'string':
      return `the string '${tok.text}'`;
    case 'number':
      return `the number ${tok.text}`;
    case 'time':
      return `TIME ${tok.text}`;
    case 'date':
      return `DATE ${tok.text}`;
    case 'and':
      return 'AND';
    case 'op':
      return tok.text;
    case 'key':
      return `"${tok.text}"`;
  }
}

function scan(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (SPACE.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (DIGIT.test(ch)) {
      while (i < n && DIGIT.test(text[i])) i++;
      if (text[i] === '.') {
        i++;
        const fracStart = i;
        while (i < n && DIGIT.test(text[i])) i++;
        if (i === fracStart) fail(text, i, 'expected digits after the decimal point');
      }
      tokens.push({ kind: 'number', text: text.slice(start, i), pos: start });
      continue;
    }
    if (ch === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) fail(text, start, 'unterminated string (strings are single-quoted and cannot contain a quote)');
      tokens.push({ kind: 'string', text: text.slice(i + 1, close), pos: start });
      i = close + 1;
      continue;
    }
    if (ch === '=' || ch === '<' || ch === '>') {
      i++;
      if (ch !== '=' && text[i] === '=') i++;
      tokens.push({ kind: 'op', text: text.slice(start, i), pos: start });
      continue;
    }
    // Code points, not code units, so keys may hold any letter.
    const cp = String.fromCodePoint(text.codePointAt(i)!);
    if (KEY_START.test(cp)) {
      i += cp.length;
      while (i < n) {
        const c = String.fromCodePoint(text.codePointAt(i)!);
        if (!KEY_REST.test(c)) break;
        i += c.length;
      }
      const word = text.slice(start, i);
      if ((word === 'TIME' || word === 'DATE') && text[i] === ' ') {
        // The literal runs over the characters a timestamp or date can hold, as CometBFT's scanner does.
        let j = i + 1;
        const allowed = word === 'TIME' ? /[0-9TZ:+-]/ : /[0-9-]/;
        while (j < n && allowed.test(text[j])) j++;
        const lit = text.slice(i + 1, j);
        tokens.push({ kind: word === 'TIME' ? 'time' : 'date', text: lit, pos: start });
        i = j;
      } else if (word === 'AND') {
        tokens.push({ kind: 'and', text: word, pos: start });
      } else if (word === 'CONTAINS' || word === 'EXISTS') {
        tokens.push({ kind: 'op', text: word, pos: start });
      } else {
        tokens.push({ kind: 'key', text: word, pos: start });
      }
      continue;
    }
    fail(text, start, `unexpected character ${JSON.stringify(cp)}`);
  }
  tokens.push({ kind: 'end', text: '', pos: n });
  return tokens;
}

// ---- literals ----

const DECIMAL = /^([0-9]+)(?:\.([0-9]+))?$/;

function numberValue(text: string): QueryValue {
  const m = DECIMAL.exec(text)!;
  const frac = m[2] ?? '';
  return { type: 'number', text, mantissa: BigInt(m[1] + frac), scale: frac.length };
}

const DATE_TEXT = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** RFC 3339 text to ns, or null. */
function timeNs(s: string): bigint | null {
  try {
    return parseTime(s);
  } catch {
    return null;
  }
}

/** YYYY-MM-DD to ns at midnight UTC, or null. */
function dateNs(s: string): bigint | null {
  return DATE_TEXT.test(s) ? timeNs(`${s}T00:00:00Z`) : null;
}

// ---- parser ----

/**
 * Parses a query. Throws RpcError -32602 with a sentence naming the offset and what was expected, for an empty or
 * malformed query, one longer than MAX_QUERY_BYTES, or an operator given a value of the wrong kind.
 */
export function parseQuery(text: string): Query {
  if (typeof text !== 'string') throw RpcError.invalidParams('the query must be a string');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_QUERY_BYTES) {
    throw RpcError.invalidParams(`the query is ${bytes} bytes long; at most ${MAX_QUERY_BYTES} bytes are accepted`);
  }
  const tokens = scan(text);
  if (tokens[0].kind === 'end') {
    throw RpcError.invalidParams(`the query is empty: give at least one condition, e.g. tm.event='NewBlock'`);
  }
  let k = 0;
  const conditions: Condition[] = [];
  for (;;) {
    const keyTok = tokens[k++];
    if (keyTok.kind !== 'key') fail(text, keyTok.pos, `expected a key such as tm.event, found ${describe(keyTok)}`);
    const opTok = tokens[k++];
    if (opTok.kind !== 'op') {
      fail(text, opTok.pos, `expected an operator (=, <, <=, >, >=, CONTAINS or EXISTS) after ${keyTok.text}, found ${describe(opTok)}`);
    }
    const op = opTok.text as QueryOp;
    if (op === 'EXISTS') {
      conditions.push({ key: keyTok.text, op });
    } else {
      const valTok = tokens[k++];
      conditions.push({ key: keyTok.text, op, value: literal(text, op, valTok) });
    }
    const next = tokens[k++];
    if (next.kind === 'end') break;
    if (next.kind !== 'and') fail(text, next.pos, `expected AND or the end of the query, found ${describe(next)}`);
  }
  return { conditions };
}

function literal(text: string, op: QueryOp, tok: Token): QueryValue {
  const wants =
    op === 'CONTAINS' ? 'a quoted string' : op === '=' ? 'a value (a quoted string, a number, TIME or DATE)' : 'a number, TIME or DATE';
  const okKind =
    op === 'CONTAINS' ? tok.kind === 'string' : op === '=' ? ['string', 'number', 'time', 'date'].includes(tok.kind) : ['number', 'time', 'date'].includes(tok.kind);
  if (!okKind) fail(text, tok.pos, `${op} needs ${wants}, found ${describe(tok)}`);
  switch (tok.kind) {
    case 'string':
      return { type: 'string', value: tok.text };
    case 'number':
      return numberValue(tok.text);
    case 'time': {
      const ns = timeNs(tok.text);
      if (ns === null) fail(text, tok.pos, `TIME needs an RFC 3339 time in years 1970-9999 such as 2026-01-02T03:04:05Z, found ${JSON.stringify(tok.text)}`);
      return { type: 'time', text: tok.text, ns };
    }
    case 'date': {
      const ns = dateNs(tok.text);
      if (ns === null) fail(text, tok.pos, `DATE needs a date YYYY-MM-DD in years 1970-9999, found ${JSON.stringify(tok.text)}`);
      return { type: 'date', text: tok.text, ns };
    }
    default:
      throw new Error('unreachable');
  }
}

/** The canonical text of a query (single spaces, as CometBFT prints it): equal queries have equal texts. */
export function formatQuery(q: Query): string {
  return q.conditions
    .map((c) => {
      if (c.value === undefined) return `${c.key} ${c.op}`;
      const v = c.value;
      const shown = v.type === 'string' ? `'${v.value}'` : v.type === 'time' ? `TIME ${v.text}` : v.type === 'date' ? `DATE ${v.text}` : v.text;
      return `${c.key} ${c.op} ${shown}`;
    })
    .join(' AND ');
}

// ---- matching ----

/** The decimal number a value starts with (CometBFT reads "100uacc" as 100), as mantissa/scale; null if none. */
const LEADING_NUMBER = /^(-?)([0-9]+)(?:\.([0-9]+))?/;

function leadingNumber(s: string): { mantissa: bigint; scale: number } | null {
  const m = LEADING_NUMBER.exec(s);
  if (m === null) return null;
  const frac = m[3] ?? '';
  const mantissa = BigInt(m[2] + frac);
  return { mantissa: m[1] === '-' ? -mantissa : mantissa, scale: frac.length };
}

function compareDecimal(a: { mantissa: bigint; scale: number }, b: { mantissa: bigint; scale: number }): number {
  const scale = Math.max(a.scale, b.scale);
  const x = a.mantissa * 10n ** BigInt(scale - a.scale);
  const y = b.mantissa * 10n ** BigInt(scale - b.scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

function holdsFor(op: QueryOp, cmp: number): boolean {
  switch (op) {
    case '=':
      return cmp === 0;
    case '<':
      return cmp < 0;
    case '<=':
      return cmp <= 0;
    case '>':
      return cmp > 0;
    case '>=':
      return cmp >= 0;
    default:
      return false;
  }
}

/** Whether one attribute value satisfies a condition (for an indexer scanning the values stored under `cond.key`). */
export function conditionHolds(cond: Condition, value: string): boolean {
  const v = cond.value;
  if (cond.op === 'EXISTS' || v === undefined) return true;
  switch (v.type) {
    case 'string':
      return cond.op === 'CONTAINS' ? value.includes(v.value) : cond.op === '=' && value === v.value;
    case 'number': {
      const n = leadingNumber(value);
      return n !== null && holdsFor(cond.op, compareDecimal(n, v));
    }
    case 'time': {
      const ns = timeNs(value);
      return ns !== null && holdsFor(cond.op, ns < v.ns ? -1 : ns > v.ns ? 1 : 0);
    }
    case 'date': {
      const ns = dateNs(value);
      return ns !== null && holdsFor(cond.op, ns < v.ns ? -1 : ns > v.ns ? 1 : 0);
    }
  }
}

function valuesOf(events: Record<string, string[]>, key: string): string[] | undefined {
  if (Object.hasOwn(events, key)) {
    const vs = events[key];
    if (Array.isArray(vs) && vs.length > 0) return vs;
  }
  // A key naming only an event type ("transfer") matches as "" when that type has attributes, as in CometBFT.
  for (const k of Object.keys(events)) {
    if (k.length > key.length && k.startsWith(key) && k[key.length] === '.' && k.indexOf('.', key.length + 1) < 0) return [''];
  }
  return undefined;
}

/** True when every condition holds for some value of its key; an empty event map matches nothing. */
export function matches(query: Query, events: Record<string, string[]>): boolean {
  let any = false;
  for (const _ in events) {
    any = true;
    break;
  }
  if (!any) return false;
  for (const cond of query.conditions) {
    const vs = valuesOf(events, cond.key);
    if (vs === undefined || !vs.some((value) => conditionHolds(cond, value))) return false;
  }
  return true;
}
