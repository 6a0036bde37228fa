// SIP dialogs of the device (catalog subscriptions, live-view calls): identifiers and in-dialog requests.
import { randomBytes } from 'node:crypto';
import sip from 'sip';
import type { Peer, SipEndpoint, SipMessage } from './sip.js';

export const USER_AGENT = 'yiwang-edge';

export const newTag = () => randomBytes(6).toString('hex');
export const newCallId = () => randomBytes(12).toString('hex');
/** The user part of a SIP URI (a GB/T 28181 id). */
export const userOf = (uri: unknown): string | undefined => (typeof uri === 'string' ? sip.parseUri(uri)?.user : undefined);

export interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  remoteUri: string;       // their Contact (request URI of our in-dialog requests)
  localUri: string;        // our AOR in the dialog
  remoteAor: string;       // their AOR
  cseq: number;
}

/** The dialog a request (SUBSCRIBE, INVITE) opens, with our tag. */
export function dialogFrom(rq: SipMessage, localTag: string): Dialog {
  const contact = rq.headers.contact?.[0]?.uri ?? rq.headers.from.uri;
  return {
    callId: rq.headers['call-id'],
    localTag,
    remoteTag: rq.headers.from.params?.tag ?? '',
    remoteUri: contact,
    localUri: rq.headers.to.uri,
    remoteAor: rq.headers.from.uri,
    cseq: 0,
  };
}

/** A request inside a dialog (NOTIFY, BYE), sent to the platform's address whatever its Contact says (NAT). */
export function inDialogRequest(ep: SipEndpoint, to: Peer, d: Dialog, method: string, headers: Record<string, unknown> = {}, content?: Buffer): Promise<SipMessage> {
  return ep.request(
    {
      method,
      uri: d.remoteUri,
      headers: {
        to: { uri: d.remoteAor, params: { tag: d.remoteTag } },
        from: { uri: d.localUri, params: { tag: d.localTag } },
        'call-id': d.callId,
        cseq: { method, seq: ++d.cseq },
        'max-forwards': 70,
        'user-agent': USER_AGENT,
        ...headers,
      },
      content: content?.toString('latin1'),
    },
    to,
  );
}
