// Chinese and English labels. Metric display names come from /dashboard/catalog.json (see state.js).
const DICT = {
  zh: {
    appTitle: '一网统管 · 感知设备看板',
    appShort: '感知设备看板',
    loginTitle: '登录',
    loginHint: '请输入本单位的访问令牌（由管理员通过 yiwang collector token create 生成）。令牌只保存在当前浏览器标签页中。',
    tokenLabel: '访问令牌',
    login: '登录',
    logout: '退出',
    loginBadToken: '令牌无效或已被撤销，请核对后重试。',
    loginMissing: '请输入令牌。',
    loginNetwork: '无法连接采集服务：',
    sessionExpired: '令牌已失效，请重新登录。',
    signedIn: '已登录',
    bureauOf: '单位',
    admin: '管理员',
    navOverview: '设备总览',
    navEvents: '告警事件',
    navFleet: '边缘网关',
    fleetHint: '各边缘网关的连接、软件版本、配置下发（已生效/目标版本）、时钟偏差、缓存与设备状态。设备数：在线 / 异常 / 离线 / 未知。',
    fleetEdge: '网关', fleetConn: '连接', fleetUp: '在线', fleetDown: '离线', fleetSoftware: '软件版本', fleetMode: '管理方式',
    fleetManaged: '平台管理', fleetUnmanaged: '本地配置', fleetLocal: '本地配置（只读上报）', fleetConfig: '配置（已生效 / 目标）',
    fleetInSync: '已同步', fleetPending: '待生效', fleetWaiting: '等待网关上线', fleetFailed: '被拒绝', fleetRefused: '网关拒绝了配置',
    fleetClock: '时钟偏差', fleetBuffer: '缓存占用', fleetBacklog: '待上传', fleetDropped: '已丢弃', fleetDevices: '设备数',
    fleetLogs: '最近日志', fleetNoLogs: '没有告警或错误日志。', fleetNone: '还没有边缘网关。',
    feedLive: '实时',
    feedConnecting: '连接中',
    feedReconnecting: '重连中',
    feedStopped: '已断开',
    total: '设备总数',
    map: '站点地图',
    mapNoCoords: '台设备无坐标，未在地图上显示',
    mapEmpty: '没有带坐标的设备',
    mapNoTiles: '离线地图：未配置底图服务。',
    mapTilesUnreachable: '离线地图：底图服务无法访问。',
    mapOfflineBoundary: '显示配置的区域边界与设备位置。',
    legend: '图例',
    devices: '设备列表',
    filterText: '搜索编码、名称、站点、地址…',
    allKinds: '全部类型',
    allSites: '全部站点',
    allStatuses: '全部状态',
    exportCsv: '导出 CSV',
    exporting: '正在导出…',
    shown: '显示',
    of: '/',
    noDevices: '没有符合条件的设备',
    id: '设备编码',
    name: '设备名称',
    kind: '设备类型',
    site: '站点',
    siteType: '站点类型',
    status: '运行状态',
    lastSeen: '最后在线',
    latestValue: '最新数据',
    scope: '共享范围',
    manufacturer: '厂商',
    model: '型号',
    back: '← 返回总览',
    latest: '最新数据',
    noLatest: '暂无数据',
    chart: '趋势图',
    metric: '指标',
    range: '时间范围',
    agg: '聚合',
    aggAvg: '平均', aggMin: '最小', aggMax: '最大', aggLast: '最新',
    resolution: '分辨率',
    raw: '原始数据',
    rollup1m: '分钟汇总',
    rollup1h: '小时汇总',
    step: '间隔',
    points: '个点',
    noSeries: '该时段无数据',
    noMetrics: '该设备尚无数据',
    warning: '预警',
    alarm: '报警',
    record: '一机一档',
    history: '档案变更记录',
    noHistory: '无变更记录',
    actor: '操作者',
    changes: '变更内容',
    alarms: '告警与事件',
    noEvents: '该时段没有事件',
    camera: '摄像机',
    snapshot: '最新抓图',
    noSnapshot: '暂无抓图',
    refresh: '刷新',
    streamHealth: '视频流状态',
    quality: '视频质量诊断',
    noQuality: '暂无诊断结果',
    verdict: '结论',
    checks: '检测项',
    time: '时间',
    severity: '级别',
    eventKind: '事件类型',
    device: '设备',
    message: '说明',
    value: '数值',
    threshold: '阈值',
    minSeverity: '最低级别',
    allSeverities: '全部级别',
    loadError: '加载失败：',
    notFound: '设备不存在或无权查看',
    yes: '是',
    no: '否',
    live: '实时更新',
    quality_good: '正常', quality_uncertain: '存疑', quality_bad: '无效',
    // record fields
    f_id: '设备编码', f_name: '设备名称', f_kind: '设备类型', f_profileId: '设备模板', f_manufacturer: '设备厂商', f_model: '设备型号',
    f_serialNumber: '序列号', f_firmware: '固件版本', f_address: '接入地址', f_longitude: '经度', f_latitude: '纬度',
    f_locAddress: '安装地址', f_divisionCode: '行政区域', f_siteId: '站点编码', f_siteName: '站点名称', f_siteType: '站点类型',
    f_scenario: '应用场景', f_industry: '行业属性', f_sharingScope: '共享范围', f_installedDate: '安装时间', f_maintainer: '管理单位',
    f_maintainerContact: '管理单位联系方式', f_lifecycle: '设备状态', f_runtimeStatus: '运行状态', f_statusReason: '状态原因',
    f_lastSeen: '最后在线时间', f_edgeId: '接入网关', f_updatedAt: '档案更新时间', f_cameraType: '摄像机类型', f_fillLight: '补光属性',
    f_direction: '监视方位', f_encoding: '编码格式', f_resolution: '图像分辨率', f_streamUris: '视频流地址', f_snapshotUri: '抓图地址',
    f_ptz: '云台', f_recordRetentionDays: '录像保存天数', f_frameRate: '帧率', f_bitrateKbps: '码率 (kbit/s)', f_hardwareId: '硬件编号',
    g_basic: '基本信息', g_location: '位置与站点', g_management: '管理信息', g_camera: '摄像机参数', g_runtime: '运行信息',
    actorEdge: '网关', dataSince: '数据始于', periodAvgBand: '时段均值，阴影为最小–最大', latestCheck: '最新诊断', checkHistory: '诊断记录', problems: '异常项', allOk: '全部正常',
    score: '评分', detail: '说明', above: '超过', below: '低于', warningLine: '预警线', alarmLine: '报警线', thresholdLine: '阈值',
    ev_alarm: '报警', ev_cleared: '解除', ev_offline: '设备离线', ev_degraded: '设备异常', ev_online: '设备恢复在线',
    ev_video: '视频故障', ev_videoCleared: '视频故障解除', ev_gap: '数据缺失',
    // alarms
    navAlarms: '告警', navDeliveries: '通知记录', alarmsOpen: '当前告警', allAlarms: '全部告警', noAlarms: '当前没有告警',
    deviceAlarms: '设备告警', noDeviceAlarms: '近 30 天没有告警', alarmStateHead: '状态', raisedAt: '发生时间', clearedAt: '恢复时间',
    duration: '持续时长', peak: '峰值', peakSeverity: '最高', alarmWhat: '告警内容', ack: '确认', ackDone: '已确认',
    ackPlaceholder: '处置说明（可选）', acknowledgedBy: '确认人', ackComment: '确认说明', alarmHistory: '告警过程', transition: '变化',
    late: '补报', actorCollector: '采集服务', alarmId: '告警', alarmNo: '告警', channel: '通知渠道', deliveryStatus: '发送状态',
    attempts: '尝试次数', target: '发送目标', error: '错误', digestOf: '汇总', nextAttempt: '下次尝试', noDeliveries: '暂无通知记录',
    deliveriesHint: '每次告警变化按本单位的通知规则发往各渠道：发送成功、失败（含原因）、重试与免打扰未发的都记录在此。',
    allDeliveryStatuses: '全部状态', allAlarmKinds: '全部类型', backAlarms: '← 返回告警列表', edge: '网关',
    ak_threshold: '越限', ak_device_offline: '设备离线', ak_video_fault: '视频故障', ak_edge_offline: '网关离线', ak_data_gap: '数据中断', ak_quarantine: '数据被隔离',
  },
  en: {
    appTitle: 'Yiwang · Sensing devices dashboard',
    appShort: 'Sensing dashboard',
    loginTitle: 'Sign in',
    loginHint: "Enter your bureau's access token (created by an administrator with yiwang collector token create). It is kept only in this browser tab.",
    tokenLabel: 'Access token',
    login: 'Sign in',
    logout: 'Sign out',
    loginBadToken: 'The token is not valid or was revoked. Check it and try again.',
    loginMissing: 'Please enter a token.',
    loginNetwork: 'Cannot reach the collector: ',
    sessionExpired: 'The token is no longer valid. Please sign in again.',
    signedIn: 'Signed in',
    bureauOf: 'Bureau',
    admin: 'Administrator',
    navOverview: 'Devices',
    navEvents: 'Alarms & events',
    navFleet: 'Edge gateways',
    fleetHint: "Each edge gateway's connection, software, configuration (applied / desired version), clock offset, buffer and devices. Devices: online / degraded / offline / unknown.",
    fleetEdge: 'Edge', fleetConn: 'Link', fleetUp: 'up', fleetDown: 'down', fleetSoftware: 'Software', fleetMode: 'Managed by',
    fleetManaged: 'collector', fleetUnmanaged: 'local file', fleetLocal: 'local (reported read-only)', fleetConfig: 'Config (applied / desired)',
    fleetInSync: 'in sync', fleetPending: 'pending', fleetWaiting: 'waiting for the edge', fleetFailed: 'refused', fleetRefused: 'The edge refused configuration',
    fleetClock: 'Clock offset', fleetBuffer: 'Buffer', fleetBacklog: 'Backlog', fleetDropped: 'Dropped', fleetDevices: 'Devices',
    fleetLogs: 'Recent log', fleetNoLogs: 'No warnings or errors logged.', fleetNone: 'No edge gateways yet.',
    feedLive: 'Live',
    feedConnecting: 'Connecting',
    feedReconnecting: 'Reconnecting',
    feedStopped: 'Disconnected',
    total: 'Devices',
    map: 'Site map',
    mapNoCoords: 'device(s) without coordinates are not on the map',
    mapEmpty: 'No devices with coordinates',
    mapNoTiles: 'Offline map: no tile server configured.',
    mapTilesUnreachable: 'Offline map: the tile server cannot be reached.',
    mapOfflineBoundary: 'Showing the configured area boundary and device positions.',
    legend: 'Legend',
    devices: 'Devices',
    filterText: 'Search id, name, site, address…',
    allKinds: 'All kinds',
    allSites: 'All sites',
    allStatuses: 'All statuses',
    exportCsv: 'Export CSV',
    exporting: 'Exporting…',
    shown: 'Showing',
    of: 'of',
    noDevices: 'No devices match',
    id: 'Device id',
    name: 'Name',
    kind: 'Kind',
    site: 'Site',
    siteType: 'Site type',
    status: 'Status',
    lastSeen: 'Last seen',
    latestValue: 'Latest',
    scope: 'Shared with',
    manufacturer: 'Manufacturer',
    model: 'Model',
    back: '← Back to devices',
    latest: 'Latest values',
    noLatest: 'No data yet',
    chart: 'Chart',
    metric: 'Metric',
    range: 'Range',
    agg: 'Aggregate',
    aggAvg: 'Average', aggMin: 'Minimum', aggMax: 'Maximum', aggLast: 'Last',
    resolution: 'Resolution',
    raw: 'raw',
    rollup1m: '1-minute rollup',
    rollup1h: '1-hour rollup',
    step: 'step',
    points: 'points',
    noSeries: 'No data in this range',
    noMetrics: 'This device has not reported data yet',
    warning: 'Warning',
    alarm: 'Alarm',
    record: 'Device record (一机一档)',
    history: 'Record changes',
    noHistory: 'No changes recorded',
    actor: 'By',
    changes: 'Changes',
    alarms: 'Alarms & events',
    noEvents: 'No events in this range',
    camera: 'Camera',
    snapshot: 'Latest snapshot',
    noSnapshot: 'No snapshot yet',
    refresh: 'Refresh',
    streamHealth: 'Stream health',
    quality: 'Video quality checks',
    noQuality: 'No quality results yet',
    verdict: 'Verdict',
    checks: 'Checks',
    time: 'Time',
    severity: 'Severity',
    eventKind: 'Kind',
    device: 'Device',
    message: 'Message',
    value: 'Value',
    threshold: 'Threshold',
    minSeverity: 'Minimum severity',
    allSeverities: 'All severities',
    loadError: 'Failed to load: ',
    notFound: 'No such device, or not shared with you',
    yes: 'yes',
    no: 'no',
    live: 'live',
    quality_good: 'good', quality_uncertain: 'uncertain', quality_bad: 'bad',
    f_id: 'Device id', f_name: 'Name', f_kind: 'Kind', f_profileId: 'Profile', f_manufacturer: 'Manufacturer', f_model: 'Model',
    f_serialNumber: 'Serial number', f_firmware: 'Firmware', f_address: 'Access address', f_longitude: 'Longitude', f_latitude: 'Latitude',
    f_locAddress: 'Installation address', f_divisionCode: 'Division code', f_siteId: 'Site id', f_siteName: 'Site name', f_siteType: 'Site type',
    f_scenario: 'Scenario', f_industry: 'Industry', f_sharingScope: 'Shared with', f_installedDate: 'Installed', f_maintainer: 'Maintainer',
    f_maintainerContact: 'Maintainer contact', f_lifecycle: 'Lifecycle', f_runtimeStatus: 'Runtime status', f_statusReason: 'Status reason',
    f_lastSeen: 'Last seen', f_edgeId: 'Edge', f_updatedAt: 'Record updated', f_cameraType: 'Camera type', f_fillLight: 'Fill light',
    f_direction: 'Direction', f_encoding: 'Encoding', f_resolution: 'Resolution', f_streamUris: 'Stream URLs', f_snapshotUri: 'Snapshot URL',
    f_ptz: 'PTZ', f_recordRetentionDays: 'Recording kept (days)', f_frameRate: 'Frame rate', f_bitrateKbps: 'Bitrate (kbit/s)', f_hardwareId: 'Hardware id',
    g_basic: 'Basics', g_location: 'Location and site', g_management: 'Management', g_camera: 'Camera', g_runtime: 'Runtime',
    actorEdge: 'edge', dataSince: 'data since', periodAvgBand: 'period average, band min–max', latestCheck: 'Latest check', checkHistory: 'Check history', problems: 'Problems', allOk: 'all checks ok',
    score: 'Score', detail: 'Detail', above: 'above', below: 'below', warningLine: 'warning level', alarmLine: 'alarm level', thresholdLine: 'threshold',
    ev_alarm: 'alarm', ev_cleared: 'cleared', ev_offline: 'Device offline', ev_degraded: 'Device degraded', ev_online: 'Device back online',
    ev_video: 'Video fault', ev_videoCleared: 'Video fault cleared', ev_gap: 'Data gap',
    navAlarms: 'Alarms', navDeliveries: 'Notifications', alarmsOpen: 'Open alarms', allAlarms: 'All alarms', noAlarms: 'No open alarms',
    deviceAlarms: 'Alarms of this device', noDeviceAlarms: 'No alarms in the last 30 days', alarmStateHead: 'State', raisedAt: 'Raised', clearedAt: 'Cleared',
    duration: 'Duration', peak: 'Peak', peakSeverity: 'worst', alarmWhat: 'Alarm', ack: 'Acknowledge', ackDone: 'Acknowledged',
    ackPlaceholder: 'What is being done (optional)', acknowledgedBy: 'Acknowledged by', ackComment: 'Comment', alarmHistory: 'History', transition: 'Change',
    late: 'late', actorCollector: 'collector', alarmId: 'Alarm', alarmNo: 'Alarm', channel: 'Channel', deliveryStatus: 'Status',
    attempts: 'Attempts', target: 'Sent to', error: 'Error', digestOf: 'digest of', nextAttempt: 'next attempt', noDeliveries: 'No notifications yet',
    deliveriesHint: "Every alarm change goes to the channels of your bureau's notification rules: what was sent, what failed (and why), retries and messages held back in quiet hours are listed here.",
    allDeliveryStatuses: 'All statuses', allAlarmKinds: 'All kinds', backAlarms: '← Back to alarms', edge: 'Edge',
    ak_threshold: 'Threshold', ak_device_offline: 'Device offline', ak_video_fault: 'Video fault', ak_edge_offline: 'Edge offline', ak_data_gap: 'Data gap', ak_quarantine: 'Data quarantined',
  },
};

