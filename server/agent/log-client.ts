import type { AgentState } from './agent-state.js';
import { TransportError, type Transport } from './ports.js';
import { reason, type RejectReason } from './reasons.js';
import type { VerifyCache } from './verify-cache.js';
import { checkOfferLog, consistentWithKept } from './verify-log.js';

/**
 * protocol §8 for one offer, with the one network call it may need: a
 * consistency proof from the checkpoint the device kept to the offer's
 * larger one (GET /v1/log/proof/consistency). On success the larger
 * checkpoint becomes the kept one (the caller saves the state).
 */
export async function checkOfferLogged(transport: Transport, st: AgentState, offer: unknown, cache?: VerifyCache): Promise<RejectReason[]> {
  const c = checkOfferLog(offer, st.root.signed, st.checkpoint, cache);
  if (!c.ok) return c.reasons;
  if (c.consistencyFrom !== undefined && st.checkpoint) {
    const kept = st.checkpoint;
    const res = await transport.get(`/v1/log/proof/consistency?from=${kept.size}&to=${c.checkpoint.size}`);
    // A server that cannot answer now is retried later; one that refuses the proof is not believed.
    if (res.status >= 500 || res.status === 429) throw new TransportError(`consistency proof answered ${res.status}`, res.status);
    const hashes = res.status === 200 ? (res.json as { hashes?: unknown } | undefined)?.hashes : undefined;
    if (!consistentWithKept(kept, c.checkpoint, hashes)) {
      return [reason('not_logged', `checkpoint of size ${c.checkpoint.size} is not proven consistent with the one verified before (size ${kept.size})`)];
    }
  }
  st.checkpoint = c.checkpoint;
  return [];
}
