const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/** Bounds of a query date: wide enough for any question, narrow enough for JS Date and PostgreSQL alike. */
const EARLIEST = Date.UTC(1900, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

// Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear takes the year as written.
function utcMillis(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0,
): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

function validDate(year: number, month: number, day: number): boolean {
  const date = new Date(utcMillis(year, month, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function inRange(millis: number): Date | null {
  return Number.isNaN(millis) || millis < EARLIEST || millis > LATEST ? null : new Date(millis);
}

export type DateBound = 'start' | 'end';

/**
 * Reads an ISO 8601 date or date-time query value. A date alone names a whole
 * UTC day: as a start bound it means that midnight, as an (exclusive) end bound
 * the next one, so `toDate=2026-11-30` includes the 30th. A date-time without a
 * zone is UTC. Impossible dates (2026-02-30), out-of-range parts and
 * years outside 1900-9999 are null.
 */
export function parseIsoBound(text: string, bound: DateBound): Date | null {
  const date = DATE.exec(text);
  if (date) {
    const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
    if (!validDate(year, month, day)) return null;
    return inRange(utcMillis(year, month, day + (bound === 'end' ? 1 : 0)));
  }
  const match = DATE_TIME.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((index) => Number(match[index])) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = Number(match[6] ?? 0);
  const millis = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (match[9]) {
    const offsetHours = Number(match[10]);
    const offsetRest = Number(match[11]);
    if (offsetHours > 23 || offsetRest > 59) return null;
    offsetMinutes = (match[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetRest);
  }
  return inRange(utcMillis(year, month, day, hour, minute, second, millis) - offsetMinutes * 60_000);
}
