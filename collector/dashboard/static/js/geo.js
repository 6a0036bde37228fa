// Coordinates for map tiles. Device records hold WGS-84 (GPS). 天地图 tiles are CGCS2000, which is within
// centimetres of WGS-84, so records go on them unchanged. AMap (高德) and Tencent tiles are drawn in GCJ-02, the
// obfuscated "Mars" system required for public maps in China: on them a WGS-84 point must be shifted first or it
// lands 100–700 m off. This is the published GCJ-02 forward transform (Krasovsky 1940 ellipsoid). Baidu tiles use
// BD-09 on top of their own tile grid and are not supported.

const A = 6378245.0; // Krasovsky semi-major axis
const EE = 0.00669342162296594323; // Krasovsky first eccentricity squared

/** GCJ-02 only applies inside mainland China; elsewhere it equals WGS-84 (coarse box, as every implementation uses). */
export function outOfChina(lon, lat) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function dLat(x, y) {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return r;
}

function dLon(x, y) {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return r;
}

/** WGS-84 [lon, lat] → GCJ-02 [lon, lat]. */
export function wgs84ToGcj02(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  const radLat = (lat / 180) * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  const la = (dLat(lon - 105, lat - 35) * 180) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  const lo = (dLon(lon - 105, lat - 35) * 180) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [lon + lo, lat + la];
}

/** The coordinate transform for a tile source's datum: identity for wgs84 (and CGCS2000), the GCJ-02 shift for gcj02. */
export function projectorFor(crs) {
  return crs === 'gcj02' ? wgs84ToGcj02 : (lon, lat) => [lon, lat];
}
