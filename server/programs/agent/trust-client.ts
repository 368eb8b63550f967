import { describeThreshold } from '../../protocol/crypto/envelope.js';
import { parseRoot, type RootEnvelope } from '../../protocol/trust/root.js';
import { parsePolicy, type PolicyEnvelope } from '../../protocol/trust/settings-policy.js';
import { isExpired } from '../../protocol/trust/time.js';
import { TransportError, type Transport } from './ports.js';
import { reason, type RejectReason } from './reasons.js';
import { nextRootReasons, verifyRole, type VerifyCache } from './verify-cache.js';

export interface TrustSnapshot {
  root: RootEnvelope;
  policy?: PolicyEnvelope;
  /** ETag of the held policy as served: the next check is a conditional GET (304 when unchanged). */
  policyEtag?: string;
}

export interface TrustRefresh extends TrustSnapshot {
  /** Empty when the device trusts its root and policy; otherwise why not (every offer is then refused). */
  problems: RejectReason[];
}

export interface TrustOptions {
  cache?: VerifyCache;
  /** Called after each root version is trusted, so progress survives a crash (TUF 5.3.8). */
  onRoot?: (root: RootEnvelope) => Promise<void>;
  /** Upper bound on root versions walked in one refresh. */
  maxSteps?: number;
}

const errorText = (e: unknown): string => {
  const details = (e as { details?: { path?: string; message: string }[] }).details ?? [];
  return [(e as Error).message, ...details.map((d) => `${d.path ?? ''} ${d.message}`.trim())].join(': ');
};

/** A response the device cannot act on is treated as the server being unavailable. */
function unexpected(path: string, status: number): never {
  throw new TransportError(`GET ${path} answered ${status}`, status);
}

/**
 * protocol §2: walks GET /v1/trust/root/{n} for n = trusted+1… until 404,
 * accepting each version only under checkNextRoot (TUF 5.3); the newest must
 * not have expired. Network failures throw TransportError; refusals come
 * back as problems with the last trusted root.
 */
export async function walkRoots(transport: Transport, trusted: RootEnvelope, now: Date, opts: TrustOptions = {}): Promise<{ root: RootEnvelope; problems: RejectReason[] }> {
  let root = trusted;
  for (let step = 0; step < (opts.maxSteps ?? 1024); step++) {
    const path = `/v1/trust/root/${root.signed.version + 1}`;
    const res = await transport.get(path);
    if (res.status === 404) break;
    if (res.status !== 200) unexpected(path, res.status);
    let next: RootEnvelope;
    try {
      next = parseRoot(res.json);
    } catch (e) {
      return { root, problems: [reason('root_chain_invalid', `root v${root.signed.version + 1} is malformed: ${errorText(e)}`)] };
    }
    const reasons = nextRootReasons(opts.cache, root.signed, next);
    if (reasons.length) return { root, problems: [reason('root_chain_invalid', `root v${next.signed.version} refused: ${reasons.join('; ')}`)] };
    root = next;
    await opts.onRoot?.(root);
  }
  if (isExpired(root.signed.expires, now)) return { root, problems: [reason('root_expired', `root v${root.signed.version} expired at ${root.signed.expires}`)] };
  return { root, problems: [] };
}

/**
 * protocol §3: GET /v1/trust/policy, accepted only when signed by a
 * threshold of the newest trusted root's root role and not older than the
 * policy the device already holds.
 */
export async function fetchPolicy(
  transport: Transport,
  root: RootEnvelope,
  held: PolicyEnvelope | undefined,
  cache?: VerifyCache,
  heldEtag?: string,
): Promise<{ policy?: PolicyEnvelope; policyEtag?: string; problems: RejectReason[] }> {
  const path = '/v1/trust/policy';
  const res = await transport.get(path, held && heldEtag ? { 'If-None-Match': heldEtag } : {});
  // Unchanged since verified; it is still checked against a root that may have rotated since.
  if (res.status === 304 && held) return checkPolicy(held, root, undefined, cache, heldEtag);
  if (res.status === 404) return { problems: [reason('policy_unavailable', 'the server has no settings policy')] };
  if (res.status !== 200) unexpected(path, res.status);
  let policy: PolicyEnvelope;
  try {
    policy = parsePolicy(res.json);
  } catch (e) {
    return { problems: [reason('policy_invalid', `settings policy is malformed: ${errorText(e)}`)] };
  }
  return checkPolicy(policy, root, held, cache, res.header('etag') ?? undefined);
}

function checkPolicy(policy: PolicyEnvelope, root: RootEnvelope, held: PolicyEnvelope | undefined, cache: VerifyCache | undefined, etag: string | undefined): { policy?: PolicyEnvelope; policyEtag?: string; problems: RejectReason[] } {
  const byRoot = verifyRole(cache, root.signed, 'root', policy);
  if (!byRoot.met) return { problems: [reason('policy_invalid', `settings policy v${policy.signed.version} is not signed by root v${root.signed.version}: ${describeThreshold('root', byRoot)}`)] };
  if (held && policy.signed.version < held.signed.version) {
    return { problems: [reason('policy_invalid', `settings policy v${policy.signed.version} is older than v${held.signed.version} already trusted`)] };
  }
  return { policy, ...(etag ? { policyEtag: etag } : {}), problems: [] };
}

/** One trust refresh: the root chain, then the policy under the newest root. */
export async function refreshTrust(transport: Transport, current: TrustSnapshot, now: Date, opts: TrustOptions = {}): Promise<TrustRefresh> {
  const walked = await walkRoots(transport, current.root, now, opts);
  if (walked.problems.length) return { root: walked.root, policy: current.policy, problems: walked.problems };
  const fetched = await fetchPolicy(transport, walked.root, current.policy, opts.cache, current.policyEtag);
  return { root: walked.root, policy: fetched.policy ?? current.policy, policyEtag: fetched.policyEtag, problems: fetched.problems };
}
