// OPC UA Variant → PointValue. Pure: takes the numeric DataType id (Part 6, stable) so it is table-tested.
import type { PointValue } from '../adapter.js';

/** Built-in DataType ids (OPC UA Part 6, 5.1.2). */
export const DT = {
  Null: 0, Boolean: 1, SByte: 2, Byte: 3, Int16: 4, UInt16: 5, Int32: 6, UInt32: 7, Int64: 8, UInt64: 9,
  Float: 10, Double: 11, String: 12, DateTime: 13, Guid: 14, ByteString: 15, XmlElement: 16, NodeId: 17,
  ExpandedNodeId: 18, StatusCode: 19, QualifiedName: 20, LocalizedText: 21, ExtensionObject: 22, DataValue: 23,
  Variant: 24, DiagnosticInfo: 25,
} as const;

const NAME_OF: Record<number, string> = Object.fromEntries(Object.entries(DT).map(([k, v]) => [v, k]));
export const dataTypeName = (id: number): string => NAME_OF[id] ?? `DataType${id}`;

export interface VariantLike {
  dataType: number;
  arrayType: number; // 0 = scalar
  value: unknown;
}

export type Conversion = { ok: true; value: PointValue | null } | { ok: false; reason: string };

const NUMERIC = new Set<number>([DT.SByte, DT.Byte, DT.Int16, DT.UInt16, DT.Int32, DT.UInt32, DT.Float, DT.Double]);

/** node-opcua carries (U)Int64 as [high, low] 32-bit words; beyond 2^53 precision is lost (documented). */
export function int64ToNumber(words: unknown, signed: boolean): number | undefined {
  if (typeof words === 'number' || typeof words === 'bigint') return Number(words);
  if (!Array.isArray(words) || words.length !== 2) return undefined;
  const [hi, lo] = words as unknown[];
  if (typeof hi !== 'number' || typeof lo !== 'number') return undefined;
  const big = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return Number(signed ? BigInt.asIntN(64, big) : big);
}

/** A scalar Variant as a point value: booleans, numbers (incl. 64-bit), strings, DateTime (ms), LocalizedText. */
export function variantToValue(v: VariantLike): Conversion {
  if (v.dataType === DT.Null || v.value === null || v.value === undefined) return { ok: true, value: null };
  if (v.arrayType !== 0) return { ok: false, reason: `unsupported_type:${dataTypeName(v.dataType)}[]` };
  const x = v.value;
  if (v.dataType === DT.Boolean && typeof x === 'boolean') return { ok: true, value: x };
  if (NUMERIC.has(v.dataType) && typeof x === 'number') return { ok: true, value: x };
  if (v.dataType === DT.Int64 || v.dataType === DT.UInt64) {
    const n = int64ToNumber(x, v.dataType === DT.Int64);
    if (n !== undefined) return { ok: true, value: n };
  }
  if (v.dataType === DT.String && typeof x === 'string') return { ok: true, value: x };
  if (v.dataType === DT.DateTime && x instanceof Date) return { ok: true, value: x.getTime() };
  if (v.dataType === DT.LocalizedText && typeof x === 'object' && x !== null) {
    const text = (x as { text?: unknown }).text;
    return { ok: true, value: typeof text === 'string' ? text : null };
  }
  return { ok: false, reason: `unsupported_type:${dataTypeName(v.dataType)}` };
}
