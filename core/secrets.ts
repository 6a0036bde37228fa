// Secrets stored hashed (edge credentials at the collector, field-device accounts at the edge's broker):
// scrypt from node:crypto, stored as `scrypt$N$r$p$saltB64$hashB64`, compared in constant time.
// Plain passwords never reach a config file or a log.
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}
const DEFAULT = { N: 16384, r: 8, p: 1, keyLen: 32, saltLen: 16 };
/**
 * Field-device accounts on the edge's broker: 2 MiB per check instead of 16 MiB, because a box with 1 GB has to
 * check a whole site's devices after a power cut. `yiwang edge mqtt-user add` generates 96-bit random passwords,
 * for which a cheaper KDF costs no real security; every stored hash records its own cost, so both verify.
 */
export const DEVICE_ACCOUNT_COST: ScryptCost = { N: 16384, r: 1, p: 1 };
// Bounds keep a hand-edited hash from turning every CONNECT into a memory/CPU bomb.
const MAX_N = 1 << 20;
const MAX_RP = 64;

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** Why a stored hash string cannot be used, or undefined when it is well-formed. */
export function hashProblem(stored: string): string | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return 'must look like scrypt$N$r$p$saltB64$hashB64';
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const N = Number(n);
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return `N=${n} must be a power of two in 2..${MAX_N}`;
  for (const [k, v] of [['r', r], ['p', p]] as const) {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1 || x > MAX_RP) return `${k}=${v} must be an integer in 1..${MAX_RP}`;
  }
  if (Buffer.from(salt, 'base64').length < 8) return 'salt must be at least 8 bytes (base64)';
  if (Buffer.from(hash, 'base64').length < 16) return 'hash must be at least 16 bytes (base64)';
  return undefined;
}

function parse(stored: string): ParsedHash | undefined {
  if (hashProblem(stored)) return undefined;
  const [, n, r, p, salt, hash] = stored.split('$') as [string, string, string, string, string, string];
  return { N: Number(n), r: Number(r), p: Number(p), salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

const maxmem = (h: { N: number; r: number; p: number }) => 128 * h.N * h.r * h.p + 32 * 1024 * 1024;

/** Hashes a secret with a fresh random salt (default cost N=2^14, r=8: 16 MiB and ~50 ms per check). */
export function hashSecret(plain: string, cost: ScryptCost = DEFAULT): string {
  const salt = randomBytes(DEFAULT.saltLen);
  const hash = scryptSync(plain, salt, DEFAULT.keyLen, { N: cost.N, r: cost.r, p: cost.p, maxmem: maxmem(cost) });
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** True when `plain` matches `stored`; false for a wrong secret or an unusable hash (never throws). */
export function verifySecret(plain: string, stored: string): boolean {
  const h = parse(stored);
  if (!h) return false;
  const got = scryptSync(plain, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: maxmem(h) });
  return timingSafeEqual(got, h.hash);
}

/** verifySecret without blocking the event loop (the broker checks every CONNECT this way). */
export function verifySecretAsync(plain: string, stored: string): Promise<boolean> {
  const h = parse(stored);
  if (!h) return Promise.resolve(false);
  return new Promise((resolve) => {
    scrypt(plain, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: maxmem(h) }, (err, got) => {
      resolve(!err && timingSafeEqual(got, h.hash));
    });
  });
}

/** A well-formed hash of a random secret: verified against for unknown user names so timing does not reveal them. */
export function dummyHash(): string {
  dummy ??= hashSecret(randomBytes(16).toString('hex'));
  return dummy;
}
let dummy: string | undefined;

/** A random password for a new edge or device account, printed once. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Checks logins against stored hashes with bounded concurrency, remembering successes. One scrypt check uses
 * 16 MiB: on a 1 GB edge box run them one at a time (glibc keeps the blocks of parallel checks for good); a
 * collector can afford libuv's four. A client that reconnects with the same password costs no scrypt.
 * The cache holds SHA-256(stored hash + password), never the password itself.
 */
export class SecretVerifier {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly known = new Set<string>();
  private readonly concurrency: number;
  private readonly maxCached: number;

  constructor(opts: { concurrency?: number; maxCached?: number } = {}) {
    this.concurrency = opts.concurrency ?? 1;
    this.maxCached = opts.maxCached ?? 10_000;
  }

  /** Checks running now. */
  get active(): number {
    return this.running;
  }

  async verify(plain: string, stored: string): Promise<boolean> {
    const key = createHash('sha256').update(stored).update('\0').update(plain).digest('base64');
    if (this.known.has(key)) return true;
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      const ok = await verifySecretAsync(plain, stored);
      if (ok) {
        if (this.known.size >= this.maxCached) this.known.clear();
        this.known.add(key);
      }
      return ok;
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
