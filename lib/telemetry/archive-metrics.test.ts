import { MemoryRecorder } from '../../test/support/telemetry';
import { recordArchiveRestore, recordArchiveRun, recordRedriveOutcomes } from './archive-metrics';

describe('archive and redrive metrics', () => {
  it('counts an archive run and marks a run without failures as the last success', () => {
    const recorder = new MemoryRecorder();
    recordArchiveRun(recorder, {
      archived: 120,
      bytes: 4_096_000,
      failed: 0,
      finishedAt: Date.UTC(2026, 10, 25, 3),
    });

    expect(recorder.total('saga_archived_total')).toBe(120);
    expect(recorder.total('saga_archive_bytes_total')).toBe(4_096_000);
    expect(recorder.total('saga_archive_failures_total')).toBe(0);
    expect(recorder.gauge('saga_archive_last_success_timestamp_seconds')).toBe(
      Date.UTC(2026, 10, 25, 3) / 1000,
    );
  });

  it('leaves the last success alone when sagas failed to archive', () => {
    const recorder = new MemoryRecorder();
    recordArchiveRun(recorder, { archived: 10, failed: 2 });

    expect(recorder.total('saga_archive_failures_total')).toBe(2);
    expect(recorder.gauge('saga_archive_last_success_timestamp_seconds')).toBeUndefined();
  });

  it('counts restored sagas and redriven dead letters by outcome', () => {
    const recorder = new MemoryRecorder();
    recordArchiveRestore(recorder, 3);
    recordRedriveOutcomes(recorder, { replayed: 7, failed: 1, skipped: 2 });

    expect(recorder.total('saga_archive_restored_total')).toBe(3);
    expect(recorder.total('saga_dead_letters_redriven_total', { outcome: 'replayed' })).toBe(7);
    expect(recorder.total('saga_dead_letters_redriven_total', { outcome: 'failed' })).toBe(1);
    expect(recorder.total('saga_dead_letters_redriven_total', { outcome: 'skipped' })).toBe(2);
  });
});
