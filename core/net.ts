// Small networking helpers shared by the demo, simulators and tests.
import { createServer, type AddressInfo } from 'node:net';

/** A TCP port on host that was free a moment ago: listen on port 0, note the port the OS chose, close. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
