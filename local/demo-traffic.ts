import { randomUUID } from 'node:crypto';
import type { KafkaEvent, KafkaRecord } from '../lib/ingest/kafka-event';
import type { ProducedEvent } from '../test/support/kafka';
import { encodeAvro, kafkaEvent, kafkaRecord, partitionOf } from '../test/support/kafka';

/**
 * Simulated order, product and payment services producing saga events the way
 * the platform does: Confluent-framed Avro records, keyed by sagaId over three
 * partitions, delivered in MSK event source mapping batches, with the usual
 * mess of real traffic (redeliveries, out-of-order arrival, sagas that stall).
 */

type Status = 'STARTED' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'COMPENSATED';
type Service = 'order' | 'product' | 'payment';

interface PlannedStep {
  readonly step: string;
  readonly status: Status;
  readonly service: Service;
  /** Milliseconds after the previous step. */
  readonly after: number;
  readonly metadata?: Record<string, unknown>;
}

export const SCENARIOS = [
  'order-completed',
  'payment-completed',
  'stock-failure',
  'payment-failure-compensated',
  'timeout-compensated',
  'failed-uncompensated',
  'stuck',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

const WEIGHTS: Readonly<Record<Scenario, number>> = {
  'order-completed': 45,
  'payment-completed': 20,
  'stock-failure': 9,
  'payment-failure-compensated': 9,
  'timeout-compensated': 5,
  'failed-uncompensated': 4,
  stuck: 8,
};

export type Random = () => number;

function between(random: Random, min: number, max: number): number {
  return Math.floor(min + random() * (max - min));
}

function pick<T>(random: Random, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

export function pickScenario(random: Random): Scenario {
  const total = SCENARIOS.reduce((sum, scenario) => sum + WEIGHTS[scenario], 0);
  let roll = random() * total;
  for (const scenario of SCENARIOS) {
    roll -= WEIGHTS[scenario];
    if (roll < 0) return scenario;
  }
  return 'order-completed';
}

function stepsOf(scenario: Scenario, random: Random): { sagaType: string; steps: PlannedStep[] } {
  const quick = () => between(random, 80, 1_500);
  const orderStart: PlannedStep[] = [
    { step: 'ORDER_CREATED', status: 'STARTED', service: 'order', after: 0 },
    { step: 'STOCK_RESERVATION', status: 'IN_PROGRESS', service: 'product', after: quick() },
  ];
  const reserved: PlannedStep[] = [
    { step: 'STOCK_RESERVED', status: 'COMPLETED', service: 'product', after: quick() },
    { step: 'STOCK_RESERVED', status: 'IN_PROGRESS', service: 'order', after: quick() },
    { step: 'PAYMENT_INITIALIZATION', status: 'IN_PROGRESS', service: 'payment', after: quick() },
  ];
  const paymentStart: PlannedStep[] = [
    { step: 'PAYMENT_INITIALIZATION', status: 'STARTED', service: 'payment', after: 0 },
    { step: 'PAYMENT_INITIALIZED', status: 'IN_PROGRESS', service: 'payment', after: quick() },
  ];
  const compensation: PlannedStep[] = [
    { step: 'STOCK_RELEASED', status: 'COMPENSATED', service: 'product', after: between(random, 500, 4_000) },
    { step: 'COMPENSATION_ORDER', status: 'COMPENSATED', service: 'order', after: quick() },
  ];
  switch (scenario) {
    case 'order-completed':
      return {
        sagaType: 'ORDER_CREATION',
        steps: [
          ...orderStart,
          ...reserved,
          { step: 'PAYMENT_COMPLETED', status: 'COMPLETED', service: 'payment', after: quick() },
          { step: 'ORDER_CONFIRMED', status: 'COMPLETED', service: 'order', after: quick() },
        ],
      };
    case 'payment-completed':
      return {
        sagaType: 'PAYMENT_COMPLETION',
        steps: [
          ...paymentStart,
          { step: 'PAYMENT_COMPLETED', status: 'COMPLETED', service: 'payment', after: quick() },
        ],
      };
    case 'stock-failure':
      return {
        sagaType: 'ORDER_CREATION',
        steps: [
          ...orderStart,
          {
            step: 'STOCK_RESERVATION_FAILED',
            status: 'FAILED',
            service: 'product',
            after: quick(),
            metadata: { failureReason: pick(random, ['OUT_OF_STOCK', 'PRODUCT_DISCONTINUED']) },
          },
          { step: 'ORDER_CANCELLED', status: 'FAILED', service: 'order', after: quick() },
        ],
      };
    case 'payment-failure-compensated':
      return {
        sagaType: 'PAYMENT_COMPLETION',
        steps: [
          ...paymentStart,
          {
            step: 'PAYMENT_FAILED',
            status: 'FAILED',
            service: 'payment',
            after: quick(),
            metadata: { failureReason: pick(random, ['CARD_DECLINED', 'INSUFFICIENT_FUNDS', 'PG_TIMEOUT']) },
          },
          { step: 'PAYMENT_CANCELLED', status: 'COMPENSATED', service: 'payment', after: quick() },
          ...compensation,
        ],
      };
    case 'timeout-compensated':
      return {
        sagaType: 'ORDER_CREATION',
        steps: [
          ...orderStart,
          ...reserved,
          {
            step: 'ORDER_TIMEOUT',
            status: 'FAILED',
            service: 'order',
            after: between(random, 20_000, 40_000),
            metadata: { failureReason: 'PAYMENT_TIMEOUT' },
          },
          ...compensation,
        ],
      };
    case 'failed-uncompensated':
      return {
        sagaType: 'PAYMENT_COMPLETION',
        steps: [
          ...paymentStart,
          {
            step: 'PAYMENT_FAILED',
            status: 'FAILED',
            service: 'payment',
            after: quick(),
            metadata: { failureReason: 'CARD_DECLINED' },
          },
        ],
      };
    case 'stuck':
      return {
        sagaType: 'ORDER_CREATION',
        steps: [...orderStart, ...reserved.slice(0, between(random, 0, 3))],
      };
  }
}

function hex(random: Random, length: number): string {
  let text = '';
  for (let index = 0; index < length; index++) text += Math.floor(random() * 16).toString(16);
  return text;
}

export interface ScheduledEvent {
  readonly event: ProducedEvent;
  readonly service: Service;
  /** When the simulated broker hands it to the tracker (epoch ms). */
  readonly deliverAt: number;
}

export interface PlanOptions {
  readonly scenario: Scenario;
  readonly start: number;
  readonly random: Random;
  /** Chance that two consecutive steps arrive in the wrong order. */
  readonly outOfOrderRate?: number;
  /** Chance that an event is delivered a second time later (a redelivery). */
  readonly duplicateRate?: number;
  readonly sagaId?: string;
}

/** The events of one saga, each with its delivery time. */
export function planSaga(options: PlanOptions): ScheduledEvent[] {
  const { random } = options;
  const { sagaType, steps } = stepsOf(options.scenario, random);
  const sagaId = options.sagaId ?? randomUUID();
  const orderId = `ORD-${between(random, 10_000_000, 99_999_999)}`;
  const traceId = hex(random, 32);
  const common = {
    customerId: `customer-${between(random, 1, 500)}`,
    orderAmount: between(random, 1, 500) * 1_000,
    itemCount: between(random, 1, 6),
    paymentMethod: pick(random, ['CARD', 'BANK_TRANSFER', 'POINTS']),
  };
  let recordedAt = options.start;
  const scheduled: ScheduledEvent[] = steps.map((planned, index) => {
    recordedAt += planned.after;
    const eventTimestamp = recordedAt + between(random, 1, 30);
    const event: ProducedEvent = {
      eventId: randomUUID(),
      eventTimestamp,
      sagaId,
      sagaType,
      step: planned.step,
      status: planned.status,
      orderId,
      metadata: JSON.stringify({
        traceId,
        spanId: hex(random, 16),
        producerService: planned.service,
        producerTimestamp: new Date(eventTimestamp).toISOString(),
        retryCount: 0,
        stepIndex: index,
        ...common,
        ...planned.metadata,
      }),
      recordedAt,
    };
    return { event, service: planned.service, deliverAt: eventTimestamp + between(random, 20, 400) };
  });
  const outOfOrderRate = options.outOfOrderRate ?? 0.05;
  for (let index = 1; index < scheduled.length; index++) {
    const earlier = scheduled[index - 1];
    const later = scheduled[index];
    if (earlier && later && random() < outOfOrderRate) {
      scheduled[index - 1] = { ...earlier, deliverAt: later.deliverAt + between(random, 50, 1_500) };
    }
  }
  const duplicateRate = options.duplicateRate ?? 0.03;
  const duplicates = scheduled
    .filter(() => random() < duplicateRate)
    .map((item) => ({ ...item, deliverAt: item.deliverAt + between(random, 500, 5_000) }));
  return [...scheduled, ...duplicates];
}

/** The broker: per-partition offsets, and records in the event source mapping's shape. */
export class SimulatedTopic {
  private readonly nextOffset: number[];

  constructor(private readonly partitions = 3) {
    this.nextOffset = new Array<number>(partitions).fill(0);
  }

  record(item: ScheduledEvent): KafkaRecord {
    const partition = partitionOf(item.event.sagaId, this.partitions);
    const offset = this.nextOffset[partition] ?? 0;
    this.nextOffset[partition] = offset + 1;
    return kafkaRecord(encodeAvro(item.event), {
      partition,
      offset,
      key: item.event.sagaId,
      timestamp: item.event.eventTimestamp,
      headers: { 'producer-service': item.service },
    });
  }

  batch(items: readonly ScheduledEvent[]): KafkaEvent {
    return kafkaEvent(items.map((item) => this.record(item)));
  }
}

export interface DemoTrafficOptions {
  /** Invokes the consume function with an MSK event. */
  readonly consume: (event: KafkaEvent) => Promise<unknown>;
  readonly sagasPerSecond: number;
  readonly random?: Random;
  readonly now?: () => number;
  readonly tickMs?: number;
  readonly onError?: (error: unknown) => void;
  readonly topic?: SimulatedTopic;
}

/** Starts sagas at a steady rate and delivers their events in batches as they fall due. */
export class DemoTraffic {
  private pending: ScheduledEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private carry = 0;
  private readonly random: Random;
  private readonly now: () => number;
  private readonly topic: SimulatedTopic;
  delivered = 0;
  sagasStarted = 0;

  constructor(private readonly options: DemoTrafficOptions) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.topic = options.topic ?? new SimulatedTopic();
  }

  /** Sagas that ran over the last `spanMs`, delivered at once: history to look at straight away. */
  async backfill(count: number, spanMs: number): Promise<void> {
    const now = this.now();
    const history: ScheduledEvent[] = [];
    for (let index = 0; index < count; index++) {
      const start = now - spanMs + Math.floor(this.random() * (spanMs - 60_000));
      history.push(...planSaga({ scenario: pickScenario(this.random), start, random: this.random }));
    }
    // Steps of historical sagas that would still lie in the future stay unsent, as if still to come.
    const due = history.filter((item) => item.deliverAt <= now).sort((a, b) => a.deliverAt - b.deliverAt);
    for (let index = 0; index < due.length; index += 500) {
      await this.options.consume(this.topic.batch(due.slice(index, index + 500)));
    }
    this.pending.push(...history.filter((item) => item.deliverAt > now));
    this.delivered += due.length;
    this.sagasStarted += count;
  }

  start(): void {
    const tickMs = this.options.tickMs ?? 250;
    this.timer = setInterval(() => {
      this.inFlight = this.inFlight.then(() => this.tick(tickMs));
    }, tickMs);
  }

  private async tick(tickMs: number): Promise<void> {
    const now = this.now();
    this.carry += (this.options.sagasPerSecond * tickMs) / 1000;
    while (this.carry >= 1) {
      this.carry -= 1;
      this.sagasStarted++;
      this.pending.push(
        ...planSaga({ scenario: pickScenario(this.random), start: now, random: this.random }),
      );
    }
    const due = this.pending
      .filter((item) => item.deliverAt <= now)
      .sort((a, b) => a.deliverAt - b.deliverAt);
    if (due.length === 0) return;
    this.pending = this.pending.filter((item) => item.deliverAt > now);
    try {
      await this.options.consume(this.topic.batch(due));
      this.delivered += due.length;
    } catch (error) {
      // Like the event source mapping: the batch is retried whole, later.
      this.pending.push(...due);
      this.options.onError?.(error);
    }
  }

  /** Stops starting sagas and waits for the batch being delivered. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }
}
