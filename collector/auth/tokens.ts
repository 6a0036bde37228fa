// Bearer tokens for the HTTP API. Each token belongs to one bureau or is an admin token; only a SHA-256 of
// the (32 random bytes) token is stored, which is enough for high-entropy secrets.
import { hashToken, newToken } from '../../core/http.js';
import { TOKEN_ROLES, type CollectorStore, type Principal, type TokenRole } from '../store/index.js';

export type { Principal };

export const BUREAU_RE = /^[a-z][a-z0-9_]*$/;

/** Creates a token and returns its plaintext (shown once; only the hash is kept). */
export async function createToken(store: CollectorStore, opts: { name: string; bureau?: string; admin?: boolean; role?: TokenRole | string }): Promise<string> {
  if (!opts.admin && !opts.bureau) throw new Error('a token needs a bureau (e.g. water) or admin');
  if (opts.admin && opts.bureau) throw new Error('a token is either a bureau token or an admin token, not both');
  if (opts.role !== undefined && !TOKEN_ROLES.includes(opts.role as TokenRole)) throw new Error(`role "${opts.role}" must be ${TOKEN_ROLES.join(' or ')}`);
  if (opts.admin && opts.role) throw new Error('--role applies to bureau tokens (an admin token may do everything)');
  if (opts.bureau && !BUREAU_RE.test(opts.bureau)) throw new Error(`bureau "${opts.bureau}" must be a lower-case name such as water`);
  const token = newToken('yw');
  await store.tokens.add(hashToken(token), { name: opts.name, bureau: opts.bureau, admin: opts.admin, role: opts.role as TokenRole | undefined });
  return token;
}

export function resolveToken(store: CollectorStore, token: string): Promise<Principal | undefined> {
  return store.tokens.resolve(hashToken(token));
}
