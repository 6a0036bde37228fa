// Calls to the collector's /api/v1 with the bearer token. The token lives in sessionStorage (this tab only)
// and only ever travels in the Authorization header, never in a URL.
const TOKEN_KEY = 'yiwang.dashboard.token';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onUnauthorized = () => {};

export const getToken = () => sessionStorage.getItem(TOKEN_KEY) ?? '';
export const setToken = (t) => sessionStorage.setItem(TOKEN_KEY, t);
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);
/** Called when a request answers 401 after login (token revoked): the app returns to the login form. */
export const setUnauthorizedHandler = (fn) => (onUnauthorized = fn);

export function authHeaders(extra = {}, token = getToken()) {
  return { ...extra, authorization: `Bearer ${token}` };
}

/** Fetches an API path; throws ApiError with the server's message on any non-2xx answer. */
export async function api(path, { accept, signal, token, quiet401 = false } = {}) {
  let res;
  try {
    res = await fetch(path, { headers: authHeaders(accept ? { accept } : {}, token), signal, cache: 'no-store' });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(0, err?.message || 'network error');
  }
  if (!res.ok) {
    let message = res.statusText || `HTTP ${res.status}`;
    try {
      const body = await res.json();
      if (body?.error) message = body.error;
    } catch {
      /* not JSON: keep the status text */
    }
    if (res.status === 401 && !quiet401) onUnauthorized();
    throw new ApiError(res.status, message);
  }
  return res;
}

export async function apiJson(path, opts) {
  return (await api(path, { ...opts, accept: 'application/json' })).json();
}

/** JSON, or undefined when the endpoint answers 404 (missing data or an endpoint this collector lacks). */
export async function apiJsonOr404(path, opts) {
  try {
    return await apiJson(path, opts);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** Downloads an API resource as a file: fetched with the header, saved through a temporary object URL. */
export async function downloadFile(path, filename, accept) {
  const blob = await (await api(path, { accept })).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const qs = (params) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};
