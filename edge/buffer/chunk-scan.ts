// Counts the readings of a stored chunk per device without a full protobuf decode: dropping a chunk
// under pressure must stay cheap even when the buffer overflows at full ingest rate.

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('chunk scan: truncated varint');
    value += (b & 127) * mul;
    if (b < 128) return [value, pos];
    mul *= 128;
  }
}

function skipField(buf: Uint8Array, pos: number, wire: number): number {
  switch (wire) {
    case 0:
      return readVarint(buf, pos)[1];
    case 1:
      return pos + 8;
    case 2: {
      const [len, p] = readVarint(buf, pos);
      return p + len;
    }
    case 5:
      return pos + 4;
    default:
      throw new Error(`chunk scan: unsupported wire type ${wire}`);
  }
}

/** deviceId -> number of readings (Batch field 5) in a chunk payload. */
export function countReadingsByDevice(payload: Buffer): Map<string, number> {
  const counts = new Map<string, number>();
  let pos = 0;
  while (pos < payload.length) {
    const [key, p] = readVarint(payload, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 5 && wire === 2) {
      const [len, start] = readVarint(payload, p);
      const end = start + len;
      let device = '';
      let q = start;
      while (q < end) {
        const [k, q2] = readVarint(payload, q);
        if (k === 0x0a) {
          const [slen, s] = readVarint(payload, q2);
          device = payload.toString('utf8', s, s + slen);
          break;
        }
        q = skipField(payload, q2, k & 7);
      }
      counts.set(device, (counts.get(device) ?? 0) + 1);
      pos = end;
    } else {
      pos = skipField(payload, p, wire);
    }
  }
  return counts;
}
