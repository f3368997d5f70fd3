import t from 'tap';
import { formatTime, parseTime, isLeapYear, daysInMonth, MAX_TIME_NS, MIN_TIME_NS, NS_PER_SECOND } from '../src/codec/time.ts';

const S = NS_PER_SECOND;

t.test('known vectors', async (t) => {
  // Seconds values checked against an independent implementation (Date.parse) when the table was written.
  const vectors: Array<[string, bigint]> = [
    ['1970-01-01T00:00:00.000000000Z', 0n],
    ['1970-01-01T00:00:00.000000001Z', 1n],
    ['1999-12-31T23:59:59.000000000Z', 946_684_799n * S],
    ['2000-02-29T00:00:00.000000000Z', 951_782_400n * S],
    ['2024-02-29T12:34:56.000000000Z', 1_709_210_096n * S],
    ['2026-11-25T00:00:00.000000000Z', 1_795_564_800n * S],
    ['2038-01-19T03:14:08.000000000Z', 2_147_483_648n * S],
    ['2100-03-01T00:00:00.000000000Z', 4_107_542_400n * S],
    ['9999-12-31T23:59:59.999999999Z', 253_402_300_799n * S + 999_999_999n],
  ];
  for (const [text, ns] of vectors) {
    t.equal(parseTime(text), ns, `parse ${text}`);
    t.equal(formatTime(ns), text, `format ${ns}`);
  }
  t.equal(MAX_TIME_NS, 253_402_300_799_999_999_999n);
  t.equal(MIN_TIME_NS, 0n);
});

t.test('fractions, offsets and equivalent spellings', async (t) => {
  const base = 1_795_564_800n * S; // 2026-11-25T00:00:00Z
  const rows: Array<[string, bigint]> = [
    ['2026-11-25T00:00:00Z', base],
    ['2026-11-25T00:00:00.5Z', base + 500_000_000n],
    ['2026-11-25T00:00:00.123Z', base + 123_000_000n],
    ['2026-11-25T00:00:00.123456789Z', base + 123_456_789n],
    ['2026-11-25T00:00:00.000000007Z', base + 7n],
    ['2026-11-25T01:30:00+01:30', base],
    ['2026-11-24T23:00:00-01:00', base],
    ['2026-11-25T00:00:00+00:00', base],
    ['2026-11-25T00:00:00-00:00', base],
    ['2026-11-25T23:59:00+23:59', base],
    ['2026-11-24T00:01:00-23:59', base],
    ['2026-11-25T05:45:00.25+05:45', base + 250_000_000n],
  ];
  for (const [text, ns] of rows) t.equal(parseTime(text), ns, text);
  t.equal(formatTime(parseTime('2026-11-25T01:30:00.5+01:30')), '2026-11-25T00:00:00.500000000Z', 'always formatted in UTC');
});

t.test('leap years and month lengths', async (t) => {
  t.equal(isLeapYear(2000n), true);
  t.equal(isLeapYear(2024n), true);
  t.equal(isLeapYear(2023n), false);
  t.equal(isLeapYear(2100n), false);
  t.equal(isLeapYear(2400n), true);
  t.equal(daysInMonth(2024n, 2n), 29n);
  t.equal(daysInMonth(2100n, 2n), 28n);
  t.equal(daysInMonth(2026n, 4n), 30n);
  t.equal(daysInMonth(2026n, 12n), 31n);
  // The day after Feb 28 is Feb 29 in a leap year and Mar 1 otherwise.
  const day = 86_400n * S;
  t.equal(formatTime(parseTime('2024-02-28T00:00:00Z') + day), '2024-02-29T00:00:00.000000000Z');
  t.equal(formatTime(parseTime('2023-02-28T00:00:00Z') + day), '2023-03-01T00:00:00.000000000Z');
  t.equal(formatTime(parseTime('2100-02-28T00:00:00Z') + day), '2100-03-01T00:00:00.000000000Z');
  t.equal(formatTime(parseTime('2400-02-28T00:00:00Z') + day), '2400-02-29T00:00:00.000000000Z');
  t.equal(formatTime(parseTime('2026-12-31T23:59:59.999999999Z') + 1n), '2027-01-01T00:00:00.000000000Z');
  t.equal(parseTime('2025-01-01T00:00:00Z') - parseTime('2024-01-01T00:00:00Z'), 366n * day, '2024 has 366 days');
  t.equal(parseTime('2026-01-01T00:00:00Z') - parseTime('2025-01-01T00:00:00Z'), 365n * day, '2025 has 365 days');
});