// Enumerations of the registry and the event store, by language.
const ENUMS = {
  zh: {
    // kind, status, siteType, lifecycle, bureau, cameraType, fillLight, direction: from catalog.json
    // (core/records.ts RECORD_LABELS_ZH, shared with the CSV export) — see setRecordLabels().
    severity: { info: '提示', warning: '预警', major: '重要', critical: '紧急' },
    eventKind: {
      unknown: '未知', alarm_raised: '报警', alarm_cleared: '报警解除', device_online: '设备上线', device_offline: '设备离线',
      device_degraded: '设备异常', threshold_crossed: '越限', video_fault_raised: '视频故障', video_fault_cleared: '视频故障解除',
      record_changed: '档案变更', data_gap: '数据缺失',
    },
    verdict: { ok: '正常', warn: '警告', fault: '故障', unknown: '未知' },
    alarmState: { open: '未恢复', active: '未确认', acknowledged: '已确认', cleared: '已恢复' },
    alarmKind: { threshold: '越限', device_offline: '设备离线', video_fault: '视频故障', edge_offline: '网关离线', data_gap: '数据中断', quarantine: '数据隔离' },
    transition: { raised: '发生', escalated: '升级', deescalated: '降级', updated: '更新', cleared: '恢复', acknowledged: '确认' },
    deliveryStatus: { queued: '排队中', sending: '发送中', retrying: '待重试', sent: '已发送', failed: '失败', held: '免打扰未发' },
    deliveryReason: { quiet_hours: '免打扰时段' },
    channelType: { webhook: 'Webhook', wecom: '企业微信', dingtalk: '钉钉', email: '邮件', sms: '短信' },
  },
  en: {
    kind: { sensor: 'sensor', camera: 'camera', station: 'station' },
    status: { online: 'online', degraded: 'degraded', offline: 'offline', fault: 'fault', unknown: 'unknown' },
    siteType: { village: 'village', street: 'street', water_station: 'water station', other: 'other' },
    lifecycle: { in_use: 'in use', under_repair: 'under repair', removed: 'removed' },
    bureau: { water: 'Water', environment: 'Environment', fire: 'Fire', emergency: 'Emergency', public_security: 'Public security', urban_management: 'Urban management', transport: 'Transport' },
    cameraType: { dome: 'dome', half_dome: 'half dome', fixed_bullet: 'fixed bullet', ptz_bullet: 'PTZ bullet', checkpoint_bullet: 'checkpoint bullet', unknown: 'unknown' },
    fillLight: { none: 'none', infrared: 'infrared', white_light: 'white light', other: 'other' },
    direction: { E: 'E', W: 'W', S: 'S', N: 'N', SE: 'SE', NE: 'NE', SW: 'SW', NW: 'NW', omni: 'omnidirectional' },
    severity: { info: 'info', warning: 'warning', major: 'major', critical: 'critical' },
    eventKind: {
      unknown: 'unknown', alarm_raised: 'alarm raised', alarm_cleared: 'alarm cleared', device_online: 'device online', device_offline: 'device offline',
      device_degraded: 'device degraded', threshold_crossed: 'threshold crossed', video_fault_raised: 'video fault', video_fault_cleared: 'video fault cleared',
      record_changed: 'record changed', data_gap: 'data gap',
    },
    verdict: { ok: 'ok', warn: 'warning', fault: 'fault', unknown: 'unknown' },
    alarmState: { open: 'open', active: 'active', acknowledged: 'acknowledged', cleared: 'cleared' },
    alarmKind: { threshold: 'threshold', device_offline: 'device offline', video_fault: 'video fault', edge_offline: 'edge offline', data_gap: 'data gap', quarantine: 'quarantine' },
    transition: { raised: 'raised', escalated: 'escalated', deescalated: 'de-escalated', updated: 'updated', cleared: 'cleared', acknowledged: 'acknowledged' },
    deliveryStatus: { queued: 'queued', sending: 'sending', retrying: 'retrying', sent: 'sent', failed: 'failed', held: 'held (quiet hours)' },
    deliveryReason: { quiet_hours: 'quiet hours' },
    channelType: { webhook: 'webhook', wecom: 'WeCom', dingtalk: 'DingTalk', email: 'e-mail', sms: 'SMS' },
  },
};

