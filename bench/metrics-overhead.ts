/**
 * `npm run bench:metrics` — the cost the telemetry adds to one consume
 * invocation of a 1,000-event batch: recording the ingest result (counters,
 * histogram) and flushing it, to a real Prometheus (Debian's package, remote
 * write receiver on loopback) and to CloudWatch EMF (serialized, written to a
 * counter instead of stdout).
 *
 * The ingest result is built the way PgIngestStore reports a batch: 1,000
 * inserted events of ORDER_CREATION and PAYMENT_FAILURE sagas (1 in 5 fails
 * and is compensated), so the label sets and transitions are the real ones.
 * The database is left out on purpose: it is the same with or without metrics.
 *
 * Prints the first invocation of a Lambda environment (new series, zero
 * samples) and the steady state (median, p95, max over BENCH_INVOCATIONS).
 * Options (env): BENCH_INVOCATIONS (default 300), BENCH_BATCH (default 1000).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { IngestResult, SagaChange } from '../lib/ingest/ingest';
import { createTelemetry } from '../lib/telemetry';
import { recordIngestMetrics } from '../lib/telemetry/ingest-metrics';
import { DB_QUERY_DURATION, INVOCATIONS as INVOCATIONS_TOTAL } from '../lib/telemetry/metrics';
import type { FlushReport } from '../lib/telemetry/telemetry';
import { startPrometheus } from '../test/support/prometheus';
import { ORDER_CREATION_STEPS, PAYMENT_FAILURE_STEPS, type StepSpec } from '../test/support/sagas';

const INVOCATIONS = Number(process.env.BENCH_INVOCATIONS ?? 300);
const BATCH = Number(process.env.BENCH_BATCH ?? 1_000);

/** An IngestResult for `events` inserted events, as the store reports a real batch. */
function ingestResult(events: number, sagaOffset: number): IngestResult {
  const byStepStatus = new Map<string, { step: string; status: StepSpec['status']; count: number }>();
  const sagaChanges: SagaChange[] = [];
  let inserted = 0;
  for (let saga = sagaOffset; inserted < events; saga++) {
    const fails = saga % 5 === 0;
    const steps = fails ? PAYMENT_FAILURE_STEPS : ORDER_CREATION_STEPS;
    for (const spec of steps) {
      if (inserted === events) break;
      const key = `${spec.step}|${spec.status}`;
      const entry = byStepStatus.get(key) ?? { step: spec.step, status: spec.status, count: 0 };
      entry.count++;
      byStepStatus.set(key, entry);
      inserted++;
    }
    sagaChanges.push({
      sagaId: `bench-${saga}`,
      sagaType: 'ORDER_CREATION',
      previousStatus: null,
      currentStatus: fails ? 'COMPENSATED' : 'COMPLETED',
      enteredFailed: fails,
      enteredCompensated: fails,
      compensationSeconds: fails ? 1 + (saga % 60) : null,
    });
  }
  return {
    outcomes: [],
    sagaChanges,
    summary: {
      received: events,
      inserted: events,
      duplicates: 0,
      deadLettered: 0,
      deadLettersByReason: {},
      insertedByStepStatus: [...byStepStatus.values()],
    },
  };
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { median: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] ?? 0 };
}

const fmt = (value: number, digits = 2) => value.toFixed(digits).padStart(9);

