// API tokens on SQL: only a SHA-256 of each (high-entropy) token is stored.
import { TOKEN_ROLES, type Principal, type TokenInfo, type TokenRole, type TokenStore } from '../types.js';
import type { SqlDb } from './driver.js';

const roleOf = (r: string | null | undefined): TokenRole => (TOKEN_ROLES.includes(r as TokenRole) ? (r as TokenRole) : 'viewer');

export class SqlTokens implements TokenStore {
  constructor(private readonly db: SqlDb) {}

  async add(hash: string, info: { name: string; bureau?: string; admin?: boolean; role?: TokenRole }): Promise<void> {
    await this.db.run('INSERT INTO tokens (hash, name, bureau, admin, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      hash, info.name, info.bureau ?? null, info.admin ? 1 : 0, info.role ?? 'viewer', Date.now(),
    ]);
  }

  async resolve(hash: string): Promise<Principal | undefined> {
    const row = await this.db.get<{ name: string; bureau: string | null; admin: number; role: string }>('SELECT name, bureau, admin, role FROM tokens WHERE hash = $1', [hash]);
    if (!row) return undefined;
    // A bureau token without a bureau can match no device ("\0none" is never in a scope).
    return row.admin ? { name: row.name, admin: true } : { name: row.name, admin: false, bureau: row.bureau ?? '\u0000none', role: roleOf(row.role) };
  }

  async list(): Promise<TokenInfo[]> {
    const rows = await this.db.all<{ name: string; bureau: string | null; admin: number; role: string; created_at: number }>('SELECT name, bureau, admin, role, created_at FROM tokens ORDER BY created_at');
    return rows.map((t) => ({ name: t.name, bureau: t.bureau, admin: t.admin === 1, role: roleOf(t.role), createdAt: t.created_at }));
  }

  async revoke(name: string): Promise<number> {
    return (await this.db.run('DELETE FROM tokens WHERE name = $1', [name])).changes;
  }
}
