import { describe, expect, it } from 'vitest';
import { parseGb28181Id } from '../../core/gb28181.js';

describe('GB/T 28181 ids', () => {
  it('parses a well-formed IPC code into its parts', () => {
    const r = parseGb28181Id('34010200001320000001');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ centerCode: '34010200', industryCode: '00', typeCode: '132', networkId: '0', serial: '000001' });
    expect(r.value.typeName).toContain('网络摄像机');
  });

  it.each([
    ['3401020000132000001', 'must have 20 digits, "3401020000132000001" has 19'],
    ['340102000013200000012', 'has 21'],
    ['3401020000132000000A', 'non-digit "A" at position 20'],
    ['34010200001990000001', 'digits 11-13 "199" are not a known type code'],
    ['34010200301320000001', 'digits 9-10 "30" are not a known industry code'],
    ['99010200001320000001', 'digits 1-2 "99" are not a province code'],
  ])('rejects %s precisely', (id, message) => {
    const r = parseGb28181Id(id);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });

  it('accepts enterprise industry codes 40-59 and the alarm-input type 134', () => {
    expect(parseGb28181Id('44030500531340000007').ok).toBe(true);
    expect(parseGb28181Id('44030500431180000007').ok).toBe(true);
  });
});
