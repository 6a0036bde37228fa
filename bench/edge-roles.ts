// Child processes of bench/edge.ts, one role each, so the process being measured (edge agent, collector,
// vmagent) does not share its CPU or heap with the load generators. Started as
//   node --import tsx bench/edge-roles.ts <role> '<json args>'
// and driven over the IPC channel: the child sends {type:'ready', ...}; the parent sends {id, cmd} and gets
// {id, result}. Each role imports its dependencies dynamically, so e.g. the edge child's RSS holds only what
// the edge agent itself loads.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

type Handler = (cmd: string) => unknown;

/** Answers the parent's {id, cmd} requests; 'stop' runs `stop` and exits. */
function serve(ready: object, handle: Handler, stop: () => Promise<void>): void {
  process.send?.({ type: 'ready', pid: process.pid, ...ready });
  process.on('message', (m: { id: number; cmd: string }) => {
    if (m.cmd === 'stop') {
      void stop()
        .catch((err: unknown) => console.error('stop failed:', err))
        .then(() => {
          process.send?.({ id: m.id, result: 'stopped' }, () => process.exit(0));
        });
      return;
    }
    Promise.resolve()
      .then(() => handle(m.cmd))
      .then(
        (result) => process.send?.({ id: m.id, result }),
        (err: unknown) => process.send?.({ id: m.id, error: String(err) }),
      );
  });
  process.on('disconnect', () => void stop().finally(() => process.exit(0))); // parent gone: never linger
}

/** Peak and current resident set size of this process from /proc (kernel-measured, includes native heaps). */
export function procMemory(pid: number | 'self' = 'self'): { hwmMB: number; rssMB: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN);
  return { hwmMB: kb('VmHWM') / 1024, rssMB: kb('VmRSS') / 1024 };
}

// ---- edge: the real agent (startEdge) on a generated config ----

async function edgeRole(a: { configFile: string }): Promise<void> {
  const { startEdge } = await import('../edge/agent.js');
  const { createLogger } = await import('../core/log.js');
  const agent = await startEdge({ configFile: a.configFile, adminPort: 0, log: createLogger('bench-edge', 'error') });
  // Type-only use: the mqtt module is already loaded by the agent when an MQTT device exists.
  const mqtt = agent.devices.getAdapter('mqtt') as { localPort?: number } | undefined;
  serve(
    { mqttPort: mqtt?.localPort },
    () => {
      const b = agent.buffer.stats();
      const health: Record<string, number> = {};
      for (const h of agent.pipeline.health.all()) health[h.state] = (health[h.state] ?? 0) + 1;
      const mem = process.memoryUsage();
      return {
        committedSeq: b.committedSeq,
        nextSeq: b.nextSeq,
        rows: b.rows,
        bytes: b.bytes,
        pendingInMemory: b.pendingInMemory,
        health,
        protocols: agent.devices.loadedProtocols(),
        uplink: agent.uplink.state(),
        heapMB: mem.heapUsed / 2 ** 20,
        externalMB: mem.external / 2 ** 20,
        arrayBuffersMB: mem.arrayBuffers / 2 ** 20,
        ...procMemory(),
      };
    },
    () => agent.stop(),
  );
}

// ---- collector: the real collector; counts committed readings and live-reading latency from its feed ----

async function collectorRole(a: { dataDir: string; edgeId: string; livePrefix: string; backlog: number }): Promise<void> {
  const { startCollector } = await import('../collector/index.js');
  const { silentLogger } = await import('../core/log.js');
  const c = await startCollector({ overrides: { dataDir: a.dataDir, httpPort: 0, mqttPort: 0 }, log: silentLogger });
  const password = await c.addEdge(a.edgeId);
  let readings = 0;
  let live = 0;
  let backlog = 0;
  let firstAt = 0;
  let backlogDoneAt = 0;
  const lat: number[] = []; // live-reading latency (ms) while the backlog is draining
  const latAfter: number[] = [];
  c.store.feed.subscribe((items) => {
    const now = Date.now();
    if (!firstAt && items.length) firstAt = now;
    for (const it of items) {
      if (it.type !== 'reading') continue;
      readings++;
      if (it.device.startsWith(a.livePrefix)) {
        live++;
        const ts = (it.data as { ts: number }).ts;
        (backlogDoneAt ? latAfter : lat).push(now - ts);
      } else if (++backlog === a.backlog) backlogDoneAt = now;
    }
  });
  const summary = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
    return { n: s.length, p50: q(0.5), p99: q(0.99), max: s[s.length - 1] ?? NaN };
  };
  serve(
    { mqttPort: c.mqttPort, password },
    () => ({ readings, live, backlog, firstAt, backlogDoneAt, latDuring: summary(lat), latAfter: summary(latAfter), ...procMemory() }),
    () => c.stop(),
  );
}

