// The site map: Leaflet (served by the collector from node_modules, no CDN) with zoom, pan and marker clustering.
// Tiles come from the configured tile source (/dashboard/map.json: 天地图 with its key, an internal tile server, …).
// When no tile server is configured or none answers, the map still shows the place: the configured boundary
// GeoJSON, the device markers and a scale bar, with a note that it is the offline map.
// Devices are WGS-84; on GCJ-02 tiles (AMap/Tencent) every coordinate is shifted first (geo.js).
import { h, s } from './dom.js';
import { projectorFor } from './geo.js';
import { health } from './state.js';
import { label, reasonText, t } from './i18n.js';

const L = globalThis.L; // leaflet.js and leaflet.markercluster.js are classic scripts loaded before the modules
const HEALTH_RANK = { online: 0, unknown: 1, degraded: 2, offline: 3 };
/** A tile layer that failed this many tiles without loading one is taken as unreachable. */
const OFFLINE_AFTER_ERRORS = 3;

/**
 * How a device's marker is coloured: { key, rank, label }. `key` becomes the class `h-<key>` (styled for the health
 * states and for the alarm severities info/warning/major/critical), `rank` picks a cluster's colour (the worst),
 * `label` goes into the tooltip. Replace it with setMarkerColor (e.g. by the device's worst active alarm).
 */
let colorOf = (d) => {
  const key = health(d.runtimeStatus);
  return { key, rank: HEALTH_RANK[key] ?? 0, label: label('status', d.runtimeStatus || 'unknown') };
};

/** Sets the colour function for markers and clusters (later maps and refresh() use it). */
export function setMarkerColor(fn) {
  colorOf = fn;
}

// Leaflet writes attributions as HTML; ours come from the config and are shown as text.
const escapeHtml = (v) => String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const located = (d) => Number.isFinite(d.location?.longitude) && Number.isFinite(d.location?.latitude);

function shape(kind) {
  if (kind === 'camera') return s('svg', { viewBox: '-10 -10 20 20', width: 20, height: 20 }, s('rect', { x: -6, y: -6, width: 12, height: 12, transform: 'rotate(45)' }));
  if (kind === 'station') return s('svg', { viewBox: '-10 -10 20 20', width: 20, height: 20 }, s('path', { d: 'M0,-8L7.5,6H-7.5Z' }));
  return s('svg', { viewBox: '-10 -10 20 20', width: 20, height: 20 }, s('circle', { r: 7 }));
}

/**
 * Creates the map of `devices` (DeviceRecords). Returns { el, placed, mount(), refresh(), setFilter(ids), select(id),
 * destroy() }. Call mount() once `el` is in the document (Leaflet measures its container).
 */
