// In-place config edits: only what changes is touched; comments and flow/block style survive.
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { addDeviceEntry, deviceEntry, describeChanges, mergeDevice, removeDeviceEntry, replaceDeviceEntry } from '../../edge/config-edit.js';

const TEXT = `edge: { id: e1 }
devices: []   # register with yiwang edge device add
`;

const EXISTING = `devices:
  # the river gauge
  - id: WL-1
    name: "前池水位"          # as the bureau calls it
    profile: radar-level-modbus
    connection: { transport: tcp, host: 192.168.1.20, port: 502, unitId: 1 }
    sharingScope: [water, emergency]
    location:
      address: 村口桥
`;

describe('config edits', () => {
  it('turns an empty flow list into a block list for the first device', () => {
    const doc = YAML.parseDocument(TEXT);
    addDeviceEntry(doc, { id: 'WL-1', profile: 'p', connection: { host: 'h' } });
    expect(doc.toString()).toContain('devices:\n  - id: WL-1\n');
    expect(doc.toString()).toContain('# register with yiwang edge device add');
  });

  it('updates fields in place, keeping comments, flow maps and flow lists as written', () => {
    const doc = YAML.parseDocument(EXISTING);
    const before = deviceEntry(doc, 'WL-1')!;
    const after = mergeDevice(before, { name: '北池水位', connection: { port: 1502 }, sharingScope: ['water'], location: { longitude: 117.1 } });
    expect(replaceDeviceEntry(doc, after)).toBe(true);
    expect(doc.toString()).toBe(`devices:
  # the river gauge
  - id: WL-1
    name: "北池水位" # as the bureau calls it
    profile: radar-level-modbus
    connection: { transport: tcp, host: 192.168.1.20, port: 1502, unitId: 1 }
    sharingScope: [ water ]
    location:
      address: 村口桥
      longitude: 117.1
`);
    expect(describeChanges(before, after)).toEqual(['name: 前池水位 → 北池水位', 'connection.port: 502 → 1502', 'sharingScope: ["water","emergency"] → ["water"]', 'location.longitude: (none) → 117.1']);
  });

  it('a replacement drops fields that are not given, and masks secrets in the change list', () => {
    const doc = YAML.parseDocument(EXISTING);
    const before = deviceEntry(doc, 'WL-1')!;
    replaceDeviceEntry(doc, { id: 'WL-1', profile: 'radar-level-modbus', connection: { transport: 'tcp', host: '192.168.1.20', port: 502, unitId: 1 } });
    const after = deviceEntry(doc, 'WL-1')!;
    expect(after).toEqual({ id: 'WL-1', profile: 'radar-level-modbus', connection: { transport: 'tcp', host: '192.168.1.20', port: 502, unitId: 1 } });
    expect(describeChanges(before, after)).toContain('name: 前池水位 → (none)');
    expect(describeChanges({ connection: { password: 'a' } }, { connection: { password: 'b' } })).toEqual(['connection.password: *** → ***']);
    expect(removeDeviceEntry(doc, 'WL-1')).toBe(true);
    expect(deviceEntry(doc, 'WL-1')).toBeUndefined();
  });
});
