// Password hashing for edge credentials: scrypt (node:crypto) with a random salt, compared in constant time.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

// N=2^14, r=8: ~30 ms per verification on the reference box; connects are rare, guesses are expensive.
const DEFAULTS = { N: 16384, r: 8, p: 1, keylen: 32 };

/** Hashes a secret as `scrypt$N$r$p$salt$key` (salt and key base64). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, DEFAULTS.keylen, { N: DEFAULTS.N, r: DEFAULTS.r, p: DEFAULTS.p, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${DEFAULTS.N}$${DEFAULTS.r}$${DEFAULTS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `secret` matches `hash`; false for wrong secrets and malformed hashes (never throws). */
export async function verifySecret(secret: string, hash: string): Promise<boolean> {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > 1 << 20) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (!expected.length) return false;
  try {
    const key = await scrypt(secret, salt, expected.length, { N, r, p, maxmem: 256 * 1024 * 1024 });
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

/** A random password for a new edge, printed once. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}
