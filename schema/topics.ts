// MQTT topics of the edge <-> collector uplink.
export const TOPIC_ROOT = 'yiwang/v1/edges';

export const topics = {
  batch: (edgeId: string) => `${TOPIC_ROOT}/${edgeId}/batch`,
  ack: (edgeId: string) => `${TOPIC_ROOT}/${edgeId}/ack`,
  status: (edgeId: string) => `${TOPIC_ROOT}/${edgeId}/status`,
  // edge–cloud coordination: collector -> edge (config retained, request) and edge -> collector (report, response)
  config: (edgeId: string) => `${TOPIC_ROOT}/${edgeId}/config`,
  report: (edgeId: string) => `${TOPIC_ROOT}/${edgeId}/report`,
  request: (edgeId: string) => `${TOPIC_ROOT}/${edgeId}/request`,
  response: (edgeId: string) => `${TOPIC_ROOT}/${edgeId}/response`,
  allBatches: `${TOPIC_ROOT}/+/batch`,
  allStatus: `${TOPIC_ROOT}/+/status`,
  allReports: `${TOPIC_ROOT}/+/report`,
  allResponses: `${TOPIC_ROOT}/+/response`,
} as const;

export const UPLINK_TOPIC_KINDS = ['batch', 'ack', 'status', 'config', 'report', 'request', 'response'] as const;
export type UplinkTopicKind = (typeof UPLINK_TOPIC_KINDS)[number];

/** What an edge may publish on its own topics; the rest of its topics only the collector publishes. */
export const EDGE_PUBLISHES: readonly UplinkTopicKind[] = ['batch', 'status', 'report', 'response'];
/** What an edge may subscribe to (its own topics only). */
export const EDGE_SUBSCRIBES: readonly UplinkTopicKind[] = ['ack', 'config', 'request'];

/** Parses `yiwang/v1/edges/{edgeId}/{kind}`; undefined for anything else. */
export function parseUplinkTopic(topic: string): { edgeId: string; kind: UplinkTopicKind } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}/${parts[2]}` !== TOPIC_ROOT) return undefined;
  const kind = parts[4] as UplinkTopicKind;
  if (!UPLINK_TOPIC_KINDS.includes(kind)) return undefined;
  if (!isValidEdgeId(parts[3]!)) return undefined;
  return { edgeId: parts[3]!, kind };
}

/** Edge ids travel in topic segments: no MQTT wildcards or separators. */
export function isValidEdgeId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id);
}
