import { bearerToken } from '../auth/tokens.js';
import type { OperatorTokenStore } from '../auth/operator-token-store.js';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import { DEVICE_TOKEN_PREFIX, deviceTokenHash, sameDigest } from './device-token.js';
import type { Device, DeviceStore } from './device-store.js';

/** Resolves any device token to its device (for routes not scoped to one device id). */
export function deviceTokenResolver(devices: DeviceStore) {
  return (token: string): Principal | undefined => {
    if (!token.startsWith(DEVICE_TOKEN_PREFIX)) return undefined;
    const id = devices.idByTokenHash(deviceTokenHash(token));
    return id === undefined ? undefined : { kind: 'device', deviceId: id };
  };
}

/**
 * Routes under /v1/devices/{deviceId}: the fast path reads the device by
 * its id and compares token digests in constant time. 401 without a valid
 * credential; 403 for an operator token or another device's token.
 */
export function deviceForToken(devices: DeviceStore, operators: OperatorTokenStore, deviceId: string, authorization: string | undefined): Device {
  const token = bearerToken(authorization);
  if (token === undefined) throw new AppError('unauthorized', 'a device token is required');
  if (!token.startsWith(DEVICE_TOKEN_PREFIX)) {
    if (operators.authenticate(token)) throw new AppError('forbidden', 'this route takes a device token, not an operator token');
    throw new AppError('unauthorized', 'the token is not valid');
  }
  const digest = deviceTokenHash(token);
  const device = devices.get(deviceId);
  if (device && sameDigest(device.tokenHash, digest)) return device;
  if (devices.idByTokenHash(digest) !== undefined) throw new AppError('forbidden', 'a device may only act on its own resources');
  throw new AppError('unauthorized', 'the token is not valid');
}
