import { existsSync } from 'node:fs';
import { readJsonFile } from '../../files/json-file.js';
import { parseTimestamp } from '../../protocol/trust/time.js';
import { trustPaths } from '../../trust/trust-folder.js';
import { CliError, describeError, println, type CliIo } from './io.js';
import { loadVerifiedPolicy, resolveRoot } from './trust-chain.js';
import { SIGNING_ROLE, signatureFix, unsignedDiagnosis } from './sign-hint.js';
import { verifyDocument } from './verify-document.js';

export interface VerifyOptions {
  root: string;
  policy?: string;
  at?: string;
}

function instant(at: string | undefined, io: CliIo): Date {
  if (at === undefined) return io.now();
  try {
    return new Date(parseTimestamp(at));
  } catch {
    throw new CliError(`--at must be an RFC 3339 timestamp such as 2026-11-24T10:00:00Z, got "${at}"`);
  }
}

/**
 * `ota verify`: offline, the checks a server or device would make. Exit 0
 * and OK with the signing keyids, or exit 1 with every reason.
 */
export function verifyFile(file: string, opts: VerifyOptions, io: CliIo): number {
  const now = instant(opts.at, io);
  const chain = resolveRoot(opts.root, now);
  const folderPolicy = chain.dir !== undefined ? trustPaths(chain.dir).policy : undefined;
  const policyFile = opts.policy ?? (folderPolicy && existsSync(folderPolicy) ? folderPolicy : undefined);
  const policy = policyFile !== undefined ? loadVerifiedPolicy(policyFile, chain.root) : undefined;
  let doc: unknown;
  try {
    doc = readJsonFile(file);
  } catch (e) {
    throw new CliError(describeError(e));
  }
  const unsigned = unsignedDiagnosis(doc, file);
  if (unsigned) {
    println(io.err, `ota: ${unsigned}`);
    return 1;
  }
  const verdict = verifyDocument(doc, { chain, now, ...(policy ? { policy } : {}) });
  if (verdict.reasons.length) {
    println(io.err, `ota: ${file}: ${verdict.subject} does NOT verify (${verdict.reasons.length} reason${verdict.reasons.length > 1 ? 's' : ''}):`);
    for (const r of verdict.reasons) println(io.err, `  - ${r}`);
    const role = SIGNING_ROLE[String((doc as { signed?: { type?: unknown } }).signed?.type)];
    if (role && verdict.reasons.some((r) => /^(signature_invalid|threshold_not_met)\b/.test(r) || r.includes(`${role} (root v`))) println(io.err, `ota: ${signatureFix(file, role)}`);
    return 1;
  }
  println(io.out, `OK ${verdict.subject}`);
  for (const n of verdict.notes) println(io.out, `  ${n}`);
  for (const k of verdict.signedBy) println(io.out, `  signed by ${k}`);
  return 0;
}
