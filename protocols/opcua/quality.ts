// OPC UA StatusCode → sample quality. Pure (no node-opcua import) so the mapping is table-tested.
import type { SampleQuality } from '../adapter.js';

/** The two parts of a node-opcua StatusCode the mapping needs. */
export interface StatusLike {
  value: number;
  name: string;
}

export interface QualityVerdict {
  quality: SampleQuality;
  reason?: string;
}

/**
 * The top two bits of a StatusCode are its severity (Part 4, 7.34): 00 Good, 01 Uncertain, 10/11 Bad.
 * Info bits (e.g. Good with overflow/limit bits) keep Good. The reason is the code's symbolic name.
 */
export function statusToQuality(status: StatusLike): QualityVerdict {
  const severity = (status.value >>> 30) & 0b11;
  if (severity === 0) return { quality: 'good' };
  const reason = status.name && status.name !== 'Good' ? status.name : `0x${(status.value >>> 0).toString(16).padStart(8, '0')}`;
  return { quality: severity === 1 ? 'uncertain' : 'bad', reason };
}

/** Status codes meaning the server refused the requested deadband filter (percent needs EURange). */
export function isFilterRejection(name: string): boolean {
  return /^Bad(MonitoredItemFilter|FilterNotAllowed|DeadbandFilterInvalid|FilterOperand)/.test(name);
}
