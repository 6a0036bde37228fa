// What every API route module shares: the handler signature, the caller, and the bureau-scope check.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/tokens.js';
import { visibleTo } from '../store/records.js';
import type { DeviceRow } from '../store/index.js';
import type { ApiContext } from './context.js';
import { HttpError, notFound } from './http.js';

export interface Caller extends Principal {
  /** SHA-256 of the bearer token: long-lived responses re-check it (revocation). */
  tokenHash: string;
}

export type Handler = (ctx: ApiContext, who: Caller, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, params: string[]) => Promise<void> | void;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const requireAdmin = (who: Principal) => {
  if (!who.admin) throw new HttpError(403, 'admin token required');
};
/** Acknowledging alarms and managing a bureau's notification rules: operator tokens (and admins). */
export const requireOperator = (who: Principal) => {
  if (!who.admin && who.role !== 'operator') throw new HttpError(403, 'operator token required (this token is a viewer)');
};

const auditNotes = new WeakMap<ServerResponse, Record<string, unknown>>();

/**
 * Adds details to this request's audit log entry. Every request that changes something (not GET) is audited;
 * a GET is audited too once its handler notes something (remote diagnostics, reading an edge's logs).
 */
export function noteForAudit(res: ServerResponse, detail: Record<string, unknown>): void {
  auditNotes.set(res, { ...auditNotes.get(res), ...detail });
}

export const auditNoteOf = (res: ServerResponse): Record<string, unknown> | undefined => auditNotes.get(res);

/** The device row if the caller may see it; otherwise 404. */
export async function visibleDevice(ctx: ApiContext, who: Principal, id: string): Promise<DeviceRow> {
  const row = await ctx.store.registry.row(id);
  if (!row || !visibleTo(row, who.bureau)) throw notFound();
  return row;
}

