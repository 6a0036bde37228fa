// Client of the running agent's admin HTTP API for the CLI (`edge status`, `device test`, `doctor`): finds the
// agent through the config (admin host/port) and its local token file (<buffer dir>/admin.token).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ADMIN_PORT, loadEdgeConfig, resolvePaths } from './config.js';

/** Nobody answers: the agent is not running (or never ran with this config). */
export class AgentNotRunning extends Error {}

/** Calls the running agent's admin API with the local admin token (`body` sent as JSON); AgentNotRunning when nobody answers. */
export async function adminCall(file: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const cfg = loadEdgeConfig(file);
  const { bufferDir } = resolvePaths(cfg, file);
  const tokenFile = join(bufferDir, 'admin.token');
  let token = process.env.YIWANG_ADMIN_TOKEN;
  try {
    token ??= readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AgentNotRunning(`no admin token at ${tokenFile}: has the agent ever started with this config?`);
    throw new Error(`cannot read the admin token ${tokenFile} (${code}): run this as the user the agent runs as (sudo -u yiwang ...)`);
  }
  const host = cfg.admin?.host && cfg.admin.host !== '0.0.0.0' ? cfg.admin.host : '127.0.0.1';
  const url = `http://${host}:${cfg.admin?.port ?? DEFAULT_ADMIN_PORT}${path}`;
  let res: Response;
  try {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new AgentNotRunning(`the edge agent is not answering on ${url} (${(err as Error).cause ?? (err as Error).message}); is it running?`);
  }
  const answer = (await res.json()) as { error?: string };
  if (!res.ok) throw Object.assign(new Error(answer.error ?? `HTTP ${res.status}`), { status: res.status });
  return answer;
}

