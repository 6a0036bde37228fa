// A Modbus TCP device simulator (modbus-serial's ServerTCP): several unit ids behind one port, each a
// register map computed from the scenario at read time.
import ModbusRTU from 'modbus-serial';
import { freePort } from '../../core/net.js';

export type RegisterMap = (t: number) => { holding?: Record<number, number>; input?: Record<number, number>; coils?: Record<number, boolean> };

/** Splits a float32 into two registers (high word first unless lowWordFirst). */
export function float32Words(v: number, lowWordFirst = false): [number, number] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(v);
  const hi = b.readUInt16BE(0);
  const lo = b.readUInt16BE(2);
  return lowWordFirst ? [lo, hi] : [hi, lo];
}

export function uint32Words(v: number): [number, number] {
  return [Math.floor(v / 65536) & 0xffff, v & 0xffff];
}

export async function startModbusSimulator(units: Record<number, RegisterMap>, port?: number, host = '127.0.0.1') {
  const p = port ?? (await freePort(host));
  const read = (area: 'holding' | 'input', addr: number, unit: number): number => {
    const map = units[unit];
    if (!map) throw Object.assign(new Error('no such unit'), { modbusErrorCode: 11 });
    const v = map(Date.now())[area]?.[addr];
    if (v === undefined) throw Object.assign(new Error('illegal data address'), { modbusErrorCode: 2 });
    return v;
  };
  const vector = {
    getHoldingRegister: (addr: number, unit: number) => read('holding', addr, unit),
    getInputRegister: (addr: number, unit: number) => read('input', addr, unit),
    getCoil: (addr: number, unit: number) => units[unit]?.(Date.now()).coils?.[addr] ?? false,
    setRegister: () => undefined,
    setCoil: () => undefined,
  };
  const server = new ModbusRTU.ServerTCP(vector, { host, port: p, unitID: 255 });
  await new Promise<void>((resolve) => server.on('initialized', () => resolve()));
  return {
    port: p,
    host,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
