// Edits the edge YAML config in place for `yiwang edge device add/update/remove` and `edge camera add`:
// comments and the flow/block style the installer wrote are kept (the yaml package's Document API), only
// the fields that change are touched, and the file keeps its mode and owner (it may hold passwords).
import { readFileSync } from 'node:fs';
import YAML, { isMap, isScalar, isSeq, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { writeFilePreservingMode } from '../core/env.js';
import { parseEdgeConfig, type DeviceConfig, type EdgeConfig } from './config.js';

export function readDoc(file: string): Document {
  return YAML.parseDocument(readFileSync(file, 'utf8'));
}

function devicesSeq(doc: Document): YAMLSeq {
  let seq = doc.get('devices', true);
  if (!isSeq(seq)) {
    seq = doc.createNode([]);
    doc.set('devices', seq);
  }
  const s = seq as YAMLSeq;
  // `devices: []` in a starter file: the first device turns it into a block list, not one long flow line.
  if (s.flow && s.items.length === 0) s.flow = false;
  return s;
}

export function deviceIndex(doc: Document, id: string): number {
  return devicesSeq(doc).items.findIndex((n) => isMap(n) && n.get('id') === id);
}

/** The device entry with this id as the file has it, or undefined. */
export function deviceEntry(doc: Document, id: string): DeviceConfig | undefined {
  const i = deviceIndex(doc, id);
  return i < 0 ? undefined : ((devicesSeq(doc).items[i] as YAMLMap).toJSON() as DeviceConfig);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Makes `node` hold `value`, touching only what differs: unchanged fields keep their comments and style,
 * nested maps are synced recursively, a changed list keeps the flow/block style of the one it replaces.
 */
function syncMap(doc: Document, node: YAMLMap, value: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const cur = node.get(k, true) as unknown;
    if (isMap(cur) && isPlainObject(v)) {
      syncMap(doc, cur, v);
      continue;
    }
    const curJson = cur && typeof (cur as { toJSON?: unknown }).toJSON === 'function' ? (cur as { toJSON(): unknown }).toJSON() : (cur as { value?: unknown } | undefined)?.value;
    if (cur !== undefined && same(curJson, v)) continue;
    if (isScalar(cur) && (v === null || typeof v !== 'object')) {
      cur.value = v; // keeps the scalar's quoting and its trailing comment
      continue;
    }
    const next = doc.createNode(v) as unknown;
    if (isSeq(cur) && isSeq(next)) next.flow = cur.flow;
    node.set(k, next);
  }
  for (const item of [...node.items]) {
    const key = String((item.key as { value?: unknown })?.value ?? item.key);
    if (value[key] === undefined) node.delete(key);
  }
}

/** Deep merge for `device update`: nested objects merge field by field, anything else replaces. */
export function mergeDevice(base: DeviceConfig, patch: Partial<DeviceConfig>): DeviceConfig {
  const merge = (a: unknown, b: unknown): unknown => {
    if (!isPlainObject(a) || !isPlainObject(b)) return b === undefined ? a : b;
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = merge(a[k], v);
    return out;
  };
  return merge(base, patch) as DeviceConfig;
}

/** Appends a new device (the caller has checked the id is not taken). */
export function addDeviceEntry(doc: Document, device: DeviceConfig): void {
  devicesSeq(doc).items.push(doc.createNode(device));
}

/** Replaces an existing device's entry in place (see syncMap); returns false when there is no such device. */
export function replaceDeviceEntry(doc: Document, device: DeviceConfig): boolean {
  const i = deviceIndex(doc, device.id);
  if (i < 0) return false;
  syncMap(doc, devicesSeq(doc).items[i] as YAMLMap, device as unknown as Record<string, unknown>);
  return true;
}

export function removeDeviceEntry(doc: Document, id: string): boolean {
  const i = deviceIndex(doc, id);
  if (i < 0) return false;
  devicesSeq(doc).items.splice(i, 1);
  return true;
}

/** The document's text and the config it parses to (structure checked; throws ConfigError). */
export function docText(doc: Document, file: string): { text: string; config: EdgeConfig } {
  const text = doc.toString();
  return { text, config: parseEdgeConfig(file, text) };
}

/** "name: 前池水位 → 北池水位" lines for every field that differs (dotted paths; secrets masked). */
export function describeChanges(before: unknown, after: unknown, path = ''): string[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => describeChanges(before[k], after[k], path ? `${path}.${k}` : k));
  }
  if (same(before, after)) return [];
  const show = (v: unknown) => (v === undefined ? '(none)' : /password|secret|token/i.test(path) ? '***' : typeof v === 'string' ? v : JSON.stringify(v));
  return [`${path}: ${show(before)} → ${show(after)}`];
}

/** Atomic replace that keeps the file's mode and owner (new files 0600): a crash never leaves half a config. */
export function writeConfigAtomically(file: string, text: string): void {
  writeFilePreservingMode(file, text);
}
