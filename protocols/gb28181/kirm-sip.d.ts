// Types for the parts of the `sip` package (kirm/sip.js, CommonJS, untyped) that sip.ts uses.
declare module 'sip' {
  export interface SipUri {
    schema?: string;
    user?: string;
    password?: string;
    host: string;
    port?: number;
    params: Record<string, string | null>;
    headers?: Record<string, string>;
  }
  export interface SipAor {
    name?: string;
    uri: string;
    params: Record<string, string | null>;
  }
  export interface SipVia {
    version?: string;
    protocol?: string;
    host?: string;
    port?: number;
    params: Record<string, string | number | null>;
  }
  export interface SipMessage {
    method?: string;
    uri?: string | SipUri;
    status?: number;
    reason?: string;
    version?: string;
    // header values are parsed objects for known headers (via, to, from, cseq, contact, ...) and strings otherwise
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    headers: Record<string, any>;
    /** The body as a latin1 ("binary") string: one char per byte. */
    content?: string;
  }
  export interface SipConnection {
    send(m: SipMessage): void;
    release(): void;
    protocol: string;
  }
  export interface SipTransaction {
    send?(m: SipMessage): void;
    message?(m: SipMessage, remote?: unknown): void;
    shutdown(): void;
  }
  export interface SipTransactionLayer {
    createServerTransaction(rq: SipMessage, cn: SipConnection): SipTransaction;
    createClientTransaction(cn: SipConnection, rq: SipMessage, callback: (rs: SipMessage) => void): SipTransaction;
    getServer(m: SipMessage): SipTransaction | undefined;
    getClient(m: SipMessage): SipTransaction | undefined;
    destroy(): void;
  }
  const sip: {
    parse(data: string | Buffer): SipMessage | undefined;
    stringify(m: SipMessage): string;
    makeResponse(rq: SipMessage, status: number, reason?: string, extension?: { headers?: Record<string, unknown>; content?: string }): SipMessage;
    parseUri(s: string | SipUri): SipUri | undefined;
    stringifyUri(u: string | SipUri): string;
    generateBranch(): string;
    makeTransactionLayer(options: object, transport?: unknown): SipTransactionLayer;
  };
  export default sip;
}

declare module 'sip/digest.js' {
  import type { SipMessage } from 'sip';
  export interface DigestContext {
    realm?: string;
    nonce?: string;
    nc?: number;
  }
  const digest: {
    signRequest(ctx: DigestContext | undefined, rq: SipMessage, rs: SipMessage | undefined, creds: { user: string; password: string }): DigestContext | null;
    calculateDigest(ctx: { ha1: string; method: string; nonce: string; nc?: string; cnonce?: string; qop?: string; uri: string; entity?: string }): string;
    calculateUserRealmPasswordHash(user: string, realm: string, password: string): string;
  };
  export default digest;
}
