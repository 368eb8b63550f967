import type { Sql } from '../db/sql.js';
import { serialRefresh } from '../db/view-refresh.js';

export type CancelledOffers = ReturnType<typeof createCancelledOffers>;

/** The change-feed topic of a withdrawn offer; its key is `<rolloutId>:<deviceId>` (a rollout id has no ':'). */
export const CANCELLED_OFFER_TOPIC = 'offer-cancel';
export const cancelledOfferKey = (rolloutId: string, deviceId: string): string => `${rolloutId}:${deviceId}`;

/**
 * protocol §7 cancel-update: offers an operator withdrew from one device,
 * in the store and, for the poll path, in memory (rollout → device ids):
 * a poll asks `has()` per serving rollout with no allocation and no wait.
 * Every node loads the whole set at start and adds what the change feed
 * reports (protocol §9). A cancellation is never undone, so the view only
 * grows; withdrawals of cancelled rollouts are not loaded (they serve no one).
 */
export function createCancelledOffers(sql: Sql) {
  let byRollout = new Map<string, Set<string>>();
  const add = (map: Map<string, Set<string>>, rolloutId: string, deviceId: string): void => {
    let set = map.get(rolloutId);
    if (!set) map.set(rolloutId, (set = new Set()));
    set.add(deviceId);
  };
  const refresh = serialRefresh(async () => {
    const next = new Map<string, Set<string>>();
    const rows = await sql.all<{ rolloutId: string; deviceId: string }>(
      `SELECT c.rollout_id AS "rolloutId", c.device_id AS "deviceId" FROM cancelled_offers c JOIN rollouts r ON r.id = c.rollout_id WHERE r.state <> 'cancelled'`);
    for (const r of rows) add(next, r.rolloutId, r.deviceId);
    byRollout = next;
  });

  return {
    refresh,
    has: (rolloutId: string, deviceId: string): boolean => byRollout.get(rolloutId)?.has(deviceId) ?? false,
    /** A change-feed key: re-read from the store (a change names what changed, never how). */
    async changed(key: string): Promise<void> {
      const at = key.indexOf(':');
      if (at < 0) return;
      const rolloutId = key.slice(0, at);
      const deviceId = key.slice(at + 1);
      if (await sql.value('SELECT 1 FROM cancelled_offers WHERE rollout_id = ? AND device_id = ?', [rolloutId, deviceId])) add(byRollout, rolloutId, deviceId);
    },
    /** When the offer was withdrawn (epoch ms), or undefined. */
    cancelledAt: async (rolloutId: string, deviceId: string): Promise<number | undefined> => {
      const at = await sql.value<number | string>('SELECT cancelled_at FROM cancelled_offers WHERE rollout_id = ? AND device_id = ?', [rolloutId, deviceId]);
      return at === undefined ? undefined : Number(at);
    },
    /** Inside the caller's transaction; the caller publishes the change. */
    async insert(rolloutId: string, deviceId: string, at: number, by: string): Promise<void> {
      await sql.run('INSERT INTO cancelled_offers (rollout_id, device_id, cancelled_at, cancelled_by) VALUES (?, ?, ?, ?) ON CONFLICT (rollout_id, device_id) DO NOTHING',
        [rolloutId, deviceId, at, by]);
    },
  };
}
