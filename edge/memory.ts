// Memory settings of the edge process (a 1-2 GB box; target: 1,000 devices in ~100 MB).
import mqttPacket from 'mqtt-packet';

/**
 * mqtt-packet (used by both mqtt.js and aedes) pre-builds 65,536 two-byte Buffers for packet ids on its first
 * packet: ~6 MB of heap for a lookup that saves a 2-byte allocation per packet. The edge prefers the memory.
 */
export function tuneForSmallMemory(): void {
  mqttPacket.writeToStream.cacheNumbers = false;
}