async function main() {
  const prometheus = await startPrometheus();
  // Powertools writes EMF through the global console in dev mode: count it instead of printing it.
  process.env.POWERTOOLS_DEV = 'true';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  let emfBytes = 0;
  const print = console.log;
  const silence = () => {
    console.log = (line: unknown) => {
      emfBytes += Buffer.byteLength(String(line));
    };
  };
  const restore = () => {
    console.log = print;
  };
  try {
    const telemetry = createTelemetry({
      functionName: 'consume',
      logger: { warn: (message, ...extra) => print('warn:', message, ...extra) },
      metrics: new Metrics({ namespace: 'SagaTrackerBench', serviceName: 'bench' }),
      remoteWrite: {
        enabled: true,
        url: prometheus.writeUrl,
        auth: { mode: 'none' },
        timeoutMs: 2_000,
        maxRetries: 2,
        staticLabels: { scenario: 'bench' },
      },
      instance: 'bench-env',
    });

    const rows: Array<{
      recordMs: number;
      flushMs: number;
      promMs: number;
      cwMs: number;
      report: FlushReport;
      emf: number;
    }> = [];
    let sagaOffset = 0;
    for (let invocation = 0; invocation < INVOCATIONS; invocation++) {
      const result = ingestResult(BATCH, sagaOffset);
      sagaOffset += result.sagaChanges.length;
      silence();
      emfBytes = 0;
      const t0 = process.hrtime.bigint();
      // What the consume handler records per invocation: the result, the batch transaction, the invocation.
      recordIngestMetrics(telemetry, result);
      telemetry.observe(DB_QUERY_DURATION, { query: 'ingest_batch' }, 0.12);
      telemetry.increment(INVOCATIONS_TOTAL, { outcome: 'success' });
      const t1 = process.hrtime.bigint();
      const report = await telemetry.flush();
      const t2 = process.hrtime.bigint();
      restore();
      const prom = report.results.find((entry) => entry.sink === 'prometheus');
      const cw = report.results.find((entry) => entry.sink === 'cloudwatch');
      if (!report.ok) throw new Error(`flush failed: ${JSON.stringify(report)}`);
      rows.push({
        recordMs: Number(t1 - t0) / 1e6,
        flushMs: Number(t2 - t1) / 1e6,
        promMs: prom?.durationMs ?? 0,
        cwMs: cw?.durationMs ?? 0,
        report,
        emf: emfBytes,
      });
    }

    const [first, ...steady] = rows;
    if (!first) throw new Error('no invocation ran');
    const prom = (row: (typeof rows)[number]) =>
      row.report.results.find((entry) => entry.sink === 'prometheus');
    const line = (label: string, values: number[], unit: string, digits = 2) => {
      const s = stats(values);
      print(`${label.padEnd(44)}${fmt(s.median, digits)}${fmt(s.p95, digits)}${fmt(s.max, digits)}  ${unit}`);
    };

    const total = await prometheus.query('sum(saga_events_processed_total{scenario="bench"})');
    print(`\nmetrics overhead per consume invocation — batch of ${BATCH} events, ${INVOCATIONS} invocations`);
    print(`real Prometheus ${prometheus.url} (remote write 1.0, snappy, protobuf)\n`);
    print('first invocation of an environment (new series, zero samples):');
    print(`  record ${first.recordMs.toFixed(3)} ms, flush ${first.flushMs.toFixed(2)} ms`);
    print(
      `  remote write: ${prom(first)?.series} series, ${prom(first)?.samples} samples, ` +
        `${prom(first)?.bytes} bytes sent (${prom(first)?.uncompressedBytes} before snappy); EMF ${first.emf} bytes\n`,
    );
    print(`steady state${' '.repeat(32)}   median      p95      max`);
    line(
      '  record (result, batch time, invocation)',
      steady.map((row) => row.recordMs),
      'ms',
      3,
    );
    line(
      '  flush, both sinks (wall clock)',
      steady.map((row) => row.flushMs),
      'ms',
    );
    line(
      '  flush, remote write (HTTP round trip)',
      steady.map((row) => row.promMs),
      'ms',
    );
    line(
      '  flush, CloudWatch EMF',
      steady.map((row) => row.cwMs),
      'ms',
    );
    line(
      '  record + flush',
      steady.map((row) => row.recordMs + row.flushMs),
      'ms',
    );
    line(
      '  remote-write bytes sent',
      steady.map((row) => prom(row)?.bytes ?? 0),
      'bytes',
      0,
    );
    line(
      '  remote-write bytes before snappy',
      steady.map((row) => prom(row)?.uncompressedBytes ?? 0),
      'bytes',
      0,
    );
    line(
      '  remote-write series',
      steady.map((row) => prom(row)?.series ?? 0),
      'series',
      0,
    );
    line(
      '  EMF bytes to stdout',
      steady.map((row) => row.emf),
      'bytes',
      0,
    );
    print(
      `\nPrometheus holds sum(saga_events_processed_total) = ${total.result[0]?.value[1]} ` +
        `(expected ${BATCH * INVOCATIONS})`,
    );
  } finally {
    restore();
    await prometheus.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
