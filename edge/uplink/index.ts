// Public surface of the edge -> collector MQTT uplink.
export { Uplink, type UplinkOptions, type UplinkState } from './uplink.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { TokenBucket } from './token-bucket.js';
