import { useState } from 'preact/hooks';
import { enc } from './api.js';
import type { Session } from './app.js';
import { Problem, Section, useLoad } from './common.js';
import { json, when } from './format.js';
import { LifecycleButton } from './lifecycle-actions.js';
import { PendingDevices } from './pending-devices.js';
import { href } from './route.js';
import type { CancelUpdate, DeviceDetail, DevicePage } from './types.js';

const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** The first page shown before any search (issue 18: the page was empty until one). */
const FIRST_PAGE = new URLSearchParams({ limit: '50' }).toString();
/** A device's states in a rollout while its offer is still open (protocol §7 cancel-update; `cancelled` answers the same again). */
const OPEN_STATES = new Set(['silent', 'received', 'downloading', 'downloaded', 'installing']);

/** Look a device up by id, or list devices by model, cohort and state (GET /v1/devices). */
export function DevicesPage({ session }: { session: Session }) {
  const [id, setId] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [filters, setFilters] = useState({ model: '', cohort: '', state: '' });
  const [query, setQuery] = useState<string | undefined>(FIRST_PAGE);
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
            {d.decommissionedAt && (
              <>
                <dt>Decommissioned</dt>
                <dd data-testid="decommissioned">{when(d.decommissionedAt)}: its token is refused</dd>
              </>
            )}
          </dl>
          <LifecycleButton
            session={session}
            action="decommission"
            label="Decommission"
            disabled={d.decommissionedAt !== null}
            question={{
              title: `Decommission device ${id}?`,
              text: 'Its token is refused from its next request on; its history stays for the record. Enrolling it again needs an enrollment credential.',
              confirmLabel: 'Decommission',
            }}
            done="Decommissioned."
            call={() => session.api('DELETE', `/v1/devices/${enc(id)}`)}
            onDone={dev.reload}
          />
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
              <LifecycleButton
                session={session}
                action="cancel-update"
                label="Cancel update"
                disabled={!OPEN_STATES.has(r.state) || r.rolloutState === 'cancelled'}
                question={{
                  title: `Cancel ${id}'s update in rollout ${r.rolloutId}?`,
                  text: "The device's open offer is withdrawn: it is not offered this release again, and it counts as cancelled, apart from failures.",
                  confirmLabel: 'Cancel update',
                }}
                done="Update cancelled."
                call={() => session.api('POST', `/v1/devices/${enc(id)}/cancel-update`, { rolloutId: r.rolloutId } satisfies CancelUpdate)}
                onDone={dev.reload}
              />
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
