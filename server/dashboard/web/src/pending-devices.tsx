import { useState } from 'preact/hooks';
import { enc } from './api.js';
import type { Session } from './app.js';
import { messageOf, Problem, Section, useLoad } from './common.js';
import { json, when } from './format.js';
import type { AdmissionPage, PendingDevice } from './types.js';

/**
 * protocol §12 device admission: devices (stock Mender clients) that asked
 * to be admitted, with `Accept` and `Reject` buttons for release managers
 * (and admin) — the same rule the server enforces; others see the list only.
 */
export function PendingDevices({ session }: { session: Session }) {
  const [reloads, setReloads] = useState(0);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const pending = useLoad(() => session.api<AdmissionPage>('GET', '/v1/devices?admission=pending&limit=100'), `pending:${reloads}`);
  const mayDecide = session.role === 'admin' || session.role === 'release-manager';
  const decide = async (d: PendingDevice, decision: 'accept' | 'reject') => {
    setBusy(true);
    setOutcome(undefined);
    try {
      await session.api('POST', `/v1/devices/${enc(d.deviceId)}/${decision}`, decision === 'accept' ? { keySha256: d.keySha256 } : {});
      setOutcome({ ok: true, text: `${d.deviceId} ${decision === 'accept' ? 'accepted' : 'rejected'}.` });
    } catch (e) {
      setOutcome({ ok: false, text: `${decision === 'accept' ? 'Accept' : 'Reject'} refused: ${messageOf(e)}` });
    } finally {
      setBusy(false);
      setReloads((n) => n + 1);
    }
  };
  const list = pending.data?.devices ?? [];
  return (
    <Section title="Waiting to be admitted">
      <Problem text={pending.error} />
      {outcome && (
        <p role="status" class={outcome.ok ? 'ok' : 'problem'}>
          {outcome.text}
        </p>
      )}
      {pending.data && list.length === 0 && <p>No device is waiting to be admitted.</p>}
      {list.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Identity</th>
                <th scope="col">Key SHA-256</th>
                <th scope="col">Asked</th>
                <th scope="col">Decision</th>
              </tr>
            </thead>
            <tbody>
              {list.map((d) => (
                <tr key={`${d.deviceId}:${d.keySha256}`}>
                  <th scope="row">{d.deviceId}</th>
                  <td class="device-text">
                    <code>{json(d.idData)}</code>
                  </td>
                  <td>
                    <code title={d.keySha256}>{d.keySha256.slice(0, 16)}…</code>
                  </td>
                  <td>{when(d.requestedAt)}</td>
                  <td>
                    <button type="button" disabled={!mayDecide || busy} aria-label={`Accept ${d.deviceId}`} onClick={() => void decide(d, 'accept')}>
                      Accept
                    </button>{' '}
                    <button type="button" disabled={!mayDecide || busy} aria-label={`Reject ${d.deviceId}`} onClick={() => void decide(d, 'reject')}>
                      Reject
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
