// Secrets out of the YAML: ${VAR} expansion, passwordEnv checks, and edge.env written 0600 without losing lines.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandEnvReferences, passwordEnvProblems, readEnvFile, setEnvFileVar, writeFilePreservingMode } from '../../core/env.js';

const dir = mkdtempSync(join(tmpdir(), 'yiwang-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const mode = (f: string) => statSync(f).mode & 0o777;

describe('${VAR} expansion', () => {
  it('replaces references in every string, keeps $${ literal, and names unset variables with their path', () => {
    const data = { uplink: { url: 'mqtt://${HOST}:1883' }, devices: [{ connection: { password: '${CAM_PW}', note: 'costs $${5}' } }, { connection: { password: '${NOPE_UNSET}' } }] };
    const problems = expandEnvReferences(data, { HOST: 'collector.local', CAM_PW: 'a#b: c' });
    expect(data.uplink.url).toBe('mqtt://collector.local:1883');
    expect(data.devices[0]!.connection).toEqual({ password: 'a#b: c', note: 'costs ${5}' });
    expect(problems).toEqual([{ path: 'devices.1.connection.password', message: expect.stringContaining('environment variable NOPE_UNSET is not set') }]);
  });

  it('checks passwordEnv: name, set, not both', () => {
    expect(passwordEnvProblems({ passwordEnv: 'PW' }, 'connection', { PW: 'x' })).toEqual([]);
    expect(passwordEnvProblems({ passwordEnv: 'PW' }, 'connection', {})[0]).toMatch(/^connection\.passwordEnv: environment variable PW is not set/);
    expect(passwordEnvProblems({ passwordEnv: 'PW', password: 'y' }, 'c', { PW: 'x' })).toEqual(['c.passwordEnv: give password or passwordEnv, not both']);
    expect(passwordEnvProblems({ passwordEnv: '1-bad' }, 'c')).toEqual(['c.passwordEnv: must be an environment variable name']);
  });
});

describe('edge.env', () => {
  it('creates the file 0600, replaces a variable in place and keeps the other lines and comments', () => {
    const f = join(dir, 'edge.env');
    setEnvFileVar(f, 'YIWANG_UPLINK_PASSWORD', 'first');
    expect(mode(f)).toBe(0o600);
    writeFileSync(f, `# written by hand\n${readFileSync(f, 'utf8')}OTHER="keep me"\n`);
    chmodSync(f, 0o640);
    setEnvFileVar(f, 'YIWANG_UPLINK_PASSWORD', 'second with space');
    setEnvFileVar(f, 'CAM', 'p@ss:1/2');
    expect(mode(f)).toBe(0o640); // an edit never changes the mode the owner chose
    expect(readFileSync(f, 'utf8')).toBe("# written by hand\nYIWANG_UPLINK_PASSWORD='second with space'\nOTHER=\"keep me\"\nCAM=p@ss:1/2\n");
    expect(readEnvFile(f)).toEqual({ YIWANG_UPLINK_PASSWORD: 'second with space', OTHER: 'keep me', CAM: 'p@ss:1/2' });
    expect(() => setEnvFileVar(f, 'X', "it's")).toThrow(/single quote/);
  });

  it('replaces files atomically keeping their mode; new files are 0600', () => {
    const f = join(dir, 'cfg.yaml');
    writeFilePreservingMode(f, 'a: 1\n');
    expect(mode(f)).toBe(0o600);
    chmodSync(f, 0o644);
    writeFilePreservingMode(f, 'a: 2\n');
    expect(mode(f)).toBe(0o644);
    expect(readFileSync(f, 'utf8')).toBe('a: 2\n');
  });
});
