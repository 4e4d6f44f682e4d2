import type { ProducedEvent } from './kafka';

const BASE_TIME = Date.UTC(2026, 10, 25, 9, 0, 0);

export interface StepSpec {
  step: string;
  status: 'STARTED' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'COMPENSATED';
  service: string;
  metadata?: Record<string, unknown>;
}

/** The happy path of an order (SPEC §2 step table). */
export const ORDER_CREATION_STEPS: readonly StepSpec[] = [
  { step: 'ORDER_CREATED', status: 'STARTED', service: 'order' },
  { step: 'STOCK_RESERVATION', status: 'IN_PROGRESS', service: 'product' },
  { step: 'STOCK_RESERVED', status: 'COMPLETED', service: 'product' },
  { step: 'STOCK_RESERVED', status: 'IN_PROGRESS', service: 'order' },
  { step: 'PAYMENT_INITIALIZATION', status: 'IN_PROGRESS', service: 'payment' },
  { step: 'PAYMENT_COMPLETED', status: 'COMPLETED', service: 'payment' },
  { step: 'ORDER_CONFIRMED', status: 'COMPLETED', service: 'order' },
];

/** A payment failure followed by compensations. */
export const PAYMENT_FAILURE_STEPS: readonly StepSpec[] = [
  { step: 'ORDER_CREATED', status: 'STARTED', service: 'order' },
  { step: 'STOCK_RESERVATION', status: 'IN_PROGRESS', service: 'product' },
  { step: 'STOCK_RESERVED', status: 'COMPLETED', service: 'product' },
  { step: 'PAYMENT_INITIALIZATION', status: 'IN_PROGRESS', service: 'payment' },
  {
    step: 'PAYMENT_FAILED',
    status: 'FAILED',
    service: 'payment',
    metadata: { failureReason: 'CARD_DECLINED' },
  },
  { step: 'STOCK_RELEASED', status: 'COMPENSATED', service: 'product' },
  { step: 'COMPENSATION_ORDER', status: 'COMPENSATED', service: 'order' },
];

export interface SagaOptions {
  sagaId: string;
  sagaType?: string;
  start?: number;
  /** Milliseconds between steps. */
  gap?: number;
  traceId?: string;
}

/** The events one saga's services publish, one per step, in event-time order. */
export function sagaEvents(steps: readonly StepSpec[], options: SagaOptions): ProducedEvent[] {
  const start = options.start ?? BASE_TIME;
  const gap = options.gap ?? 1_000;
  const traceId =
    options.traceId ??
    `${options.sagaId
      .replace(/[^0-9a-f]/gi, '')
      .padEnd(32, '0')
      .slice(0, 32)}`;
  return steps.map((spec, index) => {
    const recordedAt = start + index * gap;
    return {
      eventId: `${options.sagaId}-${index}-${spec.step}`,
      eventTimestamp: recordedAt + 5,
      sagaId: options.sagaId,
      sagaType: options.sagaType ?? 'ORDER_CREATION',
      step: spec.step,
      status: spec.status,
      orderId: `order-${options.sagaId}`,
      metadata: JSON.stringify({
        traceId,
        spanId: `${index}`.padStart(16, '0'),
        producerService: spec.service,
        orderAmount: 42_000,
        itemCount: 2,
        customerId: 'customer-7',
        ...spec.metadata,
      }),
      recordedAt,
    };
  });
}
