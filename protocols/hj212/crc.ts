// HJ 212-2017 Annex A CRC: CRC-16 with the reflected polynomial 0xA001, but the register is shifted
// right by 8 before each byte is XORed in (not CRC-16/MODBUS's byte order). Computed over the data segment.

/** CRC of `data` (a latin1 string: one char per byte, or a Buffer) as the number the frame carries. */
export function hj212Crc(data: string | Uint8Array): number {
  let crc = 0xffff;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const byte = typeof data === 'string' ? data.charCodeAt(i) & 0xff : (data[i] as number);
    crc = (crc >> 8) ^ byte;
    for (let b = 0; b < 8; b++) {
      const lsb = crc & 1;
      crc >>= 1;
      if (lsb) crc ^= 0xa001;
    }
  }
  return crc;
}

/** The CRC as the frame writes it: 4 upper-case hex digits. */
export function hj212CrcHex(data: string | Uint8Array): string {
  return hj212Crc(data).toString(16).toUpperCase().padStart(4, '0');
}
