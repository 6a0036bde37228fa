import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateEdgeKey, loadOrCreateKeyFile, openSealed, SecretBox, sealTo } from '../../core/seal.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-seal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('configurations sealed to an edge', () => {
  const edge = loadOrCreateEdgeKey(join(dir, 'edge', 'config-key.pem'));

  it('opens only with the edge\'s own key and the same associated data', () => {
    expect(statSync(join(dir, 'edge', 'config-key.pem')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateEdgeKey(join(dir, 'edge', 'config-key.pem')).publicKey.equals(edge.publicKey)).toBe(true); // kept across restarts
    const s = sealTo(edge.publicKey, Buffer.from('{"password":"hj-secret"}'), 'edge-1:7');
    expect(s.sealed.includes(Buffer.from('hj-secret'))).toBe(false);
    expect(openSealed(edge, s, 'edge-1:7').toString()).toBe('{"password":"hj-secret"}');
    expect(() => openSealed(edge, s, 'edge-2:7')).toThrow(/sealed to another key or changed/);
    const other = loadOrCreateEdgeKey(join(dir, 'other.pem'));
    expect(() => openSealed(other, s, 'edge-1:7')).toThrow(/sealed to another key or changed/);
    const tampered = { ...s, sealed: Buffer.from(s.sealed) };
    tampered.sealed[0]! ^= 1;
    expect(() => openSealed(edge, tampered, 'edge-1:7')).toThrow(/changed on the way/);
  });
});

describe('secrets at rest', () => {
  it('encrypts under a key kept in a 0600 file and refuses another key by its id', () => {
    const key = loadOrCreateKeyFile(join(dir, 'secrets.key'), true);
    expect(statSync(join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'secrets.key'), 'utf8').trim()).toBe(key.toString('base64'));
    const box = new SecretBox(key);
    const env = box.encrypt('pw-1');
    expect(SecretBox.isEnvelope(env)).toBe(true);
    expect(env).not.toContain('pw-1');
    expect(box.encrypt('pw-1')).not.toBe(env); // a fresh nonce each time
    expect(box.decrypt(env)).toBe('pw-1');
    const other = new SecretBox(Buffer.alloc(32, 7));
    expect(() => other.decrypt(env)).toThrow(new RegExp(`encrypted with key ${box.keyId}.*same secrets key`));
    expect(() => loadOrCreateKeyFile(join(dir, 'missing.key'), false)).toThrow(/does not exist/);
  });
});
