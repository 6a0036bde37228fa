// GB/T 28181 (2016/2022) 20-digit device ids: structure checks with precise errors.

export const GB28181_TYPE_CODES: Readonly<Record<string, string>> = {
  '111': 'DVR', '112': '视频服务器', '113': '编码器', '114': '解码器', '115': '视频切换矩阵', '116': '音频切换矩阵',
  '117': '报警控制器', '118': 'NVR', '120': '在线视频图像信息采集系统', '121': '视频卡口', '122': '多目设备',
  '123': '停车场出入口控制', '124': '人员出入口控制', '125': '安检设备', '130': 'HVR',
  '131': '摄像机', '132': '网络摄像机(IPC)', '133': '显示器', '134': '报警输入', '135': '报警输出', '136': '语音输入',
  '137': '语音输出', '138': '移动传输设备', '139': '其他外围设备', '140': '报警输出(继电器)', '141': '道闸',
  '142': '智能门', '143': '凭证识别单元',
  '200': '中心信令控制服务器', '201': 'Web应用服务器', '202': '媒体分发服务器', '203': '代理服务器', '204': '安全服务器',
  '205': '报警服务器', '206': '数据库服务器', '207': 'GIS服务器', '208': '管理服务器', '209': '接入网关',
  '210': '媒体存储服务器', '211': '信令安全路由网关', '215': '业务分组', '216': '虚拟组织',
  '300': '中心用户', '400': '终端用户',
  '500': '视频图像信息综合应用平台', '501': '运维管理平台', '502': '视频图像分析系统', '503': '视频图像信息数据库',
  '505': '视频图像分析设备',
};

export const GB28181_INDUSTRY_CODES: Readonly<Record<string, string>> = {
  '00': '社会治安路面', '01': '社会治安社区', '02': '社会治安内部', '03': '社会治安其他', '04': '交通路面',
  '05': '交通卡口', '06': '交通内部', '07': '交通其他', '08': '城市管理', '09': '卫生环保', '10': '商检海关',
  '11': '教育', '12': '民航', '13': '铁路', '14': '航运',
};

export const GB28181_NETWORK_IDS: Readonly<Record<string, string>> = {
  '0': '公安视频传输网', '1': '公安视频传输网', '2': '行业专网', '3': '政法信息网', '4': '公安移动信息网',
  '5': '公安信息网', '6': '电子政务外网', '7': '互联网', '8': '专线', '9': '预留',
};

// Province-level division codes (first two digits of the administrative division code).
const PROVINCES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
  64, 65, 71, 81, 82,
]);

export interface Gb28181Id {
  id: string;
  centerCode: string;   // digits 1-8: administrative division
  industryCode: string; // digits 9-10
  typeCode: string;     // digits 11-13
  networkId: string;    // digit 14
  serial: string;       // digits 15-20
  typeName: string;
  industryName: string;
}

export type Gb28181Result = { ok: true; value: Gb28181Id } | { ok: false; error: string };

export function parseGb28181Id(id: string): Gb28181Result {
  if (typeof id !== 'string') return { ok: false, error: 'GB/T 28181 id must be a string of 20 digits' };
  if (id.length !== 20) return { ok: false, error: `GB/T 28181 id must have 20 digits, "${id}" has ${id.length}` };
  const bad = id.search(/\D/);
  if (bad >= 0) return { ok: false, error: `GB/T 28181 id "${id}" has a non-digit "${id[bad]}" at position ${bad + 1}` };
  const centerCode = id.slice(0, 8);
  const industryCode = id.slice(8, 10);
  const typeCode = id.slice(10, 13);
  const networkId = id.slice(13, 14);
  const serial = id.slice(14);
  if (!PROVINCES.has(Number(centerCode.slice(0, 2)))) {
    return { ok: false, error: `GB/T 28181 id "${id}": digits 1-2 "${centerCode.slice(0, 2)}" are not a province code` };
  }
  const industryNum = Number(industryCode);
  const industryName =
    GB28181_INDUSTRY_CODES[industryCode] ?? (industryNum >= 40 && industryNum <= 59 ? '企业/行业' : undefined);
  if (!industryName) {
    return { ok: false, error: `GB/T 28181 id "${id}": digits 9-10 "${industryCode}" are not a known industry code` };
  }
  const typeName = GB28181_TYPE_CODES[typeCode];
  if (!typeName) {
    return { ok: false, error: `GB/T 28181 id "${id}": digits 11-13 "${typeCode}" are not a known type code` };
  }
  return {
    ok: true,
    value: { id, centerCode, industryCode, typeCode, networkId, serial, typeName, industryName },
  };
}

/** True for strings that look like they were meant as GB/T 28181 codes (all digits, or 20 chars starting with digits). */
export function looksLikeGb28181(id: string): boolean {
  return /^\d{14,}$/.test(id) || (id.length === 20 && /^\d{8}/.test(id));
}

/** Type codes of camera-like devices: a camera record should use one of these. */
export const CAMERA_TYPE_CODES = new Set(['131', '132']);
