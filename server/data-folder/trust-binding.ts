import { canonicalJson } from '../protocol/crypto/canonical.js';
import { sha256Hex } from '../protocol/crypto/hash.js';
import type { RootEnvelope } from '../protocol/trust/root.js';
import type { TrustBindingStore } from './trust-binding-store.js';

/**
 * Which trust a data folder's state was made under: the chain's anchor
 * (SHA-256 of the JCS of root v1's signed body: rotations keep it, another
 * `trust init` does not), root v1's root keyids, and the newest root
 * version it has served.
 */
export interface TrustBinding {
  anchor: string;
  rootKeyids: string[];
  version: number;
}

export class TrustMismatchError extends Error {}

export function bindingOf(roots: readonly RootEnvelope[]): TrustBinding {
  const first = roots[0];
  const last = roots[roots.length - 1];
  if (!first || !last) throw new TrustMismatchError('the trust folder has no root');
  return { anchor: sha256Hex(canonicalJson(first.signed)), rootKeyids: [...first.signed.roles.root.keyids].sort(), version: last.signed.version };
}

const short = (b: TrustBinding): string => `anchor ${b.anchor.slice(0, 12)}…, root keys ${b.rootKeyids.map((k) => k.slice(0, 8)).join(' ')}, v${b.version}`;

/**
 * A data folder remembers the trust it was created under and refuses
 * another (or an older copy of the same chain) unless told to switch:
 * releases, statements and the demo in it were accepted under that root.
 * Returns what changed: 'bound' (first start), 'rotated' (a newer version
 * of the same chain), 'switched', or 'same'.
 */
export async function checkTrustBinding(
  store: TrustBindingStore,
  roots: readonly RootEnvelope[],
  opts: { switchTrust: boolean; trustDir: string; dataDir: string; at: string },
): Promise<{ outcome: 'bound' | 'same' | 'rotated' | 'switched'; previous?: TrustBinding }> {
  const now = bindingOf(roots);
  const previous = await store.get();
  if (!previous) {
    await store.save(now, opts.at);
    return { outcome: 'bound' };
  }
  const sameChain = previous.anchor === now.anchor;
  if (sameChain && now.version === previous.version) return { outcome: 'same' };
  if (sameChain && now.version > previous.version) {
    await store.save(now, opts.at);
    return { outcome: 'rotated', previous };
  }
  if (!opts.switchTrust) {
    const why = sameChain
      ? `the trust folder ${opts.trustDir} holds root v${now.version}, older than v${previous.version} which data folder ${opts.dataDir} has already served (a stale copy?)`
      : `data folder ${opts.dataDir} was created under another trust root (${short(previous)}) than the trust folder ${opts.trustDir} (${short(now)})`;
    throw new TrustMismatchError(
      `${why}. Start with the trust folder it was created under, or use another data folder; ` +
        `to re-bind this one on purpose pass --switch-trust (OTA_SWITCH_TRUST=1): what it holds was accepted under the old root.`,
    );
  }
  await store.save(now, opts.at);
  return { outcome: 'switched', previous };
}
