// The `dashboard:` block of the collector config: where the map's tiles come from (天地图 with its key, an internal
// tile server, or none) and the boundary GeoJSON drawn under the markers, which is also what the map shows when no
// tile server is reachable. resolveMapConfig turns it into what the browser gets from /dashboard/map.json.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { compileSchema, describeAjvError } from '../../core/config-file.js';

export interface TileSourceConfig {
  /** Shown in the layer switcher. */
  name: string;
  /** Leaflet URL template: {z} {x} {y}, {s} (subdomain), {key} (the value of keyEnv). */
  url: string;
  /** Subdomains substituted for {s}, e.g. "01234567" for 天地图 t0…t7. */
  subdomains?: string;
  /** Environment variable holding the tile key (天地图 `tk`). */
  keyEnv?: string;
  /** Datum the tiles are drawn in: wgs84 (default; also 天地图's CGCS2000 and most internal servers) or gcj02 (AMap, Tencent). */
  crs?: 'wgs84' | 'gcj02';
  attribution?: string;
  minZoom?: number;
  maxZoom?: number;
  /** A transparent layer drawn over the base layer (天地图 注记 labels). */
  overlay?: boolean;
}

export interface DashboardMapConfig {
  tiles?: TileSourceConfig[];
  /** GeoJSON file (FeatureCollection, Feature or geometry; WGS-84) with the area's boundary; relative to the config file. */
  boundary?: string;
  /** Initial view when there are no located devices: [longitude, latitude] and zoom. */
  center?: [number, number];
  zoom?: number;
}

export interface DashboardConfig {
  map?: DashboardMapConfig;
}

const TILE = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'url'],
  properties: {
    name: { type: 'string', minLength: 1 },
    url: { type: 'string', pattern: '^https?://[^\\s]+$' },
    subdomains: { type: 'string', minLength: 1 },
    keyEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    crs: { enum: ['wgs84', 'gcj02'] },
    attribution: { type: 'string' },
    minZoom: { type: 'integer', minimum: 0, maximum: 22 },
    maxZoom: { type: 'integer', minimum: 0, maximum: 22 },
    overlay: { type: 'boolean' },
  },
} as const;

/** JSON Schema of the `dashboard:` block. */
export const DASHBOARD_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'yiwang collector dashboard block',
  type: 'object',
  additionalProperties: false,
  properties: {
    map: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tiles: { type: 'array', items: TILE },
        boundary: { type: 'string', minLength: 1 },
        center: { type: 'array', minItems: 2, maxItems: 2, items: [{ type: 'number', minimum: -180, maximum: 180 }, { type: 'number', minimum: -90, maximum: 90 }] },
        zoom: { type: 'integer', minimum: 0, maximum: 22 },
      },
    },
  },
} as const;

const validate = compileSchema(DASHBOARD_CONFIG_SCHEMA);

