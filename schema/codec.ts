// Binary encode/decode of the wire messages with protobufjs reflection over yiwang.proto.
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import type { Ack, Batch, ConfigPush, DiagnosticRequest, DiagnosticResponse, EdgeReport, EdgeStatus } from './types.js';

// Decode 64-bit integers as JS numbers instead of Long objects (values stay below 2^53).
protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

export const PROTO_PATH = fileURLToPath(new URL('./yiwang.proto', import.meta.url));
export const root = protobuf.loadSync(PROTO_PATH);

const BatchType = root.lookupType('yiwang.v1.Batch');
const AckType = root.lookupType('yiwang.v1.Ack');
const EdgeStatusType = root.lookupType('yiwang.v1.EdgeStatus');
const ConfigPushType = root.lookupType('yiwang.v1.ConfigPush');
const EdgeReportType = root.lookupType('yiwang.v1.EdgeReport');
const DiagnosticRequestType = root.lookupType('yiwang.v1.DiagnosticRequest');
const DiagnosticResponseType = root.lookupType('yiwang.v1.DiagnosticResponse');

export class SchemaError extends Error {}

function decodeWith<T>(type: protobuf.Type, bytes: Uint8Array, what: string): T {
  let msg: protobuf.Message;
  try {
    msg = type.decode(bytes);
  } catch (err) {
    throw new SchemaError(`${what}: not a valid protobuf ${type.name}: ${(err as Error).message}`);
  }
  // toObject with defaults=false keeps unset optional fields undefined, bytes as Buffer, enums as numbers.
  return type.toObject(msg, { longs: Number, enums: Number, bytes: Buffer, defaults: false, arrays: true, oneofs: false }) as T;
}

function encodeWith(type: protobuf.Type, value: object): Uint8Array {
  return type.encode(type.fromObject(value)).finish();
}

export const encodeBatch = (b: Batch): Uint8Array => encodeWith(BatchType, b);
export const decodeBatch = (bytes: Uint8Array): Batch => {
  const b = decodeWith<Batch>(BatchType, bytes, 'batch');
  b.edgeId ??= '';
  b.batchId ??= 0;
  b.firstSeq ??= 0;
  b.lastSeq ??= 0;
  return b;
};
export const encodeAck = (a: Ack): Uint8Array => encodeWith(AckType, a);
export const decodeAck = (bytes: Uint8Array): Ack => {
  const a = decodeWith<Ack>(AckType, bytes, 'ack');
  a.edgeId ??= '';
  a.batchId ??= 0;
  return a;
};
export const encodeEdgeStatus = (s: EdgeStatus): Uint8Array => encodeWith(EdgeStatusType, s);
export const decodeEdgeStatus = (bytes: Uint8Array): EdgeStatus => {
  const s = decodeWith<EdgeStatus>(EdgeStatusType, bytes, 'status');
  s.edgeId ??= '';
  s.online ??= false;
  s.ts ??= 0;
  return s;
};

// ---- edge–cloud coordination ----

/** Decodes with `defaults` for the fields protobuf leaves unset (proto3 has no presence for scalars). */
const decoder = <T extends object>(type: protobuf.Type, what: string, defaults: Partial<T>) => (bytes: Uint8Array): T => {
  const m = decodeWith<T>(type, bytes, what) as Record<string, unknown>;
  for (const [k, v] of Object.entries(defaults)) m[k] ??= v;
  return m as T;
};
const EMPTY = Buffer.alloc(0);

export const encodeConfigPush = (m: ConfigPush): Uint8Array => encodeWith(ConfigPushType, m);
export const decodeConfigPush = decoder<ConfigPush>(ConfigPushType, 'config', { edgeId: '', version: 0, senderKey: EMPTY, edgeKey: EMPTY, nonce: EMPTY, sealed: EMPTY });
export const encodeEdgeReport = (m: EdgeReport): Uint8Array => encodeWith(EdgeReportType, m);
export const decodeEdgeReport = decoder<EdgeReport>(EdgeReportType, 'report', { edgeId: '', ts: 0 });
export const encodeDiagnosticRequest = (m: DiagnosticRequest): Uint8Array => encodeWith(DiagnosticRequestType, m);
export const decodeDiagnosticRequest = decoder<DiagnosticRequest>(DiagnosticRequestType, 'request', { edgeId: '', requestId: '', kind: '' });
export const encodeDiagnosticResponse = (m: DiagnosticResponse): Uint8Array => encodeWith(DiagnosticResponseType, m);
export const decodeDiagnosticResponse = decoder<DiagnosticResponse>(DiagnosticResponseType, 'response', { edgeId: '', requestId: '', ok: false });

/** Looks up any message type of the schema (for sub-message encoding, e.g. the edge buffer's chunks). */
export const messageType = (name: string): protobuf.Type => root.lookupType(`yiwang.v1.${name}`);
