// The short address forms installers and registrars type (`--address`, the 一机一档 CSV's 连接参数 / 接入地址) →
// a device's connection object for its protocol. Shared by `yiwang edge device add`, `yiwang collector device
// add` and the collector's CSV import.

export class AddressError extends Error {}

/** Turns an address into the protocol's connection object; AddressError for a malformed one. */
export function connectionFromAddress(protocol: string, address: string): Record<string, unknown> {
  const int = (v: string | undefined, dflt: number, what: string) => {
    if (v === undefined || v === '') return dflt;
    if (!/^\d+$/.test(v)) throw new AddressError(`--address: ${what} "${v}" is not a number`);
    return Number(v);
  };
  switch (protocol) {
    case 'modbus': {
      const [hostPort, unit] = address.split('#');
      if (hostPort!.startsWith('/dev/')) return { transport: 'rtu', serialPort: hostPort, unitId: int(unit, 1, 'unit id') };
      const [host, port] = hostPort!.split(':');
      return { transport: 'tcp', host, port: int(port, 502, 'port'), unitId: int(unit, 1, 'unit id') };
    }
    case 'opcua':
      return { endpoint: address };
    case 'mqtt':
      return { broker: 'local', topicId: address };
    case 'hj212':
      return { mn: address };
    case 'sl651':
      return { station: address };
    case 'onvif': {
      const [host, port] = address.split(':');
      return { host, port: int(port, 80, 'port') };
    }
    default:
      return { address };
  }
}

/** A connection given as a JSON object (`{"host": …}`) or as an address in the short form. */
export function parseConnection(protocol: string, text: string): Record<string, unknown> {
  const t = text.trim();
  if (!t.startsWith('{')) return connectionFromAddress(protocol, t);
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (err) {
    throw new AddressError(`not a valid JSON object: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AddressError('must be a JSON object');
  return v as Record<string, unknown>;
}
