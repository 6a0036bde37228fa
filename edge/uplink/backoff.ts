// Reconnect delays: exponential backoff with full jitter, so many edges coming back after a shared outage
// (a city's power cut, a collector restart) spread their reconnects instead of arriving in one wave.

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
}

/** Delay before reconnect attempt `attempt` (0-based): uniform in [minMs, min(maxMs, minMs * 2^attempt)]. */
export function backoffDelay(attempt: number, { minMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(minMs + random() * Math.max(0, ceiling - minMs));
}
