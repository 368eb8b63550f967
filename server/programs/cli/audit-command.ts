import { toHex } from '../../protocol/crypto/encoding.js';
import { onlineKeysOf, proofHashes, type KeptCheckpoint } from '../agent/verify-log.js';
import { parseCheckpoint, verifyCheckpoint, type ParsedCheckpoint } from '../../protocol/transparency/checkpoint.js';
import { equalBytes, verifyConsistency } from '../../protocol/transparency/merkle.js';
import { serverUrl } from './http-client.js';
import { get, getJson } from './log-fetch.js';
import { CliError, describeError, println, type CliIo } from './io.js';
import { keep, keptReason, readKept } from './kept-checkpoint.js';
import { LogReplay, type EntryFailure } from './log-audit.js';
import { table } from './text-table.js';
import { resolveRoot } from './trust-chain.js';

export interface AuditFlags {
  server: string;
  root: string;
  state?: string;
  json?: boolean;
}

const PAGE = 1000;

/**
 * The first index whose recomputed prefix the signed tree does not extend:
 * prefixes are consistent up to the first bad entry and never after, so a
 * binary search over consistency proofs (RFC 9162 §2.1.4) finds it in
 * O(log n) requests. undefined = every prefix checked is consistent.
 */
async function firstDivergence(server: string, replay: LogReplay, cp: ParsedCheckpoint): Promise<number | undefined> {
  const consistentAt = async (m: number): Promise<boolean> => {
    if (m === cp.size) return equalBytes(replay.tree.root(m), cp.rootHash);
    const body = (await getJson(server, `/v1/log/proof/consistency?from=${m}&to=${cp.size}`)) as { hashes?: unknown };
    const proof = proofHashes(body.hashes);
    return proof !== undefined && verifyConsistency(m, cp.size, replay.tree.root(m), cp.rootHash, proof);
  };
  const n = Math.min(replay.tree.size, cp.size);
  if (n === 0) return cp.size > 0 ? 0 : undefined;
  if (await consistentAt(n)) return n < cp.size ? n : undefined;
  let lo = 0; // largest prefix known consistent (0 always is)
  let hi = n; // smallest prefix known inconsistent
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await consistentAt(mid)) lo = mid;
    else hi = mid;
  }
  return hi - 1;
}

function progress(io: CliIo, done: number, total: number): void {
  if (!io.errIsTTY || total < 2 * PAGE) return;
  io.err(`\rota audit: ${done}/${total} entries (${Math.floor((done * 100) / total)}%)${done === total ? '\n' : ''}`);
}

/**
 * `ota audit`: protocol §8 from the outside, trusting nothing but --root.
 * Exit 0 when every entry verifies, the recomputed tree is the signed one
 * and (with --state) the log extends the one kept last time; else exit 1
 * naming the first failing entry's index and reason.
 */
export async function auditTransparencyLog(flags: AuditFlags, io: CliIo): Promise<number> {
  serverUrl(flags.server);
  // The anchor's signatures are checked, not its expiry: an audit replays history, and devices
  // shipped with a root v1 long expired still walk the chain from it (protocol §2).
  const chain = resolveRoot(flags.root, new Date(0));
  const kept = flags.state !== undefined ? readKept(flags.state) : undefined;
  const note = await get(flags.server, '/v1/log/checkpoint');
  if (note.status !== 200) throw new CliError(`GET /v1/log/checkpoint answered ${note.status}`);

  const replay = new LogReplay(chain);
  const failures: EntryFailure[] = [];
  // Parsed here for its size; its signature is checked after the replay, by the newest root verified.
  let total: number;
  try {
    total = parseCheckpoint(note.text).size;
  } catch (e) {
    throw new CliError(`the server's checkpoint does not parse: ${describeError(e)}`);
  }
  // A server may answer a prefix of the range (a byte cap per answer, protocol-notes "Log entries"): go on from where it ended.
  for (let start = 0; start < total;) {
    const end = Math.min(start + PAGE, total);
    const body = (await getJson(flags.server, `/v1/log/entries?start=${start}&end=${end}`)) as { entries?: unknown };
    const entries = Array.isArray(body.entries) ? body.entries : [];
    for (const e of entries.slice(0, end - start)) replay.add(e);
    progress(io, Math.min(replay.tree.size, total), total);
    if (entries.length === 0) {
      failures.push({ index: replay.tree.size, reason: `the server sent no entries for [${start}, ${end}): entries are missing` });
      break;
    }
    start += Math.min(entries.length, end - start);
  }
  failures.push(...replay.failures);
  // A server logs its trust root before anything else; a log without one (an emptied log included) is not that history.
  if (replay.counts.root === 0) failures.push({ index: 0, reason: 'the log holds no root document, yet every server logs its trust root first' });

  const signed = verifyCheckpoint(note.text, onlineKeysOf(replay.root));
  let checkpoint: KeptCheckpoint | undefined;
  if (!signed.ok) failures.push({ index: Math.max(0, total - 1), reason: `checkpoint: ${signed.message} (online keys of root v${replay.root.version})` });
  else {
    const cp = signed.checkpoint;
    checkpoint = { origin: cp.origin, size: cp.size, rootHash: toHex(cp.rootHash), note: note.text };
    const bad = await firstDivergence(flags.server, replay, cp);
    if (bad !== undefined) failures.push({ index: bad, reason: `entry ${bad} is not the entry the signed checkpoint commits to (edited, removed, reordered or swapped)` });
    if (kept) {
      const reason = await keptReason(flags.server, kept, checkpoint);
      if (reason) failures.push({ index: Math.max(0, Math.min(kept.size, cp.size) - 1), reason });
    }
  }
  failures.sort((a, b) => a.index - b.index);
  const ok = failures.length === 0;
  if (ok && flags.state !== undefined && checkpoint) keep(flags.state, checkpoint);
  print(io, flags, replay, total, checkpoint, failures, kept);
  return ok ? 0 : 1;
}

