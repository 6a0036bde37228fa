// "TLS is one config line away": the collector's embedded broker and HTTP API with a certificate, the edge's
// uplink on mqtts:// trusting that CA. A real openssl-made CA and server certificate for 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startCollector, type Collector } from '../../collector/index.js';
import { defaultConfig } from '../../collector/config.js';
import { silentLogger } from '../../core/log.js';
import { startEdge, type EdgeAgent } from '../../edge/agent.js';
import { hashSecret } from '../../core/secrets.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-tls-'));
let collector: Collector;
let agent: EdgeAgent | undefined;
const f = (n: string) => join(dir, n);

function makeCertificates(): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=yiwang test CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf'));
}

beforeAll(async () => {
  makeCertificates();
  const cfg = defaultConfig();
  cfg.dataDir = join(dir, 'collector');
  cfg.http = { host: '127.0.0.1', port: 0, tls: { cert: f('server.pem'), key: f('server.key') } };
  cfg.mqtt = { embedded: { host: '127.0.0.1', port: 0, tls: { cert: f('server.pem'), key: f('server.key') } } };
  collector = await startCollector({ config: cfg, log: silentLogger });
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  await collector?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function writeEdgeConfig(uplink: Record<string, unknown>): string {
  const file = f('edge.yaml');
  writeFileSync(
    file,
    YAML.stringify({
      edge: { id: 'edge-tls' },
      site: { id: 'tls-site', type: 'other' },
      uplink,
      buffer: { dir: f('buffer'), commitIntervalMs: 50 },
      protocols: { mqtt: { localBroker: { enabled: true, host: '127.0.0.1', port: 0, users: [{ username: 'd', passwordHash: hashSecret('p') }] } } },
      devices: [{ id: 'SD-TLS', profile: 'smoke-detector-mqtt', sharingScope: ['fire'], connection: { broker: 'local' } }],
    }),
  );
  return file;
}

describe('TLS end to end', () => {
  it('ships over mqtts:// when the edge trusts the collector CA, and serves the API over https', async () => {
    const password = await collector.addEdge('edge-tls');
    agent = await startEdge({ configFile: writeEdgeConfig({ url: `mqtts://127.0.0.1:${collector.mqttPort}`, password, ca: f('ca.pem') }), adminPort: 0, log: silentLogger });
    const end = Date.now() + 15_000;
    while (!(await collector.store.registry.get('SD-TLS')) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect((await collector.store.registry.get('SD-TLS'))?.edgeId).toBe('edge-tls');
    expect(agent.uplink.state().connected).toBe(true);

    const token = await collector.createToken({ name: 'fire', bureau: 'fire' });
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`https://127.0.0.1:${collector.httpPort}/api/v1/devices/SD-TLS`, { ca: readFileSync(f('ca.pem')), headers: { authorization: `Bearer ${token}` } }, (res) => {
          let s = '';
          res.on('data', (c) => (s += c));
          res.on('end', () => resolve(s));
        })
        .on('error', reject);
    });
    expect(JSON.parse(body).id).toBe('SD-TLS');
    await agent.stop();
    agent = undefined;
  }, 30_000);

  it('refuses a collector whose certificate the edge does not trust (no silent plaintext fallback)', async () => {
    const password = await collector.addEdge('edge-tls');
    agent = await startEdge({ configFile: writeEdgeConfig({ url: `mqtts://127.0.0.1:${collector.mqttPort}`, password }), adminPort: 0, log: silentLogger });
    await new Promise((r) => setTimeout(r, 1500));
    const state = agent.uplink.state();
    expect(state.connected).toBe(false);
    expect(state.lastError ?? '').toMatch(/certificate|self.signed|unable to verify/i);
  }, 30_000);
});
