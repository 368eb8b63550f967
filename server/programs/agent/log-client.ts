import { parseCheckpoint } from '../../protocol/transparency/checkpoint.js';
import { cosignedAt, type Witness } from '../../protocol/transparency/cosignature.js';
import type { AgentState } from './agent-state.js';
import { TransportError, type Transport } from './ports.js';
import { reason, type RejectReason } from './reasons.js';
import type { VerifyCache } from './verify-cache.js';
import { checkOfferLog, consistentWithKept } from './verify-log.js';

/** An agent option: apply only offers whose checkpoint at least `threshold` of these witnesses cosigned. */
export interface WitnessPolicy {
  keys: readonly Witness[];
  threshold: number;
}

/** logged; or refused for good (a `rejected` report); or not yet witnessed enough (try again later, nothing reported). */
export type LogVerdict = { logged: true } | { logged: false; reasons: RejectReason[] } | { logged: false; wait: string };

/** How many of the policy's witnesses cosigned the note (C2SP tlog-cosignature/v1). */
const witnessed = (note: string, policy: WitnessPolicy): number => {
  const cp = parseCheckpoint(note);
  return policy.keys.filter((w) => cosignedAt(cp, w) !== undefined).length;
};

/**
 * protocol §8 for one offer, with the one network call it may need: a
 * consistency proof from the checkpoint the device kept to the offer's
 * larger one (GET /v1/log/proof/consistency). With a witness policy, the
 * checkpoint must also carry enough cosignatures; until it does the offer
 * waits. On success the larger checkpoint becomes the kept one (the caller
 * saves the state).
 */
export async function checkOfferLogged(transport: Transport, st: AgentState, offer: unknown, cache?: VerifyCache, witnesses?: WitnessPolicy): Promise<LogVerdict> {
  const c = checkOfferLog(offer, st.root.signed, st.checkpoint, cache);
  if (!c.ok) return { logged: false, reasons: c.reasons };
  if (witnesses && witnesses.threshold > 0) {
    const count = witnessed(c.checkpoint.note, witnesses);
    if (count < witnesses.threshold) return { logged: false, wait: `checkpoint of size ${c.checkpoint.size} carries ${count} of the ${witnesses.threshold} witness cosignatures required; waiting for them` };
  }
  if (c.consistencyFrom !== undefined && st.checkpoint) {
    const kept = st.checkpoint;
    const res = await transport.get(`/v1/log/proof/consistency?from=${kept.size}&to=${c.checkpoint.size}`);
    // A server that cannot answer now is retried later; one that refuses the proof is not believed.
    if (res.status >= 500 || res.status === 429) throw new TransportError(`consistency proof answered ${res.status}`, res.status);
    const hashes = res.status === 200 ? (res.json as { hashes?: unknown } | undefined)?.hashes : undefined;
    if (!consistentWithKept(kept, c.checkpoint, hashes)) {
      return { logged: false, reasons: [reason('not_logged', `checkpoint of size ${c.checkpoint.size} is not proven consistent with the one verified before (size ${kept.size})`)] };
    }
  }
  st.checkpoint = c.checkpoint;
  return { logged: true };
}
