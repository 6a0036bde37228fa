// MQTT topics of the edge <-> collector uplink.
export const TOPIC_ROOT = 'yiwang/v1/edges';

export const topics = {
  batch: (edgeId: string) => `${TOPIC_ROOT}/${edgeId}/batch`,
  ack: (edgeId: string) => `${TOPIC_ROOT}/${edgeId}/ack`,
  status: (edgeId: string) => `${TOPIC_ROOT}/${edgeId}/status`,
  allBatches: `${TOPIC_ROOT}/+/batch`,
  allStatus: `${TOPIC_ROOT}/+/status`,
} as const;

export type UplinkTopicKind = 'batch' | 'ack' | 'status';

/** Parses `yiwang/v1/edges/{edgeId}/{kind}`; undefined for anything else. */
export function parseUplinkTopic(topic: string): { edgeId: string; kind: UplinkTopicKind } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}/${parts[2]}` !== TOPIC_ROOT) return undefined;
  const kind = parts[4];
  if (kind !== 'batch' && kind !== 'ack' && kind !== 'status') return undefined;
  if (!isValidEdgeId(parts[3]!)) return undefined;
  return { edgeId: parts[3]!, kind };
}

/** Edge ids travel in topic segments: no MQTT wildcards or separators. */
export function isValidEdgeId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id);
}
