// The event query language (src/rpc/query.ts): parsing (canonical form, AST, malformed input with the offset named)
// and matching against flat event maps, table-driven.
import t from 'tap';
import { MAX_QUERY_BYTES, conditionHolds, formatQuery, matches, parseQuery, type Query } from '../src/rpc/query.ts';
import { RpcCode, RpcError } from '../src/rpc/types.ts';
import { parseTime } from '../src/codec/time.ts';

t.test('parses valid queries into the AST and a canonical text', async (t) => {
  const rows: Array<[string, string]> = [
    ["tm.event='NewBlock'", "tm.event = 'NewBlock'"],
    ["  tm.event  =  'Tx'  AND tx.height>=5 ", "tm.event = 'Tx' AND tx.height >= 5"],
    ['tx.height<10 AND tx.height<=9 AND tx.height>1 AND tx.height=3', 'tx.height < 10 AND tx.height <= 9 AND tx.height > 1 AND tx.height = 3'],
    ["transfer.recipient CONTAINS 'AB'", "transfer.recipient CONTAINS 'AB'"],
    ['message.sender EXISTS', 'message.sender EXISTS'],
    ['transfer.amount > 4.50', 'transfer.amount > 4.50'],
    ['block.time >= TIME 2026-01-02T03:04:05Z', 'block.time >= TIME 2026-01-02T03:04:05Z'],
    ['block.time < TIME 2026-01-02T03:04:05+02:00', 'block.time < TIME 2026-01-02T03:04:05+02:00'],
    ['block.date = DATE 2026-01-02', 'block.date = DATE 2026-01-02'],
    ["a_b-c.d_1 = ''", "a_b-c.d_1 = ''"],
    ["_x.y='it'", "_x.y = 'it'"],
    ["ключ.атрибут = 'значение'", "ключ.атрибут = 'значение'"],
    ["tm.event='Tx'\tAND\ntx.hash='AB'", "tm.event = 'Tx' AND tx.hash = 'AB'"],
  ];
  for (const [text, canonical] of rows) {
    t.equal(formatQuery(parseQuery(text)), canonical, text);
  }
  const q = parseQuery("tm.event='Tx' AND tx.height >= 12.5 AND block.time < TIME 2026-01-02T00:00:00Z AND d = DATE 2026-01-02 AND x EXISTS");
  t.same(q.conditions[0], { key: 'tm.event', op: '=', value: { type: 'string', value: 'Tx' } });
  t.same(q.conditions[1], { key: 'tx.height', op: '>=', value: { type: 'number', text: '12.5', mantissa: 125n, scale: 1 } });
  t.same(q.conditions[2], { key: 'block.time', op: '<', value: { type: 'time', text: '2026-01-02T00:00:00Z', ns: parseTime('2026-01-02T00:00:00Z') } });
  t.same(q.conditions[3], { key: 'd', op: '=', value: { type: 'date', text: '2026-01-02', ns: parseTime('2026-01-02T00:00:00Z') } });
  t.same(q.conditions[4], { key: 'x', op: 'EXISTS' });
});

