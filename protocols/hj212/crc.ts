// HJ 212-2017 Annex A CRC: CRC-16 with the reflected polynomial 0xA001, but the register is shifted
// right by 8 before each byte is XORed in (not CRC-16/MODBUS's byte order). Computed over the data segment.
import { CRC16_A001_TABLE as TABLE } from '../common/crc16.js';

// The 8 shift/XOR steps applied to a 16-bit register r equal (r >> 8) ^ TABLE[r & 0xFF] (XOR is linear),
// so the per-byte loop below is the Annex A bit loop, one table lookup per byte.
/** CRC of `data` (a latin1 string: one char per byte, or a Buffer) as the number the frame carries. */
export function hj212Crc(data: string | Uint8Array): number {
  let crc = 0xffff;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const byte = typeof data === 'string' ? data.charCodeAt(i) & 0xff : (data[i] as number);
    crc = (crc >> 8) ^ byte;
    crc = (crc >>> 8) ^ (TABLE[crc & 0xff] as number);
  }
  return crc;
}

/** The CRC as the frame writes it: 4 upper-case hex digits. */
export function hj212CrcHex(data: string | Uint8Array): string {
  return hj212Crc(data).toString(16).toUpperCase().padStart(4, '0');
}
