import type { ChangeFeed } from '../cluster/change-feed.js';
import type { DeviceFacts } from '../cohorts/cohort.js';
import type { GroupCommit } from '../db/group-commit.js';
import { AppError } from '../errors.js';
import type { DeviceStore } from './device-store.js';

/**
 * A device's own statement of its facts — model, installed version,
 * attributes — for device protocols where the device says them itself
 * (protocol §11 configData, §12 inventory); cohort rules see them from the
 * next poll on. Durable before it resolves (group-committed); every node's
 * device cache drops the old copy (protocol §9). Unchanged facts write nothing.
 */
export async function setDeviceFacts(
  facts: DeviceFacts,
  deps: { commits: GroupCommit; devices: DeviceStore; now: () => Date; changes?: Pick<ChangeFeed, 'publish'> },
): Promise<boolean> {
  const current = await deps.devices.get(facts.id);
  if (!current) throw new AppError('not_found', `no device ${facts.id}`);
  if (current.model === facts.model && current.version === facts.version && sameAttributes(current.attributes, facts.attributes)) return false;
  await deps.commits.run(async () => {
    await deps.devices.setFacts(facts, deps.now().getTime());
    await deps.changes?.publish('device', facts.id);
  });
  return true;
}

function sameAttributes(a: DeviceFacts['attributes'], b: DeviceFacts['attributes']): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