/** Problems of a parsed `dashboard:` block, each `path: message` relative to the block. */
export function validateDashboardConfig(doc: unknown): { path: string; message: string }[] {
  if (validate(doc ?? {})) {
    const c = (doc ?? {}) as DashboardConfig;
    return (c.map?.tiles ?? []).flatMap((t, i) => {
      const out: { path: string; message: string }[] = [];
      if (t.url.includes('{key}') && !t.keyEnv) out.push({ path: `map.tiles[${i}].keyEnv`, message: 'the URL has {key}: name the environment variable holding the key' });
      if (/[?&](tk|key|token|ak)=[^{&]/i.test(t.url)) out.push({ path: `map.tiles[${i}].url`, message: 'do not write keys into the URL: use {key} and keyEnv' });
      if (t.minZoom !== undefined && t.maxZoom !== undefined && t.minZoom > t.maxZoom) out.push({ path: `map.tiles[${i}]`, message: 'minZoom is above maxZoom' });
      return out;
    });
  }
  return (validate.errors ?? []).map(describeAjvError).map((p) => ({ path: p.path.replace(/\.(\d+)(?=\.|$)/g, '[$1]'), message: p.message }));
}

/** What the browser gets from /dashboard/map.json. */
export interface MapClientConfig {
  tiles: { name: string; url: string; subdomains?: string; crs: 'wgs84' | 'gcj02'; attribution?: string; minZoom?: number; maxZoom?: number; overlay: boolean }[];
  boundary: GeoJsonObject | null;
  center?: [number, number];
  zoom?: number;
}

export interface ResolvedMap {
  client: MapClientConfig;
  /** Origins the page loads tiles from: added to the CSP's img-src. */
  tileOrigins: string[];
  /** True when a tile key is in the client config (then map.json must only go to signed-in users). */
  hasSecrets: boolean;
}

type GeoJsonObject = { type: string; [k: string]: unknown };

const MAX_BOUNDARY_BYTES = 5 * 1024 * 1024;
const GEOMETRY_TYPES = new Set(['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon', 'GeometryCollection']);

/** Reads and checks a boundary file: a GeoJSON FeatureCollection, Feature or geometry, at most 5 MiB. */
export function loadBoundary(file: string): GeoJsonObject {
  const size = statSync(file).size;
  if (size > MAX_BOUNDARY_BYTES) throw new Error(`${file}: ${size} bytes; simplify the boundary below ${MAX_BOUNDARY_BYTES} bytes (e.g. mapshaper -simplify 10%)`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not JSON: ${(err as Error).message}`);
  }
  const g = doc as GeoJsonObject;
  const ok = g && typeof g === 'object' && (g.type === 'FeatureCollection' ? Array.isArray(g.features) : g.type === 'Feature' ? typeof g.geometry === 'object' : GEOMETRY_TYPES.has(g.type));
  if (!ok) throw new Error(`${file}: not a GeoJSON FeatureCollection, Feature or geometry`);
  return g;
}

/** Every origin a tile template can expand to ({s} over the subdomains). */
export function tileOrigins(url: string, subdomains = 'abc'): string[] {
  const hosts = url.includes('{s}') ? [...subdomains].map((s) => url.replaceAll('{s}', s)) : [url];
  return [...new Set(hosts.map((u) => new URL(u.replace(/\{[a-z]+\}/gi, '0')).origin))];
}

/**
 * The client config with keys filled in from `env` and the boundary read from disk (paths relative to `baseDir`).
 * Throws on a missing key or an unreadable boundary, so a misconfigured map fails at start, not in the browser.
 */
export function resolveMapConfig(map: DashboardMapConfig | undefined, env: NodeJS.ProcessEnv = process.env, baseDir = process.cwd()): ResolvedMap {
  const tiles: MapClientConfig['tiles'] = [];
  const origins = new Set<string>();
  let hasSecrets = false;
  for (const t of map?.tiles ?? []) {
    let url = t.url;
    if (t.keyEnv) {
      const key = env[t.keyEnv];
      if (!key) throw new Error(`dashboard.map.tiles "${t.name}": environment variable ${t.keyEnv} is not set`);
      url = url.replaceAll('{key}', encodeURIComponent(key));
      hasSecrets = true;
    }
    for (const o of tileOrigins(url, t.subdomains)) origins.add(o);
    tiles.push({ name: t.name, url, crs: t.crs ?? 'wgs84', overlay: t.overlay ?? false, ...(t.subdomains ? { subdomains: t.subdomains } : {}), ...(t.attribution ? { attribution: t.attribution } : {}), ...(t.minZoom !== undefined ? { minZoom: t.minZoom } : {}), ...(t.maxZoom !== undefined ? { maxZoom: t.maxZoom } : {}) });
  }
  const boundary = map?.boundary ? loadBoundary(isAbsolute(map.boundary) ? map.boundary : resolve(baseDir, map.boundary)) : null;
  return { client: { tiles, boundary, ...(map?.center ? { center: map.center } : {}), ...(map?.zoom !== undefined ? { zoom: map.zoom } : {}) }, tileOrigins: [...origins], hasSecrets };
}
