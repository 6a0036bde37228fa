// Device passwords in desired edge configurations: encrypted at rest under the collector's secrets key (a file or
// an environment variable, never the database), masked in every API answer, decrypted only to seal a
// configuration to its edge. Secrets are the string values of `password` keys anywhere in the document.
import { isAbsolute, join, resolve } from 'node:path';
import { loadOrCreateKeyFile, parseKey, SecretBox } from '../../core/seal.js';
import { isPostgresUrl } from '../store/index.js';
import { isSecretKey, mapSecrets, SECRET_MASK, type CentralConfig } from '../../edge/central-config.js';
import type { ConfigProblem } from '../../schema/types.js';
import type { CollectorConfig } from '../config.js';

export { SECRET_MASK };

/**
 * The secrets key, loaded on first use: `secrets.keyEnv`, else `secrets.keyFile`, else `<dataDir>/secrets.key`
 * (created when missing, SQLite store only — a cluster's nodes must share one key, so PostgreSQL needs it set).
 */
export function secretsKeyLoader(cfg: Pick<CollectorConfig, 'secrets' | 'dataDir' | 'store' | 'baseDir'>): () => SecretBox {
  let box: SecretBox | undefined;
  return () => {
    if (box) return box;
    const s = cfg.secrets ?? {};
    if (s.keyEnv) {
      const v = process.env[s.keyEnv];
      if (v === undefined) throw new Error(`secrets.keyEnv: environment variable ${s.keyEnv} is not set (put it in collector.env)`);
      box = new SecretBox(parseKey(v, `environment variable ${s.keyEnv}`));
    } else if (s.keyFile) {
      box = new SecretBox(loadOrCreateKeyFile(isAbsolute(s.keyFile) ? s.keyFile : resolve(cfg.baseDir, s.keyFile), false));
    } else {
      if (isPostgresUrl(cfg.store)) {
        throw new Error('device passwords in edge configurations need secrets.keyFile or secrets.keyEnv in collector.yaml when the store is PostgreSQL: every collector node must use the same key (e.g. `openssl rand -base64 32 > /etc/yiwang/secrets.key`)');
      }
      box = new SecretBox(loadOrCreateKeyFile(join(cfg.dataDir, 'secrets.key'), true));
    }
    return box;
  };
}

/** Where each secret is, by device id rather than list position (a device keeps its password when the list is reordered). */
function secretsByPlace(doc: CentralConfig): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (node: unknown, place: string) => {
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${place}[${(v as { id?: unknown })?.id ?? i}]`));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (isSecretKey(k) && typeof v === 'string') out.set(`${place}.${k}`, v);
        else walk(v, `${place}.${k}`);
      }
    }
  };
  walk(doc, '');
  return out;
}

function placeOf(doc: CentralConfig, path: string): string {
  // "devices[2].connection.password" → ".devices[WL-02].connection.password"
  return `.${path}`.replace(/^\.devices\[(\d+)\]/, (_, i: string) => `.devices[${doc.devices?.[Number(i)]?.id ?? i}]`);
}

/**
 * The incoming document with every secret encrypted: the mask keeps the stored value at the same place, an
 * unchanged password keeps its stored envelope (no spurious new version), a new one is encrypted.
 */
export function encryptSecrets(incoming: CentralConfig, stored: CentralConfig | undefined, box: () => SecretBox): { doc: CentralConfig; problems: ConfigProblem[] } {
  const before = stored ? secretsByPlace(stored) : new Map<string, string>();
  const problems: ConfigProblem[] = [];
  const doc = mapSecrets(incoming, (value, path) => {
    const prev = before.get(placeOf(incoming, path));
    if (value === SECRET_MASK) {
      if (prev !== undefined) return prev;
      problems.push({ path, message: `"${SECRET_MASK}" keeps the stored password, but none is stored here: give the password` });
      return value;
    }
    if (SecretBox.isEnvelope(value)) return value;
    if (prev !== undefined && SecretBox.isEnvelope(prev) && box().decrypt(prev) === value) return prev;
    return box().encrypt(value);
  });
  return { doc, problems };
}

/** For API answers: no secret ever leaves, encrypted or not. */
export const maskSecrets = (doc: CentralConfig): CentralConfig => mapSecrets(doc, () => SECRET_MASK);

/** For sealing to the edge: the passwords as the edge needs them. */
export const decryptSecrets = (doc: CentralConfig, box: () => SecretBox): CentralConfig => mapSecrets(doc, (v) => (SecretBox.isEnvelope(v) ? box().decrypt(v) : v));
