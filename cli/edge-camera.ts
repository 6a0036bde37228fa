// `yiwang edge discover` and `yiwang edge camera add`: find ONVIF cameras and register them with their
// 一机一档 fields.
import { loadEdgeConfig, type DeviceConfig } from '../edge/config.js';
import { wsDiscover } from '../protocols/onvif/discovery.js';
import { CAMERA_TYPES, DIRECTIONS, FILL_LIGHTS } from '../core/records.js';
import { cameraFieldsFromFlags, cameraFlags, configOpt, RECORD_FLAGS_HELP, recordFieldsFromFlags, recordFlags, refuseIfManaged, registerDevice } from './edge-shared.js';
import { dispatch, parse, UsageError, type Command } from './args.js';
import { existsSync } from 'node:fs';

export const discoverCommand: Command = {
  name: 'discover',
  summary: 'find ONVIF cameras on the site LAN',
  usage: `Usage: yiwang edge discover [--config edge.yaml] [--timeout-ms 3000] [--target HOST:PORT]...

Sends a WS-Discovery probe (multicast 239.255.255.250:3702, or unicast to each --target) and lists the
cameras that answer: address, name, hardware and scopes. Cameras already in the config are marked.`,
  async run(argv) {
    const a = parse(argv, { ...configOpt, 'timeout-ms': { type: 'string', default: '3000' }, target: { type: 'string', multiple: true } }, this.usage);
    if (!a) return 0;
    const registered = new Map<string, string>();
    if (existsSync(a.values.config)) {
      for (const d of loadEdgeConfig(a.values.config).devices) {
        const host = (d.connection as { host?: unknown }).host;
        if (typeof host === 'string') registered.set(`${host}:${(d.connection as { port?: unknown }).port ?? 80}`, d.id);
      }
    }
    process.stdout.write(`probing ${(a.values.target ?? ['239.255.255.250:3702']).join(', ')} for ${a.values['timeout-ms']} ms ...\n`);
    const found = await wsDiscover(a.values.target ?? ['239.255.255.250:3702'], Number(a.values['timeout-ms']));
    if (!found.length) {
      process.stdout.write('no camera answered (is this box on the cameras\' LAN? some cameras disable discovery: register them by address with `yiwang edge camera add`)\n');
      return 0;
    }
    for (const c of found) {
      const u = new URL(c.address);
      const key = `${u.hostname}:${u.port || 80}`;
      const reg = registered.get(key);
      const d = c.details as { hardware?: string; scopes?: string[] } | undefined;
      process.stdout.write(`${reg ? `[registered as ${reg}]` : '[new]'.padEnd(12)} ${c.address}  ${c.name ?? ''}  ${d?.hardware ?? ''}\n`);
      if (d?.scopes?.length) process.stdout.write(`    scopes: ${d.scopes.join(' ')}\n`);
    }
    return 0;
  },
};

const cameraAdd: Command = {
  name: 'add',
  summary: 'register an ONVIF camera',
  usage: `Usage: yiwang edge camera add --id GB28181CODE --host HOST [options] [--config edge.yaml]

  --id CODE            20-digit GB/T 28181 code (type 131 camera or 132 IPC)
  --host HOST --port 80 --user U   ONVIF device service and user
  --password P         the camera password: stored in edge.env next to the config (mode 0600) as
                       YIWANG_DEVICE_<ID>_PASSWORD; the YAML gets only passwordEnv
  --profile ID         device profile (default onvif-ip-camera)
  --camera-type ${CAMERA_TYPES.join('|')}
  --fill-light ${FILL_LIGHTS.join('|')}
  --direction ${DIRECTIONS.join('|')}  --retention-days N
${RECORD_FLAGS_HELP}
  --stream-uri URI     override the RTSP URI the camera reports (NAT, NVR channels)
  --replace            the id is registered already: replace its entry and print what changed
  --no-apply           only write the config

Device information, media profiles, stream and snapshot URIs are read from the camera once it runs.
Check it now with: yiwang edge device test ID (GetDeviceInformation + a stream probe).`,
  async run(argv) {
    const a = parse(
      argv,
      {
        ...configOpt,
        ...recordFlags,
        ...cameraFlags,
        id: { type: 'string' }, host: { type: 'string' }, port: { type: 'string', default: '80' }, user: { type: 'string' }, password: { type: 'string' },
        profile: { type: 'string', default: 'onvif-ip-camera' }, 'stream-uri': { type: 'string' }, replace: { type: 'boolean' }, 'no-apply': { type: 'boolean' },
      },
      this.usage,
    );
    if (!a) return 0;
    const v = a.values;
    refuseIfManaged(v.config, 'add a camera');
    if (!v.id || !v.host) throw new UsageError(`--id and --host are required\n\n${this.usage}`);
    if (!/^\d+$/.test(v.port)) throw new UsageError(`--port: "${v.port}" is not a port number`);
    const connection: Record<string, unknown> = { host: v.host, port: Number(v.port) };
    if (v.user) connection.username = v.user;
    if (v.password) connection.password = v.password;
    if (v['stream-uri']) connection.streamUri = v['stream-uri'];
    const device: DeviceConfig = { id: v.id, profile: v.profile, kind: 'camera', connection, ...recordFieldsFromFlags(v) };
    const camera = cameraFieldsFromFlags(v);
    if (camera) device.camera = camera;
    await registerDevice(v.config, device, { protocol: 'onvif', replace: v.replace, apply: !v['no-apply'] });
    return 0;
  },
};

export const cameraCommand: Command = {
  name: 'camera',
  summary: 'ONVIF cameras',
  usage: '',
  run: (argv) => dispatch([cameraAdd], argv, 'Usage: yiwang edge camera <command>\n\nOther changes to a camera: yiwang edge device update ID ...'),
};
