import { bearerToken, noBearerToken } from '../auth/tokens.js';
import type { OperatorTokenStore } from '../auth/operator-token-store.js';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../errors.js';
import { DEVICE_TOKEN_PREFIX, deviceTokenHash, sameDigest } from './device-token.js';
import type { Device, DeviceStore } from './device-store.js';

/** Resolves any device token to its device (for routes not scoped to one device id). */
export function deviceTokenResolver(devices: Pick<DeviceStore, 'idByTokenHash'>) {
  return async (token: string): Promise<Principal | undefined> => {
    if (!token.startsWith(DEVICE_TOKEN_PREFIX)) return undefined;
    const id = await devices.idByTokenHash(deviceTokenHash(token));
    return id === undefined ? undefined : { kind: 'device', deviceId: id };
  };
}

/**
 * Routes under /v1/devices/{deviceId}: the fast path reads the device by
 * its id and compares token digests in constant time. 401 without a valid
 * credential; 403 for an operator token or another device's token.
 * Synchronous when the device is cached and the token is its own (every
 * poll of a known device); otherwise it reads the store and returns a promise.
 */
export function deviceForToken(devices: Pick<DeviceStore, 'peek' | 'recall' | 'get' | 'idByTokenHash'>, operators: Pick<OperatorTokenStore, 'authenticate'>, deviceId: string, authorization: string | undefined): Device | Promise<Device> {
  const token = bearerToken(authorization);
  if (token === undefined) throw new AppError('unauthorized', noBearerToken(authorization, 'a device token is required'));
  if (!token.startsWith(DEVICE_TOKEN_PREFIX)) return refuseOperator(operators, token);
  const digest = deviceTokenHash(token);
  // Only a request with the device's own token counts as a use of its cache entry, or puts it there
  // (device-cache.ts): wrong tokens must not decide which devices the cache keeps.
  const cached = devices.peek(deviceId);
  if (cached && sameDigest(cached.tokenHash, digest)) return devices.recall(deviceId) ?? cached;
  return (async () => {
    const device = cached ?? (await devices.get(deviceId, (d) => sameDigest(d.tokenHash, digest)));
    if (device && sameDigest(device.tokenHash, digest)) return device;
    if ((await devices.idByTokenHash(digest)) !== undefined) throw new AppError('forbidden', 'a device may only act on its own resources');
    throw new AppError('unauthorized', 'the token is not valid');
  })();
}

async function refuseOperator(operators: Pick<OperatorTokenStore, 'authenticate'>, token: string): Promise<never> {
  if (await operators.authenticate(token)) throw new AppError('forbidden', 'this route takes a device token, not an operator token');
  throw new AppError('unauthorized', 'the token is not valid');
}