t.test('rejects malformed queries with -32602 and a sentence naming the place', async (t) => {
  const rows: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['tm.event', /expected an operator .* after tm\.event, found the end of the query at offset 8/],
    ["tm.event = ", /= needs a value .*found the end of the query/],
    ["tm.event == 'x'", /= needs a value .*found =/],
    ["tm.event != 'x'", /unexpected character "!" at offset 9/],
    ["tm.event = 'unterminated", /unterminated string .* at offset 11/],
    ["tm.event = 'a' 'b'", /expected AND or the end of the query, found the string 'b' at offset 15/],
    ["tm.event = 'a' AND", /expected a key .*found the end of the query/],
    ["tm.event = 'a' and tx.height = 1", /expected AND or the end of the query, found "and"/],
    ["tm.event = 'a' OR tx.height = 1", /expected AND .*found "OR"/],
    ["AND tm.event = 'a'", /expected a key such as tm\.event, found AND at offset 0/],
    ["'x' = 'y'", /expected a key/],
    ['5 = 5', /expected a key .*found the number 5/],
    ['.x = 5', /unexpected character "\."/],
    ['-x = 5', /unexpected character "-"/],
    ['tx.height > -5', /unexpected character "-"/],
    ["tx.height > 'five'", /> needs a number, TIME or DATE, found the string 'five'/],
    ['tx.height < abc', /< needs a number, TIME or DATE, found "abc"/],
    ['tx.hash CONTAINS 5', /CONTAINS needs a quoted string, found the number 5/],
    ["tx.hash EXISTS 'x'", /expected AND or the end of the query, found the string 'x'/],
    ['tx.height = 5.', /expected digits after the decimal point at offset 14/],
    ['tx.height = 5.x', /expected digits after the decimal point/],
    ['t = TIME 2026-13-01T00:00:00Z', /TIME needs an RFC 3339 time/],
    ['t = TIME 2026-01-01', /TIME needs an RFC 3339 time/],
    ['t = TIME 1969-12-31T23:59:59Z', /years 1970-9999/],
    ['t = DATE 2026-02-30', /DATE needs a date YYYY-MM-DD/],
    ['t = DATE 2026-1-1', /DATE needs a date/],
    ['t = TIME', /expected AND or the end|needs a value/],
    ['t CONTAINS', /CONTAINS needs a quoted string, found the end/],
    ['t = "double"', /unexpected character "\\""/],
    ['t = (5)', /unexpected character "\("/],
  ];
  for (const [text, re] of rows) {
    try {
      parseQuery(text);
      t.fail(`accepted ${JSON.stringify(text)}`);
    } catch (err) {
      t.ok(err instanceof RpcError, `${JSON.stringify(text)} throws RpcError`);
      t.equal((err as RpcError).code, RpcCode.INVALID_PARAMS);
      t.match((err as RpcError).data, re, JSON.stringify(text));
    }
  }
});

/** The sentence of the RpcError that fn throws ('' if it does not throw one). */
function dataOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof RpcError && err.code === RpcCode.INVALID_PARAMS) return err.data;
  }
  return '';
}

t.test('limits the query length to MAX_QUERY_BYTES (UTF-8 bytes)', async (t) => {
  const pad = (n: number): string => `k = '${'x'.repeat(n - 6)}'`;
  t.equal(Buffer.byteLength(pad(MAX_QUERY_BYTES)), MAX_QUERY_BYTES);
  t.ok(parseQuery(pad(MAX_QUERY_BYTES)));
  t.match(dataOf(() => parseQuery(pad(MAX_QUERY_BYTES + 1))), /513 bytes long; at most 512/);
  // 254 two-byte characters: 260 characters but 514 bytes
  t.match(dataOf(() => parseQuery(`k = '${'é'.repeat(254)}'`)), /514 bytes long/);
  t.match(dataOf(() => parseQuery(5 as unknown as string)), /must be a string/);
});