t.test('every day from 1970 to 2500 round-trips and agrees with Date.UTC (test-only cross-check)', async (t) => {
  const day = 86_400n * S;
  const end = parseTime('2500-01-01T00:00:00Z') / day;
  let failures = 0;
  for (let d = 0n; d < end; d++) {
    const ns = d * day + ((d * 7_919n) % day); // a varying time of day, down to the nanosecond
    const text = formatTime(ns);
    if (parseTime(text) !== ns) failures++;
    const ms = Date.UTC(Number(text.slice(0, 4)), Number(text.slice(5, 7)) - 1, Number(text.slice(8, 10)));
    if (BigInt(ms) * 1_000_000n !== d * day) failures++;
  }
  t.equal(failures, 0);
});

t.test('pseudo-random round trips over the whole range', async (t) => {
  let x = 0x2545f4914f6cdd1dn;
  let failures = 0;
  for (let i = 0; i < 20_000; i++) {
    x = (x * 6_364_136_223_846_793_005n + 1_442_695_040_888_963_407n) & 0xffff_ffff_ffff_ffffn;
    const ns = ((x << 16n) | (x >> 48n)) % (MAX_TIME_NS + 1n);
    const text = formatTime(ns);
    if (parseTime(text) !== ns || text.length !== 30) failures++;
  }
  t.equal(failures, 0);
});

t.test('rejects', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['', /not an RFC 3339 time/],
    ['2026-11-25', /not an RFC 3339 time/],
    ['2026-11-25 00:00:00Z', /not an RFC 3339 time/],
    ['2026-11-25t00:00:00Z', /not an RFC 3339 time/],
    ['2026-11-25T00:00:00z', /not an RFC 3339 time/],
    ['2026-11-25T00:00:00', /not an RFC 3339 time/],
    ['2026-11-25T00:00:00.Z', /not an RFC 3339 time/],
    ['2026-11-25T00:00:00.1234567890Z', /not an RFC 3339 time/],
    ['2026-11-25T00:00Z', /not an RFC 3339 time/],
    ['2026-11-25T00:00:00+0100', /not an RFC 3339 time/],
    ['2026-11-25T00:00:00+01', /not an RFC 3339 time/],
    [' 2026-11-25T00:00:00Z', /not an RFC 3339 time/],
    ['2026-11-25T00:00:00Z ', /not an RFC 3339 time/],
    ['+2026-11-25T00:00:00Z', /not an RFC 3339 time/],
    ['10000-01-01T00:00:00Z', /not an RFC 3339 time/],
    ['2026-1-25T00:00:00Z', /not an RFC 3339 time/],
    ['２026-11-25T00:00:00Z', /not an RFC 3339 time/],
    ['1969-12-31T23:59:59Z', /year must be between 1970 and 9999/],
    ['0000-01-01T00:00:00Z', /year must be between 1970 and 9999/],
    ['2026-00-10T00:00:00Z', /month must be 01-12/],
    ['2026-13-10T00:00:00Z', /month must be 01-12/],
    ['2026-11-00T00:00:00Z', /day must be 01-30/],
    ['2026-01-32T00:00:00Z', /day must be 01-31/],
    ['2026-04-31T00:00:00Z', /day must be 01-30/],
    ['2023-02-29T00:00:00Z', /day must be 01-28/],
    ['2100-02-29T00:00:00Z', /day must be 01-28/],
    ['2024-02-30T00:00:00Z', /day must be 01-29/],
    ['2026-11-25T24:00:00Z', /hour must be 00-23/],
    ['2026-11-25T00:60:00Z', /minute must be 00-59/],
    ['2026-12-31T23:59:60Z', /second must be 00-59/],
    ['2026-11-25T00:00:00+24:00', /offset/],
    ['2026-11-25T00:00:00+01:60', /offset/],
    ['1970-01-01T00:00:00+00:01', /between 1970-01-01T00:00:00Z and 9999/],
    ['9999-12-31T23:59:59-00:01', /between 1970-01-01T00:00:00Z and 9999/],
  ];
  for (const [text, re] of bad) {
    t.throws(() => parseTime(text), re, JSON.stringify(text));
  }
  t.throws(() => parseTime(undefined as unknown as string), /must be an RFC 3339 string/);
  t.throws(() => parseTime(12 as unknown as string), /must be an RFC 3339 string/);
  t.throws(() => formatTime(-1n), RangeError);
  t.throws(() => formatTime(MAX_TIME_NS + 1n), RangeError);
  t.throws(() => formatTime(1 as unknown as bigint), TypeError);
  // The error is a plain Error (callers wrap it into the AppError of their context).
  try {
    parseTime('nope');
    t.fail('should throw');
  } catch (e) {
    t.equal((e as Error).constructor, Error);
  }
});
