// WS-Discovery (ONVIF Core §7): one Probe for dn:NetworkVideoTransmitter sent to each target (default the
// multicast group 239.255.255.250:3702; a unicast "host:port" works where multicast does not, e.g. tests),
// collecting ProbeMatch answers until the timeout.
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import type { DiscoveredDevice } from '../adapter.js';

export function probeMessage(messageId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">' +
    `<s:Header><a:MessageID>urn:uuid:${messageId}</a:MessageID>` +
    '<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>' +
    '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>' +
    '<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>'
  );
}

const tag = (xml: string, name: string): string | undefined =>
  new RegExp(`<(?:\\w+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:\\w+:)?${name}>`).exec(xml)?.[1]?.trim();

/** One ProbeMatch → device; undefined if the datagram is not a ProbeMatch answering our message. */
export function parseProbeMatch(xml: string, messageId: string): DiscoveredDevice | undefined {
  if (!/ProbeMatches/.test(xml)) return undefined;
  const relates = tag(xml, 'RelatesTo');
  if (relates && !relates.includes(messageId)) return undefined;
  const xaddrs = (tag(xml, 'XAddrs') ?? '').split(/\s+/).filter(Boolean);
  const scopes = (tag(xml, 'Scopes') ?? '').split(/\s+/).filter(Boolean);
  const endpoint = tag(tag(xml, 'EndpointReference') ?? '', 'Address');
  const address = xaddrs[0];
  if (!address) return undefined;
  const scope = (kind: string) => {
    const s = scopes.find((x) => x.startsWith(`onvif://www.onvif.org/${kind}/`));
    return s ? decodeURIComponent(s.slice(`onvif://www.onvif.org/${kind}/`.length)) : undefined;
  };
  return {
    protocol: 'onvif',
    address,
    name: scope('name'),
    details: { xaddrs, scopes, hardware: scope('hardware'), endpoint, types: tag(xml, 'Types') },
  };
}

export async function wsDiscover(targets: string[], timeoutMs: number): Promise<DiscoveredDevice[]> {
  const id = randomUUID();
  const msg = Buffer.from(probeMessage(id));
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const found = new Map<string, DiscoveredDevice>();
  sock.on('message', (buf) => {
    const d = parseProbeMatch(buf.toString('utf8'), id);
    if (d && !found.has(d.address)) found.set(d.address, d);
  });
  sock.on('error', () => undefined); // a send to an unroutable target must not end the probe
  await new Promise<void>((r) => sock.bind(0, r));
  for (const t of targets) {
    const i = t.lastIndexOf(':');
    const host = i > 0 ? t.slice(0, i) : t;
    const port = i > 0 ? Number(t.slice(i + 1)) : 3702;
    sock.send(msg, port, host, () => undefined);
  }
  await new Promise((r) => setTimeout(r, timeoutMs));
  sock.close();
  return [...found.values()];
}