export function createMap(devices, { onSelect, selected, config = {} } = {}) {
  const placed = devices.filter(located);
  const canvas = h('div', { class: 'map-canvas', role: 'application', 'aria-label': t('map') });
  const note = h('div', { class: 'map-note', hidden: true });
  const el = h('div', { class: 'map' }, canvas, note);
  const tiles = config.tiles ?? [];
  const bases = tiles.filter((x) => !x.overlay);
  let map;
  let clusters;
  let boundaryLayer;
  let datum = bases[0]?.crs ?? 'wgs84';
  let project = projectorFor(datum);
  const markers = new Map(); // id → { marker, d }
  let filterIds;
  let selectedId = selected;

  const latLng = (lon, lat) => {
    const [x, y] = project(lon, lat);
    return L.latLng(y, x);
  };

  function setOffline(offline, reason) {
    el.dataset.offline = offline ? 'true' : 'false';
    el.classList.toggle('map-offline', offline);
    note.hidden = !offline;
    note.textContent = offline ? `${t(reason)}${config.boundary ? ` ${t('mapOfflineBoundary')}` : ''}` : '';
  }

  function icon(d, c) {
    const dim = filterIds && !filterIds.has(d.id);
    return L.divIcon({ html: shape(d.kind), className: ['dev-marker', `kind-${d.kind || 'sensor'}`, `h-${c.key}`, dim && 'dim', d.id === selectedId && 'selected'].filter(Boolean).join(' '), iconSize: [20, 20] });
  }

  function decorate(entry) {
    const e = entry.marker.getElement();
    if (!e) return;
    const c = colorOf(entry.d);
    e.dataset.device = entry.d.id;
    e.dataset.health = c.key;
    e.setAttribute('aria-label', `${entry.d.name || entry.d.id} · ${label('kind', entry.d.kind)} · ${c.label}`);
  }

  function tooltipText(d) {
    const c = colorOf(d);
    return `${d.name || d.id} · ${label('kind', d.kind)} · ${c.label}${d.statusReason ? ` (${reasonText(d.statusReason)})` : ''}${d.site?.name ? ` · ${d.site.name}` : ''}`;
  }

  function clusterIcon(cluster) {
    const children = cluster.getAllChildMarkers();
    let worst = { key: 'unknown', rank: -1 };
    for (const m of children) {
      const c = colorOf(m.options.device);
      if (c.rank > worst.rank) worst = c;
    }
    return L.divIcon({ html: h('div', { 'data-worst': worst.key }, h('span', {}, String(children.length))), className: `map-cluster h-${worst.key}`, iconSize: [36, 36] });
  }

  function drawBoundary() {
    boundaryLayer?.remove();
    boundaryLayer = undefined;
    if (!config.boundary) return;
    boundaryLayer = L.geoJSON(config.boundary, {
      coordsToLatLng: (c) => latLng(c[0], c[1]),
      style: () => ({ className: 'boundary', weight: 2 }),
      pointToLayer: (_f, ll) => L.circleMarker(ll, { className: 'boundary-point', radius: 3 }),
      onEachFeature: (f, layer) => {
        const name = f.properties?.name;
        if (name) layer.bindTooltip(String(name), { permanent: true, direction: 'center', className: 'boundary-label' });
      },
    }).addTo(map);
    boundaryLayer.bringToBack();
  }

  function placeMarkers() {
    clusters.clearLayers();
    markers.clear();
    for (const d of placed) {
      const c = colorOf(d);
      const marker = L.marker(latLng(d.location.longitude, d.location.latitude), { icon: icon(d, c), keyboard: true, riseOnHover: true, device: d });
      const entry = { marker, d };
      marker.bindTooltip(tooltipText(d), { direction: 'top', offset: [0, -8] });
      marker.on('click', () => onSelect?.(d.id));
      marker.on('keypress', (e) => (e.originalEvent.key === 'Enter' || e.originalEvent.key === ' ') && onSelect?.(d.id));
      marker.on('add', () => decorate(entry));
      markers.set(d.id, entry);
    }
    clusters.addLayers([...markers.values()].map((m) => m.marker));
  }

  function fitView() {
    const pts = placed.map((d) => latLng(d.location.longitude, d.location.latitude));
    if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.15), { maxZoom: 16 });
    else if (boundaryLayer) map.fitBounds(boundaryLayer.getBounds());
    else if (config.center) map.setView(latLng(config.center[0], config.center[1]), config.zoom ?? 12);
    else map.setView([35, 105], 4); // all of China
  }

  function watchTiles(layer) {
    let loaded = 0;
    let errors = 0;
    layer.on('tileload', () => {
      loaded++;
      el.dataset.tilesLoaded = String(loaded);
      if (el.dataset.offline === 'true') setOffline(false);
    });
    layer.on('tileerror', () => {
      errors++;
      if (!loaded && errors >= OFFLINE_AFTER_ERRORS) setOffline(true, 'mapTilesUnreachable');
    });
  }

  const api = {
    el,
    placed,
    mount() {
      if (map || !L) return;
      // maxZoom on the map itself: without a tile layer (no tiles configured) clustering needs it.
      map = L.map(canvas, { zoomControl: true, attributionControl: true, preferCanvas: false, worldCopyJump: false, maxZoom: 18 });
      map.attributionControl.setPrefix(false); // no external link to leafletjs.com in an offline control room
      L.control.scale({ imperial: false }).addTo(map);
      const baseLayers = {};
      const overlays = {};
      for (const src of tiles) {
        const layer = L.tileLayer(src.url, { subdomains: src.subdomains ?? 'abc', attribution: escapeHtml(src.attribution ?? ''), minZoom: src.minZoom ?? 0, maxZoom: src.maxZoom ?? 18, datum: src.crs ?? 'wgs84' });
        if (src.overlay) overlays[src.name] = layer;
        else {
          baseLayers[src.name] = layer;
          watchTiles(layer);
        }
      }
      const first = Object.values(baseLayers)[0];
      if (first) first.addTo(map);
      for (const o of Object.values(overlays)) o.addTo(map);
      if (Object.keys(baseLayers).length > 1 || Object.keys(overlays).length) L.control.layers(baseLayers, overlays).addTo(map);
      setOffline(!first, 'mapNoTiles');
      clusters = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 48, spiderfyOnMaxZoom: true, iconCreateFunction: clusterIcon });
      map.addLayer(clusters);
      drawBoundary();
      placeMarkers();
      fitView();
      const syncView = () => {
        const c = map.getCenter();
        canvas.dataset.zoom = String(map.getZoom());
        canvas.dataset.center = `${c.lng.toFixed(5)},${c.lat.toFixed(5)}`;
      };
      map.on('moveend zoomend', syncView);
      syncView();
      // A base layer in another datum moves every coordinate (GCJ-02 tiles vs WGS-84 records).
      map.on('baselayerchange', (e) => {
        const next = e.layer.options.datum ?? 'wgs84';
        if (next === datum) return;
        datum = next;
        project = projectorFor(datum);
        drawBoundary();
        placeMarkers();
      });
    },
    /** Recolours markers and clusters (runtime status or alarms changed). */
    refresh() {
      if (!map) return;
      for (const entry of markers.values()) {
        entry.marker.setIcon(icon(entry.d, colorOf(entry.d)));
        entry.marker.setTooltipContent(tooltipText(entry.d));
        decorate(entry);
      }
      clusters.refreshClusters();
    },
    /** Dims devices not in `ids` (a Set) instead of re-fitting, so the map does not jump while typing a filter. */
    setFilter(ids) {
      filterIds = ids;
      api.refresh();
    },
    select(id) {
      selectedId = id;
      api.refresh();
    },
    destroy() {
      map?.remove();
      map = undefined;
    },
  };
  if (!placed.length) el.append(h('p', { class: 'map-empty muted' }, t('mapEmpty')));
  return api;
}
