import { canonicalJson } from '../../protocol/crypto/canonical.js';
import { utf8 } from '../../protocol/crypto/encoding.js';
import { manifestSha256 } from '../../protocol/release-manifest.js';
import { leafHash, MemoryTree } from '../../protocol/transparency/merkle.js';
import type { RootEnvelope } from '../../protocol/trust/root.js';
import type { PolicyEnvelope, SettingValue } from '../../protocol/trust/settings-policy.js';
import type { RootChain } from '../../trust/trust-folder.js';
import { verifyDocument } from './verify-document.js';

/** A consent setting (protocol §3) a logged release touched, and whether it enabled it. */
export interface ConsentTouch {
  index: number;
  releaseId: string;
  key: string;
  value: SettingValue;
  mode: string;
  safeValue: SettingValue | undefined;
  enabled: boolean;
}

export interface EntryFailure {
  index: number;
  reason: string;
}

export type EntryKind = 'root' | 'settings-policy' | 'release' | 'rollout' | 'withdrawal' | 'unknown';

/**
 * protocol §8, the auditor's replay: every entry in log order, checked with
 * nothing but the trusted root chain and what earlier entries proved.
 * Roots join the chain only as its exact next version (§2); policies verify
 * by the root role in force (§3); releases by the release role and the
 * policy in force when they were logged (P1–P3, §3/§4); statements by the
 * online role, binding a release logged before them (§6); withdrawals
 * (§7) by the online role, binding a release logged before them. Expiry is judged
 * at the time the entry claims (its issuedAt): history is audited, not
 * today's validity. Also recomputes the Merkle tree as it goes.
 */
export class LogReplay {
  readonly tree = new MemoryTree();
  readonly failures: EntryFailure[] = [];
  readonly counts: Record<EntryKind, number> = { root: 0, 'settings-policy': 0, release: 0, rollout: 0, withdrawal: 0, unknown: 0 };
  readonly consent: ConsentTouch[] = [];
  /** The kind of every entry, by index. */
  readonly kinds: EntryKind[] = [];
  private readonly chain: { roots: RootEnvelope[]; root: RootChain['root'] };
  private policy: PolicyEnvelope | undefined;
  private readonly releases = new Map<string, string>();
  private readonly statementVersions = new Map<string, number>();
  /** The newest time an entry claimed so far: the clock roots are judged by. */
  private clock = new Date(0);

  constructor(trusted: RootChain) {
    this.chain = { roots: [...trusted.roots], root: trusted.root };
  }

  /** The newest root verified so far (its online keys sign checkpoints). */
  get root(): RootChain['root'] {
    return this.chain.root;
  }

  add(entry: unknown): void {
    const index = this.tree.size;
    this.tree.append(leafHash(utf8(canonicalJson(entry))));
    const type = (entry as { signed?: { type?: unknown } } | null)?.signed?.type;
    const kind: EntryKind = type === 'root' || type === 'settings-policy' || type === 'release' || type === 'rollout' || type === 'withdrawal' ? type : 'unknown';
    this.counts[kind] += 1;
    this.kinds.push(kind);
    const problems = kind === 'unknown' ? ['not a signed document of a known type'] : this.check(kind, entry, index);
    for (const reason of problems) this.failures.push({ index, reason });
  }

  private check(kind: Exclude<EntryKind, 'unknown'>, entry: unknown, index: number): string[] {
    const signed = (entry as { signed: Record<string, unknown> }).signed;
    const issued = typeof signed.issuedAt === 'string' && !Number.isNaN(Date.parse(signed.issuedAt)) ? new Date(signed.issuedAt) : this.clock;
    if (issued > this.clock) this.clock = issued;
    if (kind === 'release' && !this.policy) return ['release logged before any settings policy: P1–P3 cannot hold'];
    const verdict = verifyDocument(entry, { chain: this.chain, policy: this.policy, now: kind === 'root' ? this.clock : issued });
    const problems = [...verdict.reasons];
    if (problems.length) return problems.map((r) => `${verdict.subject}: ${r}`);
    if (kind === 'root') this.acceptRoot(entry as RootEnvelope);
    else if (kind === 'settings-policy') problems.push(...this.acceptPolicy(entry as PolicyEnvelope));
    else if (kind === 'release') problems.push(...this.acceptRelease(signed, index));
    else if (kind === 'withdrawal') problems.push(...this.acceptWithdrawal(signed));
    else problems.push(...this.acceptStatement(signed));
    return problems.map((r) => `${verdict.subject}: ${r}`);
  }

  private acceptRoot(root: RootEnvelope): void {
    if (root.signed.version === this.chain.root.version + 1) {
      this.chain.roots.push(root);
      this.chain.root = root.signed;
    }
  }

  private acceptPolicy(policy: PolicyEnvelope): string[] {
    const before = this.policy?.signed.version;
    if (before !== undefined && policy.signed.version < before) return [`policy version ${policy.signed.version} logged after version ${before} (a rollback)`];
    this.policy = policy;
    return [];
  }

  private acceptRelease(signed: Record<string, unknown>, index: number): string[] {
    const id = signed.id as string;
    const sha = manifestSha256(signed as never);
    const earlier = this.releases.get(id);
    if (earlier !== undefined && earlier !== sha) return [`release id ${id} logged again with other content`];
    this.releases.set(id, sha);
    const policy = (this.policy as PolicyEnvelope).signed;
    for (const s of signed.settings as { key: string; value: SettingValue; mode: string }[]) {
      const spec = Object.hasOwn(policy.settings, s.key) ? policy.settings[s.key] : undefined;
      if (!spec?.consent) continue;
      this.consent.push({ index, releaseId: id, key: s.key, value: s.value, mode: s.mode, safeValue: spec.safeValue, enabled: s.value !== spec.safeValue });
    }
    return [];
  }

  /** protocol §7: a withdrawal names a release logged before it, by its exact manifest. */
  private acceptWithdrawal(signed: Record<string, unknown>): string[] {
    const releaseId = signed.releaseId as string;
    const bound = this.releases.get(releaseId);
    if (bound === undefined) return [`withdraws release ${releaseId}, which was not logged before it`];
    if (bound !== signed.manifestSha256) return [`withdraws manifest ${String(signed.manifestSha256).slice(0, 12)}…, the logged ${releaseId} is ${bound.slice(0, 12)}…`];
    return [];
  }

  private acceptStatement(signed: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const releaseId = signed.releaseId as string;
    const bound = this.releases.get(releaseId);
    if (bound === undefined) problems.push(`binds release ${releaseId}, which was not logged before it`);
    else if (bound !== signed.manifestSha256) problems.push(`binds manifest ${String(signed.manifestSha256).slice(0, 12)}…, the logged ${releaseId} is ${bound.slice(0, 12)}…`);
    const rolloutId = signed.rolloutId as string;
    const version = signed.version as number;
    const seen = this.statementVersions.get(rolloutId);
    if (seen !== undefined && version < seen) problems.push(`statement version ${version} logged after version ${seen}`);
    else this.statementVersions.set(rolloutId, version);
    return problems;
  }
}