// ---- mqtt publishers: air-quality JSON devices (10 readings per message) ----

interface PublisherArgs {
  url: string;
  username: string;
  password: string;
  topicIds: string[];
  /** flood: as fast as the broker takes them; interval: every device once per intervalMs. */
  mode: 'flood' | 'interval';
  qos: 0 | 1;
  /** Number of MQTT connections the devices are spread over (interval mode: default one per device). */
  connections?: number;
  intervalMs?: number;
  /** QoS 1: unacknowledged publishes per connection. */
  window?: number;
}

function airPayload(ts: number, i: number): string {
  const v = i % 30;
  return `{"ts":${ts},"pm25":${20 + v},"pm10":${35 + v},"so2":0.0${10 + (i % 9)},"no2":0.0${30 + (i % 9)},"o3":0.0${60 + (i % 9)},"co":0.${5 + (i % 4)},"env":{"t":${(15 + v / 10).toFixed(1)},"rh":${40 + v},"p":101.2},"noise":${50 + (i % 15)}}`;
}

async function publisherRole(a: PublisherArgs): Promise<void> {
  const mqtt = (await import('mqtt')).default;
  const conns = Math.max(1, Math.min(a.topicIds.length, a.connections ?? (a.mode === 'interval' ? a.topicIds.length : 4)));
  let sent = 0;
  let acked = 0;
  let running = true;
  const timers: NodeJS.Timeout[] = [];
  const clients: import('mqtt').MqttClient[] = [];
  const connectOne = (k: number) =>
    new Promise<import('mqtt').MqttClient>((resolve, reject) => {
      const c = mqtt.connect(a.url, { username: a.username, password: a.password, clientId: `bench-pub-${process.pid}-${k}`, reconnectPeriod: 1000, connectTimeout: 60_000 });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  // Connect in groups: every CONNECT costs the edge one scrypt (as after an edge restart, devices reconnect spread out).
  for (let k = 0; k < conns; k += 50) {
    const group = await Promise.all(Array.from({ length: Math.min(50, conns - k) }, (_, j) => connectOne(k + j)));
    clients.push(...group);
  }
  const devicesOf = (k: number) => a.topicIds.filter((_, i) => i % conns === k);
  if (a.mode === 'flood') {
    clients.forEach((c, k) => {
      const ids = devicesOf(k);
      const topicsOf = ids.map((id) => `aq/${id}/data`);
      let n = 0;
      if (a.qos === 1) {
        let inFlight = 0;
        const pump = () => {
          while (running && inFlight < (a.window ?? 64)) {
            inFlight++;
            sent++;
            const i = n++;
            c.publish(topicsOf[i % topicsOf.length]!, airPayload(Date.now(), i), { qos: 1 }, () => {
              inFlight--;
              acked++;
              pump();
            });
          }
        };
        pump();
      } else {
        const stream = (c as unknown as { stream: NodeJS.WritableStream & { writableNeedDrain: boolean } }).stream; // mqtt.js keeps its socket here
        const burst = () => {
          if (!running) return;
          for (let j = 0; j < 200; j++) {
            const i = n++;
            c.publish(topicsOf[i % topicsOf.length]!, airPayload(Date.now(), i), { qos: 0 });
            sent++;
          }
          if (stream.writableNeedDrain) stream.once('drain', burst);
          else setImmediate(burst);
        };
        burst();
      }
    });
  } else {
    const every = a.intervalMs ?? 5000;
    a.topicIds.forEach((id, i) => {
      const c = clients[i % conns]!;
      const topic = `aq/${id}/data`;
      const once = () => {
        sent++;
        c.publish(topic, airPayload(Date.now(), i), { qos: a.qos }, () => acked++);
      };
      const start = setTimeout(() => {
        once();
        timers.push(setInterval(once, every));
      }, Math.floor((every * i) / a.topicIds.length)); // spread evenly over the interval
      timers.push(start);
    });
  }
  serve(
    { connections: clients.length },
    () => ({ sent, acked, ...procMemory() }),
    async () => {
      running = false;
      for (const t of timers) clearTimeout(t);
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  );
}

// ---- modbus simulators: radar level gauges, many unit ids per port ----

async function modbusSimRole(a: { ports: number; unitsPerPort: number }): Promise<void> {
  const { startModbusSimulator } = await import('../demo/simulators/modbus-sim.js');
  const units: Record<number, () => { holding: Record<number, number> }> = {};
  for (let u = 1; u <= a.unitsPerPort; u++) {
    const level = 200 + u; // cm, below the 3.5 m warning line: no alarm events
    units[u] = () => ({ holding: { 0: level, 1: 1200, 2: 0x10000 - 68, 3: 1236 } });
  }
  const sims: { port: number; stop(): Promise<void> }[] = [];
  for (let p = 0; p < a.ports; p++) sims.push(await startModbusSimulator(units));
  serve(
    { ports: sims.map((s) => s.port) },
    () => procMemory(),
    async () => {
      await Promise.all(sims.map((s) => s.stop()));
    },
  );
}

// ---- vmagent load: concurrent large InfluxDB line-protocol POSTs ----

async function vmloadRole(a: { port: number; linesPerBody: number; concurrency: number; devices: number }): Promise<void> {
  const http = await import('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: a.concurrency });
  // The same readings as the buffer benchmark: one device/metric/value/timestamp per line.
  const bodies: Buffer[] = [];
  const ts0 = Date.now() - 3_600_000;
  for (let b = 0; b < 8; b++) {
    const lines: string[] = [];
    for (let i = 0; i < a.linesPerBody; i++) {
      const k = b * a.linesPerBody + i;
      lines.push(`water_level,device=dev-${k % a.devices},unit=m value=${(k * 0.01).toFixed(2)} ${ts0 + k}`);
    }
    bodies.push(Buffer.from(lines.join('\n') + '\n'));
  }
  let running = true;
  let posts = 0;
  let lines = 0;
  let errors = 0;
  let lastError = '';
  const post = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const body = bodies[i % bodies.length]!;
      const req = http.request({ host: '127.0.0.1', port: a.port, path: '/write?precision=ms', method: 'POST', agent, headers: { 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 204 || res.statusCode === 200) {
            posts++;
            lines += a.linesPerBody;
          } else {
            errors++;
            lastError = `HTTP ${res.statusCode}`;
          }
          resolve();
        });
      });
      req.on('error', (err) => {
        errors++;
        lastError = err.message;
        resolve();
      });
      req.end(body);
    });
  const loop = async (w: number) => {
    for (let i = w; running; i += a.concurrency) await post(i);
  };
  const loops = Array.from({ length: a.concurrency }, (_, w) => loop(w));
  serve(
    {},
    () => ({ posts, lines, errors, lastError }),
    async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  );
}

const ROLES: Record<string, (args: never) => Promise<void>> = {
  edge: edgeRole,
  collector: collectorRole,
  publisher: publisherRole,
  'modbus-sim': modbusSimRole,
  vmload: vmloadRole,
};

const [role, json] = process.argv.slice(2);
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && role) {
  const run = ROLES[role];
  if (!run) throw new Error(`unknown role ${role}`);
  run(JSON.parse(json ?? '{}') as never).catch((err: unknown) => {
    console.error(`bench child ${role} failed:`, err);
    process.exit(1);
  });
}
