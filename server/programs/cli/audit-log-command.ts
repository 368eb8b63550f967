import { verifyAuditChain, type AuditEntry } from '../../audit/audit-chain.js';
import { fetchAll, type ServerOptions } from './http-client.js';
import { println, type CliIo } from './io.js';
import { table } from './text-table.js';

type LogOptions = ServerOptions & { json?: boolean; verify?: boolean; subject?: string };

/**
 * `ota audit log [--verify]`: the server's hash-chained audit log (GET
 * /v1/audit), oldest first; --verify recomputes every entry's hash and its
 * link to the previous one from the genesis hash (docs/protocol-notes.md,
 * "Audit log") and exits 1 naming the first entry that breaks.
 */
export async function auditLog(opts: LogOptions, io: CliIo): Promise<number> {
  const path = opts.subject === undefined ? '/v1/audit' : `/v1/audit?${new URLSearchParams({ subject: opts.subject })}`;
  const entries = await fetchAll<AuditEntry>(opts, io, path, 'entries', 1000);
  if (!entries) return 1;
  // A chain is only checked whole: a subject filter leaves gaps that would read as breaks.
  const check = opts.verify && opts.subject === undefined ? verifyAuditChain(entries) : undefined;
  if (opts.json) println(io.out, JSON.stringify({ entries, ...(check ? { chain: check } : {}) }, null, 2));
  else {
    const rows = entries.map((e) => [e.seq, e.at, e.actor, e.action, e.subject]);
    for (const line of table(['SEQ', 'AT', 'ACTOR', 'ACTION', 'SUBJECT'], rows)) println(io.out, line);
    if (check?.ok) println(io.out, `PASS: ${check.checked} entries, each hash recomputed and linked to the previous entry from the genesis hash`);
    else if (check) println(io.out, `FAIL: the chain breaks at seq ${check.brokenAt}: ${check.reason} (${check.checked} entries before it verify)`);
  }
  if (opts.verify && opts.subject !== undefined) println(io.err, 'ota: --verify checks the whole chain; it is not combined with --subject');
  return check && !check.ok ? 1 : 0;
}

/** Hangs `log` under `ota audit` (audit-command.ts). */
