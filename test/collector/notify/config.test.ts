import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { inQuietHours, matchRules, missingEnv, parseNotifyConfig, planDeliveries, validateNotifyConfig, type AlarmFacts, type NotifyRule } from '../../../collector/notify/config.js';

const bj = (h: number, m = 0) => Date.UTC(2026, 10, 30, h - 8, m); // Beijing wall time → instant (h ≥ 8)
const bjNight = (h: number, m = 0) => Date.UTC(2026, 10, 29, h + 16, m); // Beijing 00:00-07:59 on 11-30

const facts = (over: Partial<AlarmFacts> = {}): AlarmFacts => ({ bureaus: ['water', 'emergency'], severity: 'major', kind: 'threshold', transition: 'raised', deviceId: 'wl-01', siteId: 'dongcun', ...over });

describe('notify config', () => {
  it('accepts the sample snippet shipped with the module', () => {
    const doc = parseYaml(readFileSync(new URL('../../../collector/notify/notify.sample.yaml', import.meta.url), 'utf8')) as { notify: unknown };
    expect(validateNotifyConfig(doc.notify)).toEqual([]);
    const c = parseNotifyConfig(doc.notify);
    expect(c.channels.map((ch) => ch.type).sort()).toEqual(['dingtalk', 'email', 'sms', 'webhook', 'wecom']);
  });

  it('names every problem with its path', () => {
    const problems = validateNotifyConfig({
      channels: [
        { id: 'w', type: 'wecom', keyEnv: 'K', format: 'html' },
        { id: 'w', type: 'webhook', url: 'ftp://x', secret: 'inline' },
        { id: 'fire-robot', type: 'dingtalk', accessTokenEnv: 'T', bureau: 'fire' },
      ],
      rules: [{ id: 'r', bureau: 'water', channels: ['nope'], quietHours: { from: '25:00', to: '07:00' } }],
    });
    const text = problems.map((p) => `${p.path}: ${p.message}`);
    expect(text).toContain('channels[0].format: must be one of text, markdown');
    expect(text).toContain('channels[1]: unknown key "secret"');
    expect(text.some((t) => t.startsWith('channels[1].url: must match pattern'))).toBe(true);
    expect(text.some((t) => t.startsWith('rules[0].quietHours.from: must match pattern'))).toBe(true);

    const refs = validateNotifyConfig({
      channels: [{ id: 'w', type: 'webhook', url: 'http://127.0.0.1/x' }, { id: 'w', type: 'webhook', url: 'http://127.0.0.1/y' }, { id: 'fire-robot', type: 'dingtalk', accessTokenEnv: 'T', bureau: 'fire' }],
      rules: [{ id: 'r', bureau: 'water', channels: ['nope', 'fire-robot'] }],
    });
    expect(refs).toEqual([
      { path: 'channels[1].id', message: '"w" is used by another channel' },
      { path: 'rules[0].channels[0]', message: 'unknown channel "nope"' },
      { path: 'rules[0].channels[1]', message: 'channel "fire-robot" belongs to bureau fire, not water' },
    ]);
    expect(() => parseNotifyConfig({ channels: [], rules: [{ id: 'r', bureau: 'water', channels: ['x'] }] })).toThrow('notify.rules[0].channels[0]: unknown channel "x"');
  });

  it('lists secrets missing from the environment, including {{env.NAME}} in SMS templates', () => {
    const c = parseNotifyConfig({
      channels: [
        { id: 'r', type: 'dingtalk', accessTokenEnv: 'DT_TOKEN', secretEnv: 'DT_SECRET' },
        { id: 's', type: 'sms', url: 'http://127.0.0.1/sms', headers: { authorization: 'Bearer {{env.SMS_KEY}}' }, phoneNumbers: ['13800000000'] },
      ],
      rules: [],
    });
    expect(missingEnv(c, { DT_TOKEN: 't' })).toEqual([
      { path: 'channels[0].secretEnv', message: 'environment variable DT_SECRET is not set' },
      { path: 'channels[1].{{env.SMS_KEY}}', message: 'environment variable SMS_KEY is not set' },
    ]);
  });
});

describe('matchRules', () => {
  const rules: NotifyRule[] = [
    { id: 'water-all', bureau: 'water', channels: ['wecom'], quietHours: { from: '22:00', to: '07:00' } },
    { id: 'water-major', bureau: 'water', severities: ['major', 'critical'], kinds: ['threshold'], sites: ['dongcun'], language: 'en', channels: ['mail', 'wecom'] },
    { id: 'fire', bureau: 'fire', channels: ['fire-robot'] },
  ];

  it('matches only the bureaus the device is shared with, and the rule filters', () => {
    expect(matchRules(rules, facts(), bj(10)).map((m) => m.rule)).toEqual(['water-all', 'water-major']);
    expect(matchRules(rules, facts({ bureaus: ['fire'] }), bj(10)).map((m) => m.rule)).toEqual(['fire']);
    expect(matchRules(rules, facts({ bureaus: [] }), bj(10))).toEqual([]);
    expect(matchRules(rules, facts({ severity: 'warning' }), bj(10)).map((m) => m.rule)).toEqual(['water-all']);
    expect(matchRules(rules, facts({ kind: 'device_offline' }), bj(10)).map((m) => m.rule)).toEqual(['water-all']);
    expect(matchRules(rules, facts({ siteId: 'xijie' }), bj(10)).map((m) => m.rule)).toEqual(['water-all']);
    expect(matchRules(rules, facts({ transition: 'acknowledged' }), bj(10))).toEqual([]); // not announced by default
    expect(matchRules(rules, facts(), bj(10))[1]).toEqual({ rule: 'water-major', bureau: 'water', channels: ['mail', 'wecom'], language: 'en', deliver: true });
  });

  it('holds messages back in quiet hours (Beijing time, across midnight) except critical ones', () => {
    const quiet = (now: number, severity: AlarmFacts['severity'] = 'major') => matchRules(rules, facts({ severity }), now)[0]!;
    expect(quiet(bj(21, 59)).deliver).toBe(true);
    expect(quiet(bj(22, 0))).toMatchObject({ deliver: false, reason: 'quiet_hours' });
    expect(quiet(bjNight(3)).deliver).toBe(false);
    expect(quiet(bjNight(6, 59)).deliver).toBe(false);
    expect(quiet(bj(8, 0)).deliver).toBe(true);
    expect(quiet(bjNight(3), 'critical').deliver).toBe(true);
    expect(matchRules([{ ...rules[0]!, quietHours: { from: '22:00', to: '07:00', exceptCritical: false } }], facts({ severity: 'critical' }), bjNight(3))[0]!.deliver).toBe(false);
    // Same-day window.
    expect(inQuietHours({ from: '12:00', to: '13:30' }, bj(13, 29))).toBe(true);
    expect(inQuietHours({ from: '12:00', to: '13:30' }, bj(13, 30))).toBe(false);
  });

  it('plans one delivery per channel even when several rules name it', () => {
    const plan = planDeliveries(rules, facts(), bjNight(3));
    expect(plan).toEqual([
      { channel: 'wecom', language: 'en', rules: ['water-all', 'water-major'], deliver: true },
      { channel: 'mail', language: 'en', rules: ['water-major'], deliver: true },
    ]);
    expect(planDeliveries(rules, facts({ severity: 'warning' }), bjNight(3))).toEqual([{ channel: 'wecom', language: 'zh', rules: ['water-all'], deliver: false, reason: 'quiet_hours' }]);
  });
});
