import { canonicalJson } from '../../server/protocol/crypto/canonical.js';
import { toHex, utf8 } from '../../server/protocol/crypto/encoding.js';
import type { PrivateKey } from '../../server/protocol/crypto/keys.js';
import { ed25519Signer } from '../../server/protocol/crypto/signer.js';
import { parseCheckpoint, signCheckpoint } from '../../server/protocol/transparency/checkpoint.js';
import { cosign } from '../../server/protocol/transparency/cosignature.js';
import { consistencyProof, inclusionPath, leafHash, MemoryTree } from '../../server/protocol/transparency/merkle.js';

export interface LogMember {
  checkpoint: string;
  releaseIndex: number;
  releaseProof: string[];
  rolloutIndex: number;
  rolloutProof: string[];
}

/** A transparency log kept in memory by test servers (protocol §8), signing with `key`. */
export class FakeLog {
  readonly tree = new MemoryTree();
  private readonly indexes = new Map<string, number>();
  /** Signed notes by size and key: signing on every poll would slow the fake fleet's server. */
  private readonly notes = new Map<string, string>();

  /** Witnesses whose cosignatures (C2SP tlog-cosignature/v1) every note carries. */
  witnesses: { name: string; key: PrivateKey }[] = [];

  constructor(
    public key: PrivateKey,
    readonly origin = 'ota.local/log',
  ) {}

  get size(): number {
    return this.tree.size;
  }

  /** Appends the envelope unless it is logged already; its index. */
  add(envelope: unknown): number {
    const leaf = leafHash(utf8(canonicalJson(envelope)));
    const hex = toHex(leaf);
    let index = this.indexes.get(hex);
    if (index === undefined) {
      index = this.tree.append(leaf);
      this.indexes.set(hex, index);
    }
    return index;
  }

  note(size = this.size, key = this.key): string {
    const memo = `${size}:${key.keyval.public}:${this.witnesses.map((w) => `${w.name}=${w.key.keyval.public}`).join(',')}`;
    let note = this.notes.get(memo);
    if (note === undefined) {
      note = signCheckpoint({ origin: this.origin, size, rootHash: this.tree.root(size) }, ed25519Signer(key), key.keyval.public);
      const body = parseCheckpoint(note).body;
      for (const w of this.witnesses) note += cosign(body, w.name, ed25519Signer(w.key), w.key.keyval.public, 1_800_000_000);
      this.notes.set(memo, note);
    }
    return note;
  }

  /** The poll offer's `log` member for an offer, logging its envelopes first. */
  member(offer: { release: unknown; rollout: unknown }, key = this.key): LogMember {
    const releaseIndex = this.add(offer.release);
    const rolloutIndex = this.add(offer.rollout);
    const size = this.size;
    return {
      checkpoint: this.note(size, key),
      releaseIndex,
      releaseProof: inclusionPath(this.tree, releaseIndex, size).map(toHex),
      rolloutIndex,
      rolloutProof: inclusionPath(this.tree, rolloutIndex, size).map(toHex),
    };
  }

  consistency(from: number, to: number): string[] {
    return consistencyProof(this.tree, from, to).map(toHex);
  }
}
