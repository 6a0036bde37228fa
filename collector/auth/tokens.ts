// Bearer tokens for the HTTP API. Each token belongs to one bureau or is an admin token; only a SHA-256 of
// the (32 random bytes) token is stored, which is enough for high-entropy secrets.
import { hashToken, newToken } from '../../core/http.js';
import type { Store } from '../store/index.js';

export interface Principal {
  name: string;
  admin: boolean;
  bureau?: string; // undefined for admins: they see every device
}

export const BUREAU_RE = /^[a-z][a-z0-9_]*$/;

/** Creates a token and returns its plaintext (shown once; only the hash is kept). */
export function createToken(store: Store, opts: { name: string; bureau?: string; admin?: boolean }): string {
  if (!opts.admin && !opts.bureau) throw new Error('a token needs a bureau (e.g. water) or admin');
  if (opts.admin && opts.bureau) throw new Error('a token is either a bureau token or an admin token, not both');
  if (opts.bureau && !BUREAU_RE.test(opts.bureau)) throw new Error(`bureau "${opts.bureau}" must be a lower-case name such as water`);
  const token = newToken('yw');
  store.db
    .prepare('INSERT INTO tokens (hash, name, bureau, admin, created_at) VALUES (?, ?, ?, ?, ?)')
    .run(hashToken(token), opts.name, opts.bureau ?? null, opts.admin ? 1 : 0, Date.now());
  return token;
}

export function resolveToken(store: Store, token: string): Principal | undefined {
  const row = store.db
    .prepare<[string], { name: string; bureau: string | null; admin: number }>('SELECT name, bureau, admin FROM tokens WHERE hash = ?')
    .get(hashToken(token));
  if (!row) return undefined;
  return row.admin ? { name: row.name, admin: true } : { name: row.name, admin: false, bureau: row.bureau ?? '\u0000none' };
}

export function listTokens(store: Store): { name: string; bureau: string | null; admin: boolean; createdAt: number }[] {
  return store.db
    .prepare<[], { name: string; bureau: string | null; admin: number; created_at: number }>('SELECT name, bureau, admin, created_at FROM tokens ORDER BY created_at')
    .all()
    .map((t) => ({ name: t.name, bureau: t.bureau, admin: t.admin === 1, createdAt: t.created_at }));
}

export function revokeTokens(store: Store, name: string): number {
  return store.db.prepare('DELETE FROM tokens WHERE name = ?').run(name).changes;
}
