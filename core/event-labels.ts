// Chinese and English names of the machine codes events carry: video-quality check names (protocols/onvif
// diagnose.ts), device-health reason codes (protocols/adapter.ts HealthReason) and severities. Notification texts
// (collector/notify) and the dashboard (through catalog.json) both read them, so a bureau sees one wording.
// Check names follow the vendor image-quality diagnosis categories bureaus know (图像模糊, 亮度异常, 图像偏色, …).

export type Lang = 'zh' | 'en';

export const SEVERITY_LABELS: Record<Lang, Record<string, string>> = {
  zh: { info: '提示', warning: '预警', major: '重要', critical: '紧急' },
  en: { info: 'info', warning: 'warning', major: 'major', critical: 'critical' },
};

export const VIDEO_CHECK_LABELS: Record<Lang, Record<string, string>> = {
  zh: {
    signal_loss: '信号丢失', black: '黑屏', frozen: '画面冻结', blur: '图像模糊', too_dark: '亮度异常（过暗）',
    too_bright: '亮度异常（过亮）', color_cast: '图像偏色', noise: '雪花干扰', occlusion: '视频遮挡',
  },
  en: {
    signal_loss: 'signal loss', black: 'black picture', frozen: 'frozen picture', blur: 'blur', too_dark: 'too dark',
    too_bright: 'too bright', color_cast: 'colour cast', noise: 'noise', occlusion: 'occlusion',
  },
};

export const HEALTH_REASON_LABELS: Record<Lang, Record<string, string>> = {
  zh: {
    timeout: '通信超时', exception: '设备异常应答', unreachable: '无法连接', auth_failure: '认证失败', no_data: '无数据上报',
    malformed: '数据格式错误', stream_unreachable: '视频流无法连接', no_frames: '无视频画面',
    online: '在线', degraded: '异常', offline: '离线',
  },
  en: {
    timeout: 'timeout', exception: 'device exception', unreachable: 'unreachable', auth_failure: 'authentication failed',
    no_data: 'no data', malformed: 'malformed data', stream_unreachable: 'stream unreachable', no_frames: 'no video frames',
    online: 'online', degraded: 'degraded', offline: 'offline',
  },
};

/** The label of `code` in `table`, or the code itself (deployments and newer edges may send codes we do not know). */
export function codeLabel(table: Record<Lang, Record<string, string>>, lang: Lang, code: string | undefined): string {
  if (!code) return '';
  return table[lang][code] ?? code;
}

/** Event kinds (collector/store events.ts EVENT_KIND_NAMES) in words: reports and exports. */
export const EVENT_KIND_LABELS: Record<Lang, Record<string, string>> = {
  zh: {
    unknown: '未知', alarm_raised: '报警', alarm_cleared: '报警解除', device_online: '设备上线', device_offline: '设备离线',
    device_degraded: '设备异常', threshold_crossed: '越限', video_fault_raised: '视频故障', video_fault_cleared: '视频故障解除',
    record_changed: '档案变更', data_gap: '数据缺失', data_quarantined: '数据隔离',
  },
  en: {
    unknown: 'unknown', alarm_raised: 'alarm raised', alarm_cleared: 'alarm cleared', device_online: 'device online', device_offline: 'device offline',
    device_degraded: 'device degraded', threshold_crossed: 'threshold crossed', video_fault_raised: 'video fault', video_fault_cleared: 'video fault cleared',
    record_changed: 'record changed', data_gap: 'data gap', data_quarantined: 'data quarantined',
  },
};
