import protobuf from 'protobufjs';
import snappy from 'snappyjs';

/**
 * The subset of Prometheus's `prompb` (types.proto, remote.proto) that remote
 * write 1.0 needs: field numbers and types exactly as upstream, so any
 * receiver (Prometheus, Mimir, Amazon Managed Service for Prometheus) decodes it.
 */
const PROMPB = `
syntax = "proto3";
package prometheus;
message WriteRequest {
  repeated TimeSeries timeseries = 1;
  reserved 2;
}
message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
}
message Label {
  string name = 1;
  string value = 2;
}
message Sample {
  double value = 1;
  int64 timestamp = 2;
}
`;

const writeRequestType = protobuf
  .parse(PROMPB, { keepCase: true })
  .root.lookupType('prometheus.WriteRequest');

export interface Label {
  readonly name: string;
  readonly value: string;
}

export interface Sample {
  readonly value: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

/** One series: labels sorted by name (with `__name__`), samples in time order. */
export interface TimeSeries {
  readonly labels: readonly Label[];
  readonly samples: readonly Sample[];
}

export const REMOTE_WRITE_HEADERS = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
} as const;

/** Protobuf `WriteRequest`, before compression. */
export function encodeWriteRequest(timeseries: readonly TimeSeries[]): Uint8Array {
  return writeRequestType.encode(writeRequestType.fromObject({ timeseries })).finish();
}

/** The HTTP body of a remote-write request: the `WriteRequest` in snappy's block format (not framed). */
export function compressWriteRequest(encoded: Uint8Array): Uint8Array {
  return snappy.compress(encoded);
}

/** Reverses `compressWriteRequest(encodeWriteRequest(…))`; for receivers and tests. */
export function decodeWriteRequestBody(body: Uint8Array): TimeSeries[] {
  const message = writeRequestType.decode(snappy.uncompress(body));
  const plain = writeRequestType.toObject(message, { longs: Number, defaults: true }) as {
    timeseries: TimeSeries[];
  };
  return plain.timeseries;
}
