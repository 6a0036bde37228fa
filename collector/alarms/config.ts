// The `alarms:` block of collector.yaml: how the collector watches for conditions only it can see (silent edges,
// quarantine that stopped) and how its notification worker runs. Every key is optional. (Devices whose scheduled
// reports stop: `analytics.missedReports`, collector/analytics.)

export interface AlarmsConfig {
  /** How often the conditions only the collector sees are checked (seconds). */
  sweepIntervalS: number;
  /** An edge disconnected this long (its status topic / last will) raises edge_offline. */
  edgeOfflineAfterS: number;
  /** An edge that sent no batch this long raises edge_offline even while its connection looks up. */
  edgeSilentAfterS: number;
  /** A quarantine alarm clears after this long without new quarantined items of its reason (seconds). */
  quarantineClearAfterS: number;
  /** The delivery worker looks for work this often (ms; it is also woken by new transitions). */
  deliveryPollMs: number;
  /** A claimed delivery not finished within this long is taken again by any node (seconds). */
  deliveryLeaseS: number;
  /** Delivery log rows (sent, failed, held) are kept this long (days). */
  deliveryLogDays: number;
  /** Retries of a failed delivery: first delay, growth ×3 with jitter, capped; attempts in total. */
  retryBaseMs: number;
  retryMaxMs: number;
  retryAttempts: number;
}

export const DEFAULT_ALARMS_CONFIG: AlarmsConfig = {
  sweepIntervalS: 15,
  edgeOfflineAfterS: 120,
  edgeSilentAfterS: 300,
  quarantineClearAfterS: 3600,
  deliveryPollMs: 1000,
  deliveryLeaseS: 120,
  deliveryLogDays: 90,
  retryBaseMs: 10_000,
  retryMaxMs: 15 * 60_000,
  retryAttempts: 6,
};

const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum }) as const;

/** JSON Schema of the block (part of the collector config's schema). */
export const ALARMS_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sweepIntervalS: int(1, 3600),
    edgeOfflineAfterS: int(1, 86_400),
    edgeSilentAfterS: int(1, 86_400),
    quarantineClearAfterS: int(1, 7 * 86_400),
    deliveryPollMs: int(50, 60_000),
    deliveryLeaseS: int(5, 3600),
    deliveryLogDays: int(1, 3650),
    retryBaseMs: int(10, 3_600_000),
    retryMaxMs: int(10, 86_400_000),
    retryAttempts: int(1, 100),
  },
} as const;
