// Encryption for configurations that carry device passwords (edge–cloud coordination):
//
// - sealed to an edge (in transit): X25519 key agreement between a fresh sender key and the edge's public key,
//   HKDF-SHA256 to an AES-256-GCM key. Only the edge that holds the private key can read it, whatever broker or
//   link the message crosses (an EMQX run by another team, a plain mqtt:// uplink).
// - a SecretBox (at rest): AES-256-GCM under the collector's own key, which lives in a file or an environment
//   variable, never in the database — a dump of the database alone reveals no password.
// Node's crypto does all of it (no dependency): these are the standard constructions, not new ones.
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const SEAL_INFO = Buffer.from('yiwang edge config v1');
const TAG = 16;

export interface EdgeKeyPair {
  /** Raw 32-byte X25519 public key (what the edge announces in EdgeStatus.config_key). */
  publicKey: Buffer;
  privateKey: KeyObject;
}

const rawPublic = (k: KeyObject): Buffer => Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url');
const publicFromRaw = (raw: Uint8Array): KeyObject => {
  if (raw.length !== 32) throw new Error(`an X25519 public key has 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
};

/** The edge's key pair: read from `file` (PKCS#8 PEM), or created there with mode 0600 on first use. */
export function loadOrCreateEdgeKey(file: string): EdgeKeyPair {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    const { privateKey } = generateKeyPairSync('x25519');
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const privateKey = createPrivateKey(readFileSync(file));
  if (privateKey.asymmetricKeyType !== 'x25519') throw new Error(`${file}: not an X25519 private key`);
  return { privateKey, publicKey: rawPublic(createPublicKey(privateKey)) };
}

export interface Sealed {
  senderKey: Buffer;
  nonce: Buffer;
  sealed: Buffer;
}

function sealKey(shared: Buffer, senderKey: Uint8Array, edgeKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([senderKey, edgeKey]), SEAL_INFO, 32));
}

/** Encrypts `plaintext` so that only the holder of `edgePublicKey`'s private key can read it; `aad` is bound to it. */
export function sealTo(edgePublicKey: Uint8Array, plaintext: Uint8Array, aad: string): Sealed {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const senderKey = rawPublic(publicKey);
  const shared = diffieHellman({ privateKey, publicKey: publicFromRaw(edgePublicKey) });
  const key = sealKey(shared, senderKey, edgePublicKey);
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad));
  const sealed = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return { senderKey, nonce, sealed };
}

/** Opens what sealTo made for this key pair; throws when it was sealed to another key or was changed. */
export function openSealed(own: EdgeKeyPair, s: { senderKey: Uint8Array; nonce: Uint8Array; sealed: Uint8Array }, aad: string): Buffer {
  const shared = diffieHellman({ privateKey: own.privateKey, publicKey: publicFromRaw(s.senderKey) });
  const key = sealKey(shared, s.senderKey, own.publicKey);
  if (s.sealed.length < TAG) throw new Error('sealed message too short');
  const d = createDecipheriv('aes-256-gcm', key, s.nonce);
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(s.sealed.subarray(s.sealed.length - TAG)));
  try {
    return Buffer.concat([d.update(s.sealed.subarray(0, s.sealed.length - TAG)), d.final()]);
  } catch {
    throw new Error('cannot open the sealed configuration: it was sealed to another key or changed on the way');
  }
}

// ---- at rest ----

const ENVELOPE = /^enc:v1:([0-9a-f]{8}):([A-Za-z0-9+/=]+)$/;

/** AES-256-GCM under one 32-byte key; values are `enc:v1:<key id>:<base64 nonce|ciphertext|tag>` strings. */
export class SecretBox {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error(`a secret key has 32 bytes, got ${key.length}`);
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  static isEnvelope(v: unknown): v is string {
    return typeof v === 'string' && ENVELOPE.test(v);
  }

  encrypt(plaintext: string): string {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([nonce, c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()]);
    return `enc:v1:${this.keyId}:${body.toString('base64')}`;
  }

  decrypt(envelope: string): string {
    const m = ENVELOPE.exec(envelope);
    if (!m) throw new Error('not an encrypted value');
    if (m[1] !== this.keyId) {
      throw new Error(`the value was encrypted with key ${m[1]}, but this collector has key ${this.keyId}: every collector node needs the same secrets key`);
    }
    const body = Buffer.from(m[2]!, 'base64');
    const d = createDecipheriv('aes-256-gcm', this.key, body.subarray(0, 12));
    d.setAuthTag(body.subarray(body.length - TAG));
    return Buffer.concat([d.update(body.subarray(12, body.length - TAG)), d.final()]).toString('utf8');
  }
}

/** A 32-byte key written as base64 (one line): from an env variable's value or a file. */
export function parseKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new Error(`${where}: must hold 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`), got ${key.length} bytes`);
  return key;
}

/** Reads the key file, or creates it (32 random bytes, base64, mode 0600) when `create` and it is missing. */
export function loadOrCreateKeyFile(file: string, create: boolean): Buffer {
  if (!existsSync(file)) {
    if (!create) throw new Error(`secrets key file ${file} does not exist`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return parseKey(readFileSync(file, 'utf8'), file);
}
