// node-opcua writes its own plain-text lines to stdout (through node-opcua-debug); the edge's logs are JSON
// lines only, so its loggers are pointed at ours, at a level that fits what they say.
import { format } from 'node:util';
import { setDebugLogger, setErrorLogger, setTraceLogger, setWarningLogger } from 'node-opcua-debug';
import type { AdapterLogger } from '../adapter.js';

interface Context {
  filename: string;
  callerline: number;
}

/**
 * [NODE-OPCUA-W27] is printed on every start under Node 20.11+: Node refuses RSA PKCS#1 v1.5 decryption
 * (CVE-2023-46809). Only the deprecated Basic128Rsa15 policy needs it, so it is debug, not a warning.
 */
const HARMLESS = /NODE-OPCUA-W27|security-revert=CVE-2023-46809/;
const PROGRESS = /Creating default certificate/;

/** Routes node-opcua's console output (process-wide: node-opcua's loggers are module singletons) into `log`. */
export function routeNodeOpcuaLogs(log: AdapterLogger): void {
  const to = (level: 'debug' | 'info' | 'warn' | 'error') => (context?: unknown, ...args: unknown[]) => {
    const ctx = (context ?? {}) as Partial<Context>; // node-opcua-debug passes its caller context first
    const msg = format(...args).trim();
    const at = { source: 'node-opcua', file: ctx.filename, line: ctx.callerline };
    if (HARMLESS.test(msg)) log.debug(at, msg);
    else if (PROGRESS.test(msg)) log.info(at, msg);
    else log[level](at, msg);
  };
  setWarningLogger(to('warn'));
  setErrorLogger(to('error'));
  setTraceLogger(to('debug'));
  setDebugLogger(to('debug'));
}
