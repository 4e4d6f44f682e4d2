import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SAGA_TRACKER_TOPIC = 'c4ang.saga.tracker';
export const SAGA_TRACKER_SUBJECT = 'c4ang.saga.tracker-value';

/**
 * Reads a schema file shipped next to this module (the Lambda bundles copy
 * `schemas/*.avsc` beside the handler). Names are file names in `schemas/`.
 */
export function loadBundledSchema(fileName: string): object {
  if (!/^[\w.-]+\.avsc$/.test(fileName)) throw new Error(`not a schema file name: ${fileName}`);
  return JSON.parse(readFileSync(join(__dirname, fileName), 'utf8')) as object;
}

export function sagaTrackerSchema(): object {
  return loadBundledSchema('SagaTracker.avsc');
}
