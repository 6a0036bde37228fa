// CRC-16 with the reflected polynomial 0xA001 (CRC-16/MODBUS arithmetic), shared by the protocols that
// use it: SL 651 and Modbus RTU run it as is; HJ 212 Annex A steps the register differently but uses
// the same table.

/** TABLE[i] is the 8 shift/XOR steps of the 0xA001 bit loop applied to the byte i. */
export const CRC16_A001_TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let b = 0; b < 8; b++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-16/MODBUS (init 0xFFFF, reflected polynomial 0xA001, no final XOR) of data[start, end). */
export function crc16Modbus(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ (CRC16_A001_TABLE[(crc ^ (data[i] as number)) & 0xff] as number);
  return crc;
}