const kindAt = (replay: LogReplay, index: number): string | undefined => replay.kinds[index];

function print(io: CliIo, flags: AuditFlags, replay: LogReplay, total: number, cp: KeptCheckpoint | undefined, failures: EntryFailure[], kept: KeptCheckpoint | undefined): void {
  const enabled = replay.consent.filter((c) => c.enabled);
  if (flags.json) {
    println(io.out, JSON.stringify({
      ok: failures.length === 0, server: flags.server, checkpoint: cp ? { origin: cp.origin, size: cp.size, rootHash: cp.rootHash } : null,
      entries: replay.tree.size, counts: replay.counts, consentSettings: replay.consent, consentEnabled: enabled.length,
      keptSize: kept?.size ?? null, failures,
    }, null, 2));
    return;
  }
  println(io.out, `ota audit: ${flags.server} log ${cp?.origin ?? '?'}, checkpoint size ${total}, root ${cp?.rootHash ?? '?'}`);
  println(io.out);
  const rows = (['root', 'settings-policy', 'release', 'rollout', 'withdrawal', 'unknown'] as const).filter((k) => k !== 'unknown' || replay.counts.unknown > 0)
    .map((k) => [k, replay.counts[k], replay.counts[k] - new Set(failures.filter((f) => kindAt(replay, f.index) === k).map((f) => f.index)).size]);
  for (const line of table(['entries', 'logged', 'verified'], rows)) println(io.out, line);
  println(io.out);
  println(io.out, 'consent settings any logged release touched (protocol §3 P2: only ever to the safe value)');
  if (replay.consent.length === 0) println(io.out, '  none');
  else for (const line of table(['index', 'release', 'setting', 'mode', 'value', 'safe value', 'enabled'], replay.consent.map((c) => [c.index, c.releaseId, c.key, c.mode, JSON.stringify(c.value), JSON.stringify(c.safeValue ?? null), c.enabled ? 'YES' : 'no']))) println(io.out, `  ${line}`);
  println(io.out, enabled.length === 0 ? 'no release in the log ever enabled a consent setting' : `${enabled.length} consent setting change(s) ENABLE a consent setting`);
  if (kept) println(io.out, `consistency with the checkpoint kept in ${flags.state} (size ${kept.size}): ${failures.some((f) => /kept last time/.test(f.reason)) ? 'FAIL' : 'ok'}`);
  println(io.out);
  const first = failures[0];
  if (first) {
    println(io.out, `FAIL: entry ${first.index}: ${first.reason}`);
    for (const f of failures.slice(1, 20)) println(io.out, `  also entry ${f.index}: ${f.reason}`);
  } else println(io.out, `PASS: ${replay.tree.size} entries verified, the recomputed tree is the signed checkpoint${flags.state ? `, kept in ${flags.state}` : ''}`);
}

/** `ota audit` — and the command other audit subcommands (e.g. `ota audit log`) hang from. */
