// Device topic patterns: "site/{deviceId}/data", with MQTT + and # wildcards elsewhere. A pattern compiles
// to the subscription filter a broker understands and a matcher that captures the device's topic id.

export const DEVICE_ID = '{deviceId}';

export class TopicPatternError extends Error {}

export interface CompiledPattern {
  pattern: string;
  /** The MQTT subscription filter: the {deviceId} level becomes +. */
  filter: string;
  /** The captured {deviceId}, or undefined when the topic does not match. */
  match(topic: string): string | undefined;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Compiles a pattern; throws TopicPatternError with the reason when it is not usable. */
export function compileTopicPattern(pattern: string): CompiledPattern {
  const levels = pattern.split('/');
  const idCount = pattern.split(DEVICE_ID).length - 1;
  if (idCount !== 1) throw new TopicPatternError(`topic "${pattern}": needs exactly one ${DEVICE_ID} (found ${idCount})`);
  const filter: string[] = [];
  let re = '';
  levels.forEach((level, i) => {
    const sep = i === 0 ? '' : '/';
    if (level === '#') {
      if (i !== levels.length - 1) throw new TopicPatternError(`topic "${pattern}": # must be the last level`);
      // "a/#" also matches "a" itself (MQTT 3.1.1 §4.7.1.2).
      re += i === 0 ? '.*' : '(?:/.*)?';
      filter.push('#');
      return;
    }
    if (level.includes('#')) throw new TopicPatternError(`topic "${pattern}": # must fill a whole level`);
    if (level === '+') {
      re += `${sep}[^/]*`;
      filter.push('+');
      return;
    }
    if (level.includes('+')) throw new TopicPatternError(`topic "${pattern}": + must fill a whole level`);
    if (level.includes(DEVICE_ID)) {
      const [before, after] = level.split(DEVICE_ID) as [string, string];
      re += `${sep}${escapeRe(before)}([^/]+?)${escapeRe(after)}`;
      filter.push('+');
      return;
    }
    re += sep + escapeRe(level);
    filter.push(level);
  });
  const rx = new RegExp(`^${re}$`);
  return {
    pattern,
    filter: filter.join('/'),
    match(topic) {
      // Wildcards never match topics starting with $ ($SYS) in their first level (MQTT 3.1.1 §4.7.2).
      if (topic.startsWith('$') && !pattern.startsWith('$')) return undefined;
      return rx.exec(topic)?.[1];
    },
  };
}

/** True when an MQTT subscription filter matches a topic (used for the broker's subscribe ACL). */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