const LANG_KEY = 'yiwang.dashboard.lang';
// Bureau staff are Chinese-speaking by default; English is one click away and remembered.
let lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';

export const getLang = () => lang;

export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh';
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('appTitle');
}

export function t(key) {
  return DICT[lang][key] ?? DICT.zh[key] ?? key;
}

// Record field paths (as the change history names them) → { zh, en, enum } from catalog.json.
let FIELDS = {};

/**
 * Takes the labels catalog.json carries: the record enumerations' Chinese labels (`zh`; `runtime` is the status),
 * record field labels (`fields`), video check names (`checks`) and health reason codes (`reasons`) in both languages.
 */
export function setCatalogLabels(labels) {
  if (!labels) return;
  if (labels.zh) {
    const { runtime, ...rest } = labels.zh;
    Object.assign(ENUMS.zh, rest, runtime ? { status: runtime } : {});
  }
  FIELDS = labels.fields ?? {};
  for (const l of ['zh', 'en']) {
    if (labels.checks?.[l]) ENUMS[l].check = labels.checks[l];
    if (labels.reasons?.[l]) ENUMS[l].reason = labels.reasons[l];
  }
}

/** The 一机一档 label of a record field path (`location.longitude` → 经度), or the path itself. */
export const fieldLabel = (path) => FIELDS[path]?.[lang] ?? path;
/** The enumeration a field's values belong to (`camera.cameraType` → cameraType), if any. */
export const fieldEnum = (path) => (FIELDS[path]?.enum === 'runtime' ? 'status' : FIELDS[path]?.enum);

/** A status reason as the edge writes it (`timeout: no answer within 1000 ms`) with its code in words. */
export function reasonText(reason) {
  if (!reason) return '';
  const m = /^([a-z_]+)(?::\s*(.*))?$/s.exec(reason);
  if (!m || !ENUMS[lang].reason?.[m[1]]) return reason;
  const name = ENUMS[lang].reason[m[1]];
  return m[2] ? (lang === 'zh' ? `${name}（${m[2]}）` : `${name} (${m[2]})`) : name;
}

/** The label of an enumeration value, or the value itself when unknown (deployments may add their own). */

export function label(enumName, value) {
  if (value === undefined || value === null || value === '') return '';
  return ENUMS[lang][enumName]?.[value] ?? String(value);
}

export function enumValues(enumName) {
  return Object.keys(ENUMS.en[enumName] ?? {});
}

/** Merges a feature's labels into the dictionary ({ zh: {…}, en: {…} }), so views bring their own words. */
export function addTranslations(extra) {
  for (const l of ['zh', 'en']) Object.assign(DICT[l], extra[l]);
}
