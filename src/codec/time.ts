// Times in the node are bigint nanoseconds since the Unix epoch (UTC). This module turns them into RFC 3339 text and
// back, the way CometBFT prints them (`2026-11-25T00:00:00.000000000Z`: UTC, always nine fractional digits).
//
// The calendar arithmetic is done here with integers (Howard Hinnant's days-from-civil / civil-from-days, proleptic
// Gregorian calendar), not with `Date`, so that it is exact to the nanosecond and needs no floating point.
// The supported range is 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z, both ways; leap seconds (second 60)
// are not representable, as in CometBFT (Go's time package) and POSIX time.

export const NS_PER_SECOND = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400n;
const NS_PER_DAY = SECONDS_PER_DAY * NS_PER_SECOND;

/** 1970-01-01T00:00:00.000000000Z */
export const MIN_TIME_NS = 0n;
/** 9999-12-31T23:59:59.999999999Z */
export const MAX_TIME_NS = daysFromCivil(10_000n, 1n, 1n) * NS_PER_DAY - 1n;

/** Days since 1970-01-01 of a proleptic Gregorian date (valid for year >= 0, which is all this module needs). */
function daysFromCivil(year: bigint, month: bigint, day: bigint): bigint {
  const y = month <= 2n ? year - 1n : year;
  const era = y / 400n; // y >= -1 only for year 0 January/February, never reached: years here are >= 1969
  const yoe = y - era * 400n; // [0, 399]
  const mp = month > 2n ? month - 3n : month + 9n; // March = 0 ... February = 11
  const doy = (153n * mp + 2n) / 5n + day - 1n; // [0, 365]
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy; // [0, 146096]
  return era * 146_097n + doe - 719_468n;
}

/** Inverse of daysFromCivil, for days >= 0 (on or after 1970-01-01). */
function civilFromDays(days: bigint): { year: bigint; month: bigint; day: bigint } {
  const z = days + 719_468n;
  const era = z / 146_097n;
  const doe = z - era * 146_097n; // [0, 146096]
  const yoe = (doe - doe / 1460n + doe / 36_524n - doe / 146_096n) / 365n; // [0, 399]
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n); // [0, 365]
  const mp = (5n * doy + 2n) / 153n; // [0, 11]
  const day = doy - (153n * mp + 2n) / 5n + 1n; // [1, 31]
  const month = mp < 10n ? mp + 3n : mp - 9n; // [1, 12]
  const year = yoe + era * 400n + (month <= 2n ? 1n : 0n);
  return { year, month, day };
}

export function isLeapYear(year: bigint): boolean {
  return (year % 4n === 0n && year % 100n !== 0n) || year % 400n === 0n;
}

export function daysInMonth(year: bigint, month: bigint): bigint {
  if (month === 2n) return isLeapYear(year) ? 29n : 28n;
  return month === 4n || month === 6n || month === 9n || month === 11n ? 30n : 31n;
}

function pad(n: bigint, width: number): string {
  return n.toString().padStart(width, '0');
}

/** RFC 3339 in UTC with exactly nine fractional digits, e.g. `2026-11-25T00:00:00.000000000Z`. */
export function formatTime(ns: bigint): string {
  if (typeof ns !== 'bigint') throw new TypeError('formatTime takes a bigint of nanoseconds since the Unix epoch');
  if (ns < MIN_TIME_NS || ns > MAX_TIME_NS) {
    throw new RangeError(`time ${ns} ns is outside 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z`);
  }
  const days = ns / NS_PER_DAY;
  const inDay = ns % NS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const secs = inDay / NS_PER_SECOND;
  const nanos = inDay % NS_PER_SECOND;
  const hh = secs / 3600n;
  const mm = (secs % 3600n) / 60n;
  const ss = secs % 60n;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}.${pad(nanos, 9)}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fraction]Z` or with a `+hh:mm` / `-hh:mm` offset; 0 to 9 fractional
 * digits; upper-case `T` and `Z`) into nanoseconds since the epoch. Throws a plain Error saying what is wrong on
 * anything else, including impossible dates (2026-02-29), second 60, and instants outside years 1970-9999 (UTC).
 */
export function parseTime(s: string): bigint {
  if (typeof s !== 'string') throw new Error(`a time must be an RFC 3339 string, got ${typeof s}`);
  const shown = JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}...` : s);
  const m = RFC3339.exec(s);
  if (m === null) {
    throw new Error(`${shown} is not an RFC 3339 time: expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm), e.g. 2026-11-25T00:00:00.000000000Z`);
  }
  const year = BigInt(m[1]);
  const month = BigInt(m[2]);
  const day = BigInt(m[3]);
  const hour = BigInt(m[4]);
  const minute = BigInt(m[5]);
  const second = BigInt(m[6]);
  const fraction = m[7] ?? '';
  if (year < 1970n || year > 9999n) throw new Error(`${shown}: year must be between 1970 and 9999`);
  if (month < 1n || month > 12n) throw new Error(`${shown}: month must be 01-12`);
  const dim = daysInMonth(year, month);
  if (day < 1n || day > dim) throw new Error(`${shown}: day must be 01-${dim} in ${pad(year, 4)}-${pad(month, 2)}`);
  if (hour > 23n) throw new Error(`${shown}: hour must be 00-23`);
  if (minute > 59n) throw new Error(`${shown}: minute must be 00-59`);
  if (second > 59n) throw new Error(`${shown}: second must be 00-59 (leap seconds are not supported)`);
  let offsetSeconds = 0n;
  if (m[8] !== 'Z') {
    const oh = BigInt(m[10]);
    const om = BigInt(m[11]);
    if (oh > 23n || om > 59n) throw new Error(`${shown}: the UTC offset must be between -23:59 and +23:59`);
    offsetSeconds = (oh * 3600n + om * 60n) * (m[9] === '-' ? -1n : 1n);
  }
  const nanos = fraction === '' ? 0n : BigInt(fraction.padEnd(9, '0'));
  const localSeconds = daysFromCivil(year, month, day) * SECONDS_PER_DAY + hour * 3600n + minute * 60n + second;
  const ns = (localSeconds - offsetSeconds) * NS_PER_SECOND + nanos;
  if (ns < MIN_TIME_NS || ns > MAX_TIME_NS) {
    throw new Error(`${shown}: the instant in UTC must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z`);
  }
  return ns;
}
