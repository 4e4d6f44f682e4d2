import pg from 'pg';

/**
 * bigint ids, offsets and counts stay far below 2^53 here; serving them as
 * numbers beats strings. Process-wide, so every pool agrees.
 */
export function configurePgTypes(): void {
  pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
}
