import { useState } from 'preact/hooks';
import { enc } from './api.js';
import type { Session } from './app.js';
import { messageOf, Problem, Section, useLoad } from './common.js';
import { json, when } from './format.js';
import { href } from './route.js';
import type { DeviceDetail, DevicePage, PendingDevice } from './types.js';

const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Look a device up by id, or list devices by model, cohort and state (GET /v1/devices). */
export function DevicesPage({ session }: { session: Session }) {
  const [id, setId] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [filters, setFilters] = useState({ model: '', cohort: '', state: '' });
  const [query, setQuery] = useState<string | undefined>(undefined);
  // GET /v1/devices walks the fleet in bounded steps: a page may be short while more may match further on.
  const [cursors, setCursors] = useState<string[]>(['']);
  const cursor = cursors[cursors.length - 1] ?? '';
  const list = useLoad(
    () =>
      query === undefined
        ? Promise.resolve(undefined)
        : session.api<DevicePage>('GET', `/v1/devices?${query}${cursor ? `&cursor=${enc(cursor)}` : ''}`),
    `devices:${query ?? ''}:${cursor}`,
  );
  return (
    <>
      <h1>Devices</h1>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          const wanted = id.trim();
          if (!DEVICE_ID_RE.test(wanted)) setProblem('A device id is 1 to 128 letters, digits, dots, underscores, colons or dashes.');
          else location.hash = href.device(wanted);
        }}
      >
        <label for="device-id">Device id</label>
        <input id="device-id" value={id} onInput={(e) => setId(e.currentTarget.value)} autoComplete="off" spellcheck={false} />
        <button type="submit">Look up</button>
      </form>
      <Problem text={problem} />
      <PendingDevices session={session} />
      <Section title="Find devices">
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            const q = new URLSearchParams({ limit: '50' });
            for (const [k, v] of Object.entries(filters)) if (v.trim()) q.set(k, v.trim());
            setQuery(q.toString());
            setCursors(['']);
          }}
        >
          <label for="f-model">Model</label>
          <input id="f-model" value={filters.model} onInput={(e) => setFilters({ ...filters, model: e.currentTarget.value })} />
          <label for="f-cohort">Cohort</label>
          <input id="f-cohort" value={filters.cohort} onInput={(e) => setFilters({ ...filters, cohort: e.currentTarget.value })} />
          <label for="f-state">State in a rollout</label>
          <select id="f-state" value={filters.state} onChange={(e) => setFilters({ ...filters, state: e.currentTarget.value })}>
            <option value="">any</option>
            {['applied', 'failed', 'rolled_back', 'rejected', 'timed_out', 'declined', 'installing', 'silent'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <button type="submit">Find</button>
        </form>
        <Problem text={list.error} />
        {list.data && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Model</th>
                  <th scope="col">Version</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                {list.data.devices.map((d) => (
                  <tr key={d.deviceId}>
                    <th scope="row">
                      <a href={href.device(d.deviceId)}>{d.deviceId}</a>
                    </th>
                    <td>{d.model}</td>
                    <td>{d.version}</td>
                    <td>{when(d.lastSeen)}</td>
                  </tr>
                ))}
                {list.data.devices.length === 0 && (
                  <tr>
                    <td colSpan={4}>{list.data.nextCursor ? 'No match in this part of the fleet: look further on.' : 'No device matches.'}</td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
        )}
        {list.data && (
          <nav class="pager" aria-label="Device pages">
            <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous
            </button>
            <button type="button" disabled={!list.data.nextCursor} onClick={() => list.data?.nextCursor && setCursors([...cursors, list.data.nextCursor])}>
              Next
            </button>
          </nav>
        )}
      </Section>
    </>
  );
}

/** One device: model, version, cohorts, last seen, and its reports per rollout. */
export function DevicePage({ id, session }: { id: string; session: Session }) {
  const dev = useLoad(() => session.api<DeviceDetail>('GET', `/v1/devices/${enc(id)}`), `device:${id}`);
  const d = dev.data;
  return (
    <>
      <h1>Device {id}</h1>
      <p>
        <a href={href.devices}>Look up another device</a>
      </p>
      <Problem text={dev.error} />
      {d && (
        <>
          <dl class="facts">
            <dt>Model</dt>
            <dd>{d.model}</dd>
            <dt>Installed version</dt>
            <dd>{d.version}</dd>
            <dt>Cohorts</dt>
            <dd>{d.cohorts.join(', ') || 'none'}</dd>
            <dt>Attributes</dt>
            <dd>
              <code>{json(d.attributes)}</code>
            </dd>
            <dt>Enrolled</dt>
            <dd>{when(d.enrolledAt)}</dd>
            <dt>Last seen</dt>
            <dd>{when(d.lastSeen)}</dd>
          </dl>
          {d.rollouts.length === 0 && <p>No rollout has offered this device a release.</p>}
          {d.rollouts.map((r) => (
            <Section key={r.rolloutId} id={`rollout-${r.rolloutId}`} title={`Rollout ${r.rolloutId}`}>
              <p>
                <a href={href.rollout(r.rolloutId)}>{r.rolloutId}</a> ({r.rolloutState}) ships <a href={href.release(r.releaseId)}>{r.releaseId}</a>; offered at stage{' '}
                {r.stage + 1} on {when(r.offeredAt)}; now <strong>{r.state}</strong>
                {r.error ? (
                  <>
                    {' '}
                    — <code>{r.error.code}</code>: <span class="device-text">{r.error.message}</span>
                  </>
                ) : null}
              </p>
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col" class="num">Seq</th>
                      <th scope="col">State</th>
                      <th scope="col">At (device)</th>
                      <th scope="col">Received</th>
                      <th scope="col">Version</th>
                      <th scope="col">Error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.reports.map((x) => (
                      <tr key={x.seq}>
                        <th scope="row" class="num">
                          {x.seq}
                        </th>
                        <td>{x.state}</td>
                        <td>{when(x.at)}</td>
                        <td>{when(x.receivedAt)}</td>
                        <td>{x.version ?? '—'}</td>
                        <td class="device-text">{x.error ? `${x.error.code}: ${x.error.message}` : '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </Section>
          ))}
        </>
      )}
    </>
  );
}

/**
 * protocol §12 device admission: devices (stock Mender clients) that asked
 * to be admitted, with `Accept` and `Reject` buttons for release managers
 * (and admin) — the same rule the server enforces; others see the list only.
 */
function PendingDevices({ session }: { session: Session }) {
  const [reloads, setReloads] = useState(0);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const pending = useLoad(() => session.api<{ devices: PendingDevice[]; nextCursor: string | null }>('GET', '/v1/devices?admission=pending&limit=100'), `pending:${reloads}`);
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