t.test('matches event maps: every condition, any value of its key', async (t) => {
  const tx = {
    'tm.event': ['Tx'],
    'tx.hash': ['ABCDEF'],
    'tx.height': ['42'],
    'transfer.recipient': ['AAA111', 'BBB222'],
    'transfer.amount': ['100uacc', '2500'],
    'message.sender': ['CCC333'],
    'block.time': ['2026-01-02T03:04:05.123456789Z'],
    'block.date': ['2026-01-02'],
    'weird.value': ['abc', '-7', '0.5', '1e3'],
  };
  const rows: Array<[string, boolean]> = [
    ["tm.event = 'Tx'", true],
    ["tm.event = 'NewBlock'", false],
    ["tm.event = 'tx'", false], // strings compare exactly
    ["tm.event='Tx' AND tx.hash='ABCDEF'", true],
    ["tm.event='Tx' AND tx.hash='ABCDEG'", false],
    ["transfer.recipient = 'BBB222'", true], // any value
    ["transfer.recipient = 'BBB222' AND transfer.recipient = 'AAA111'", true],
    ["transfer.recipient CONTAINS 'B2'", true],
    ["transfer.recipient CONTAINS 'Z'", false],
    ["transfer.recipient CONTAINS ''", true],
    ['tx.height = 42', true],
    ['tx.height = 42.0', true], // numerically
    ['tx.height = 042', true],
    ["tx.height = '42'", true], // a string compares as a string
    ["tx.height = '42.0'", false],
    ['tx.height > 41', true],
    ['tx.height > 42', false],
    ['tx.height >= 42', true],
    ['tx.height < 42.000001', true],
    ['tx.height <= 41.999999999999999999999', false], // exact, no float rounding
    ['tx.height > 41.999999999999999999999', true],
    ['transfer.amount > 2000', true], // any value: 2500
    ['transfer.amount < 101', true], // "100uacc" reads as 100, as CometBFT does
    ['transfer.amount = 100', true],
    ['transfer.amount > 3000', false],
    ['weird.value < 0', true], // -7
    ['weird.value = 0.5', true],
    ['weird.value = 1', true], // "1e3" reads as 1 (the leading number)
    ['weird.value = 1000', false],
    ['message.sender > 0', false], // non-numeric values never satisfy a numeric op
    ['message.sender EXISTS', true],
    ['message.receiver EXISTS', false],
    ['transfer EXISTS', true], // a type with attributes matches as ''
    ["transfer = ''", true],
    ['tx EXISTS', true],
    ['tm EXISTS', true],
    ['trans EXISTS', false],
    ['block.time > TIME 2026-01-02T03:04:05Z', true], // .123456789 past the second
    ['block.time = TIME 2026-01-02T03:04:05Z', false],
    ['block.time < TIME 2026-01-02T04:00:00+01:00', false], // same instant as 03:00Z: earlier than 03:04:05Z
    ['block.time > TIME 2026-01-02T04:00:00+01:00', true],
    ['block.date = DATE 2026-01-02', true],
    ['block.date > DATE 2026-01-01', true],
    ['block.date >= DATE 2026-01-03', false],
    ['block.time > DATE 2026-01-01', false], // a timestamp value is not a date
    ['block.date > TIME 2026-01-01T00:00:00Z', false], // a date value is not a timestamp
    ['tx.height > TIME 2026-01-01T00:00:00Z', false],
    ["tm.event = 'Tx' AND tx.height > 100", false],
    ["constructor = 'x'", false], // no prototype keys
    ['__proto__ EXISTS', false],
  ];
  for (const [text, want] of rows) t.equal(matches(parseQuery(text), tx), want, text);
});

t.test('an empty event map or empty value lists match nothing', async (t) => {
  t.equal(matches(parseQuery('a EXISTS'), {}), false);
  t.equal(matches(parseQuery('a.b EXISTS'), { 'a.b': [] }), false);
  t.equal(matches(parseQuery("a.b = ''"), { 'a.b': [''] }), true);
});

t.test('big integers compare exactly', async (t) => {
  const big = '123456789012345678901234567890';
  const ev = { 'x.n': [big] };
  t.equal(matches(parseQuery(`x.n = ${big}`), ev), true);
  t.equal(matches(parseQuery('x.n = 123456789012345678901234567891'), ev), false);
  t.equal(matches(parseQuery('x.n < 123456789012345678901234567891'), ev), true);
  t.equal(matches(parseQuery('x.n > 123456789012345678901234567889.999'), ev), true);
  // 2^53 + 1 is not representable as a double; bigint keeps it apart from 2^53
  t.equal(matches(parseQuery('x.n > 9007199254740992'), { 'x.n': ['9007199254740993'] }), true);
});

t.test('conditionHolds tests one value, for an indexer', async (t) => {
  const q: Query = parseQuery("tx.height >= 10 AND tx.hash = 'AB' AND m EXISTS");
  t.equal(conditionHolds(q.conditions[0], '10'), true);
  t.equal(conditionHolds(q.conditions[0], '9'), false);
  t.equal(conditionHolds(q.conditions[1], 'AB'), true);
  t.equal(conditionHolds(q.conditions[2], 'anything'), true);
});
