// A raised water-level alarm shared by the notify tests.
import type { Notification } from '../../../collector/notify/types.js';

// 2026-11-30 00:15:00 UTC = 08:15:00 in Beijing.
export const AT = Date.UTC(2026, 10, 30, 0, 15, 0);

export const raised: Notification = {
  type: 'alarm',
  transition: 'raised',
  at: AT,
  alarm: {
    id: 'al-1', kind: 'threshold', code: 'water_level.alarm', severity: 'major',
    device: { id: 'wl-01', name: '村口河道水位计' }, site: { id: 'dongcun', name: '东村' },
    metric: 'water_level', value: 4.356, threshold: 4.2, direction: 'above', raisedAt: AT,
    message: 'Water level 4.356 m above alarm level 4.2',
  },
};
