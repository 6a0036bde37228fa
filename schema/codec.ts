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

export const encodeConfigPush = (m: ConfigPush): Uint8Array => encodeWith(ConfigPushType, m);
export const decodeConfigPush = (bytes: Uint8Array): ConfigPush => {
  const m = decodeWith<ConfigPush>(ConfigPushType, bytes, 'config');
  m.edgeId ??= '';
  m.version ??= 0;
  for (const k of ['senderKey', 'edgeKey', 'nonce', 'sealed'] as const) m[k] ??= Buffer.alloc(0);
  return m;
};
export const encodeEdgeReport = (m: EdgeReport): Uint8Array => encodeWith(EdgeReportType, m);
export const decodeEdgeReport = (bytes: Uint8Array): EdgeReport => {
  const m = decodeWith<EdgeReport>(EdgeReportType, bytes, 'report');
  m.edgeId ??= '';
  m.ts ??= 0;
  return m;
};
export const encodeDiagnosticRequest = (m: DiagnosticRequest): Uint8Array => encodeWith(DiagnosticRequestType, m);
export const decodeDiagnosticRequest = (bytes: Uint8Array): DiagnosticRequest => {
  const m = decodeWith<DiagnosticRequest>(DiagnosticRequestType, bytes, 'request');
  m.edgeId ??= '';
  m.requestId ??= '';
  m.kind ??= '';
  return m;
};
export const encodeDiagnosticResponse = (m: DiagnosticResponse): Uint8Array => encodeWith(DiagnosticResponseType, m);
export const decodeDiagnosticResponse = (bytes: Uint8Array): DiagnosticResponse => {
  const m = decodeWith<DiagnosticResponse>(DiagnosticResponseType, bytes, 'response');
  m.edgeId ??= '';
  m.requestId ??= '';
  m.ok ??= false;
  return m;
};

/** Looks up any message type of the schema (for sub-message encoding, e.g. the edge buffer's chunks). */
export const messageType = (name: string): protobuf.Type => root.lookupType(`yiwang.v1.${name}`);
