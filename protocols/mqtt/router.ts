// Which device (and, for plain payloads, which point) a publication belongs to: every device's topic
// patterns are compiled once; a topic's captured {deviceId} is looked up among the devices' topic ids.
import type { DeviceProfile, PointDef } from '../../core/profiles.js';
import type { BrokerChoice } from './config.js';
import { sparkplugMatchPattern } from './sparkplug.js';
import { compileTopicPattern, type CompiledPattern } from './topics.js';

export type PayloadFormat = 'json' | 'plain' | 'sparkplugb';

export interface RoutedDevice {
  id: string;
  topicKey: string;        // connection.topicId ?? id: the {deviceId} value in its topics
  source: BrokerChoice;
  profile: DeviceProfile;
  format: PayloadFormat;
}

export interface RouteHit {
  device: RoutedDevice;
  point?: PointDef;        // plain format: the point this topic carries
}

interface PatternEntry {
  source: BrokerChoice;
  compiled: CompiledPattern;
  byKey: Map<string, RouteHit[]>;
}

/** The topic patterns a device listens on (Sparkplug: with the message-type level widened). */
export function devicePatterns(profile: DeviceProfile): { pattern: string; point?: PointDef }[] {
  const m = profile.mqtt;
  if (!m) return [];
  if (m.format === 'sparkplugb') return m.topic ? [{ pattern: sparkplugMatchPattern(m.topic) }] : [];
  if (m.format === 'json') return m.topic ? [{ pattern: m.topic }] : [];
  return profile.points
    .filter((p) => p.mqtt)
    .flatMap((p) => {
      const pattern = p.mqtt?.topic ?? m.topic;
      return pattern ? [{ pattern, point: p }] : [];
    });
}

export class TopicRouter {
  private readonly patterns = new Map<string, PatternEntry>();

  /** Adds a device's routes; throws when another device already uses the same topic id on one of its patterns. */
  add(device: RoutedDevice): void {
    const routes = devicePatterns(device.profile);
    for (const r of routes) {
      const other = this.patterns.get(`${device.source}|${r.pattern}`)?.byKey.get(device.topicKey)?.find((h) => h.device.id !== device.id);
      if (other) throw new Error(`topic id "${device.topicKey}" on ${r.pattern} is already used by device ${other.device.id}`);
    }
    for (const r of routes) {
      const key = `${device.source}|${r.pattern}`;
      let e = this.patterns.get(key);
      if (!e) {
        e = { source: device.source, compiled: compileTopicPattern(r.pattern), byKey: new Map() };
        this.patterns.set(key, e);
      }
      const hits = e.byKey.get(device.topicKey) ?? [];
      hits.push({ device, point: r.point });
      e.byKey.set(device.topicKey, hits);
    }
  }

  remove(deviceId: string): void {
    for (const [k, e] of this.patterns) {
      for (const [key, hits] of e.byKey) {
        const left = hits.filter((h) => h.device.id !== deviceId);
        if (left.length) e.byKey.set(key, left);
        else e.byKey.delete(key);
      }
      if (e.byKey.size === 0) this.patterns.delete(k);
    }
  }

  /** Devices a topic belongs to; unknownIds are captured ids no device claims. */
  resolve(source: BrokerChoice, topic: string): { hits: RouteHit[]; unknownIds: string[] } {
    const hits: RouteHit[] = [];
    const unknownIds: string[] = [];
    for (const e of this.patterns.values()) {
      if (e.source !== source) continue;
      const id = e.compiled.match(topic);
      if (id === undefined) continue;
      const h = e.byKey.get(id);
      if (h) hits.push(...h);
      else unknownIds.push(id);
    }
    return { hits, unknownIds: hits.length ? [] : [...new Set(unknownIds)] };
  }

  /** Subscription filters for one broker. Sparkplug patterns subscribe to the whole edge node (births, deaths). */
  filters(source: BrokerChoice): Set<string> {
    const out = new Set<string>();
    for (const e of this.patterns.values()) {
      if (e.source !== source) continue;
      const sample = e.byKey.values().next().value?.[0];
      if (sample?.device.format === 'sparkplugb') out.add(`${e.compiled.filter.split('/').slice(0, 4).join('/')}/#`);
      else out.add(e.compiled.filter);
    }
    return out;
  }

  hasSparkplug(source: BrokerChoice): boolean {
    for (const e of this.patterns.values()) {
      if (e.source === source && [...e.byKey.values()].some((h) => h[0]?.device.format === 'sparkplugb')) return true;
    }
    return false;
  }
}
