import { startOpcuaServer } from '../../fixtures/opcua-server.js';
const t0 = Date.now();
const sim = await startOpcuaServer({ simulateIntervalMs: 200 });
console.log('started in', Date.now() - t0, sim.endpoint);
const { OPCUAClient, AttributeIds } = await import('node-opcua');
const c = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 } });
const t1 = Date.now();
await c.connect(sim.endpoint);
const s = await c.createSession();
console.log('client in', Date.now() - t1);
for (const id of Object.values(sim.nodeIds)) {
  const dv = await s.read({ nodeId: id, attributeId: AttributeIds.Value });
  console.log(id, dv.value.dataType, dv.value.value, dv.statusCode.name, dv.sourceTimestamp);
}
sim.setValue('pH', 3, 'BadSensorFailure');
const dv = await s.read({ nodeId: sim.nodeIds.pH!, attributeId: AttributeIds.Value });
console.log(dv.toString());
await s.close(); await c.disconnect(); await sim.stop();
console.log('rss', process.memoryUsage().rss/1e6);
