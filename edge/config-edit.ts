// Edits the edge YAML config in place (keeping comments) for `yiwang edge device add/remove`.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import YAML, { isMap, isSeq, type Document } from 'yaml';
import { parseEdgeConfig, type DeviceConfig, type EdgeConfig } from './config.js';

export function readDoc(file: string): Document {
  return YAML.parseDocument(readFileSync(file, 'utf8'));
}

function devicesSeq(doc: Document) {
  let seq = doc.get('devices', true);
  if (!isSeq(seq)) {
    seq = doc.createNode([]);
    doc.set('devices', seq);
  }
  return seq as YAML.YAMLSeq;
}

export function deviceIndex(doc: Document, id: string): number {
  return devicesSeq(doc).items.findIndex((n) => isMap(n) && n.get('id') === id);
}

/** Returns the new text after adding (or replacing) a device; validates the whole file structurally. */
export function withDevice(doc: Document, file: string, device: DeviceConfig): { text: string; config: EdgeConfig } {
  const seq = devicesSeq(doc);
  const i = deviceIndex(doc, device.id);
  const node = doc.createNode(device);
  if (i >= 0) seq.items[i] = node;
  else seq.items.push(node);
  const text = doc.toString();
  return { text, config: parseEdgeConfig(file, text) };
}

export function withoutDevice(doc: Document, file: string, id: string): { text: string; config: EdgeConfig } | undefined {
  const i = deviceIndex(doc, id);
  if (i < 0) return undefined;
  devicesSeq(doc).items.splice(i, 1);
  const text = doc.toString();
  return { text, config: parseEdgeConfig(file, text) };
}

/** Atomic replace: a crash mid-write never leaves a half-written config on the box. */
export function writeConfigAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
