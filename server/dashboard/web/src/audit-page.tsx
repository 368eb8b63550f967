import { useState } from 'preact/hooks';
import { allPages, enc } from './api.js';
import type { Session } from './app.js';
import { messageOf, Problem, useLoad } from './common.js';
import { json, short, when } from './format.js';
import { verifyChain, type ChainResult } from './audit-verify.js';
import type { AuditEntry, AuditPage } from './types.js';

const PAGE = 50;

/** The audit log newest first, paged by the server (order=desc), with the hash chain checked here. */
export function AuditPage({ session }: { session: Session }) {
  const [cursors, setCursors] = useState<string[]>(['']);
  const cursor = cursors[cursors.length - 1] ?? '';
  const page = useLoad(
    () => session.api<AuditPage>('GET', `/v1/audit?order=desc&limit=${PAGE}${cursor ? `&cursor=${enc(cursor)}` : ''}`),
    `audit:${cursor}`,
  );
  const [check, setCheck] = useState<{ busy: boolean; result?: ChainResult; error?: string }>({ busy: false });

  const verify = async () => {
    setCheck({ busy: true });
    try {
      const all = await allPages<AuditEntry>(session.api, '/v1/audit', 'entries', 1000, 10_000);
      setCheck({ busy: false, result: await verifyChain(all) });
    } catch (e) {
      setCheck({ busy: false, error: messageOf(e) });
    }
  };

  const entries = page.data?.entries ?? [];
  return (
    <>
      <h1>Audit log</h1>
      <div class="toolbar">
        <button type="button" onClick={() => void verify()} disabled={check.busy}>
          Verify chain
        </button>
        <button type="button" onClick={page.reload}>
          Refresh
        </button>
      </div>
      <div role="status" data-testid="chain-result">
        {check.busy && <p>Fetching every entry and recomputing the chain…</p>}
        {check.result?.ok === true && (
          <p class="ok">
            <span aria-hidden="true">✔ </span>Chain verified: {check.result.checked} entries from seq 1
            {check.result.lastSeq !== null ? ` to seq ${check.result.lastSeq}` : ''}, every hash and link recomputed with WebCrypto.
          </p>
        )}
        {check.result?.ok === false && (
          <p class="alarm">
            <strong>
              <span aria-hidden="true">⚠ </span>Chain broken at seq {check.result.brokenAt}:
            </strong>{' '}
            {check.result.reason} ({check.result.checked} entries before it verify).
          </p>
        )}
      </div>
      <Problem text={check.error ?? page.error} />
      <div class="table-wrap">
        <table class="audit">
          <thead>
            <tr>
              <th scope="col" class="num">Seq</th>
              <th scope="col">At</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Subject</th>
              <th scope="col">Details</th>
              <th scope="col">Hash</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.seq} class={check.result?.ok === false && check.result.brokenAt === e.seq ? 'row-alarm' : undefined}>
                <th scope="row" class="num">
                  {e.seq}
                </th>
                <td>{when(e.at)}</td>
                <td>{e.actor}</td>
                <td>{e.action}</td>
                <td>{e.subject}</td>
                <td class="details">
                  <code>{json(e.details)}</code>
                </td>
                <td>
                  <code title={e.hash}>{short(e.hash, 12)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Audit pages">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={!page.data?.nextCursor} onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}>
          Older
        </button>
      </nav>
    </>
  );
}
