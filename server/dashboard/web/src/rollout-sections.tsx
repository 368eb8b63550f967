import { useState } from 'preact/hooks';
import { enc } from './api.js';
import type { Session } from './app.js';
import { Problem, Section, useLoad } from './common.js';
import { json, when } from './format.js';
import { href } from './route.js';
import type { Policy, RolloutDevicesPage, RolloutStatus } from './types.js';

const FUNNEL = ['received', 'downloading', 'downloaded', 'installing', 'applied'];
const ENDS = ['failed', 'rolled_back', 'rejected', 'timed_out', 'declined'];

/** Counts per report state (latest state per device), against the devices offered. */
export function Funnel({ status }: { status: RolloutStatus }) {
  const max = Math.max(1, status.offered);
  const row = (label: string, n: number) => (
    <tr key={label}>
      <th scope="row">{label}</th>
      <td class="num">{n}</td>
      <td>
        <meter min={0} max={max} value={n} aria-label={`${label}: ${n} of ${status.offered} offered`} />
      </td>
    </tr>
  );
  const silent = status.stages.reduce((n, s) => n + s.silent, 0);
  return (
    <Section title="Report states">
      <div class="table-wrap">
        <table class="funnel">
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col" class="num">Devices</th>
              <th scope="col">Share of {status.offered} offered</th>
            </tr>
          </thead>
          <tbody>
            {row('offered', status.offered)}
            {row('silent (no report yet)', silent)}
            {FUNNEL.map((s) => row(s, status.counts[s] ?? 0))}
            {ENDS.map((s) => row(s, status.counts[s] ?? 0))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}

/**
 * Settings compliance: value × source per key of the release. A consent
 * setting (protocol §3) reported on without the user's own act is an alarm.
 */
export function Compliance({ status, policy }: { status: RolloutStatus; policy: Policy | undefined }) {
  const keys = Object.keys(status.settings);
  return (
    <Section title="Settings compliance">
      {status.compliance.consentOnByDefault > 0 ? (
        <p class="alarm" role="alert" data-testid="consent-alarm">
          <strong>
            <span aria-hidden="true">⚠ </span>ALARM:
          </strong>{' '}
          {status.compliance.consentOnByDefault} device report(s) show a consent setting on without the user's choice.
        </p>
      ) : (
        <p class="ok">
          <span aria-hidden="true">✔ </span>No consent setting is on by default on any reporting device.
        </p>
      )}
      {keys.length === 0 ? (
        <p>This release changes no settings.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Setting</th>
                <th scope="col">Consent</th>
                <th scope="col">Value</th>
                <th scope="col">Source</th>
                <th scope="col" class="num">Devices</th>
              </tr>
            </thead>
            <tbody>
              {keys.flatMap((key) => {
                const spec = policy?.signed.settings[key];
                const rows = status.settings[key] ?? [];
                if (rows.length === 0)
                  return [
                    <tr key={key}>
                      <th scope="row">{key}</th>
                      <td>{spec?.consent ? 'yes' : 'no'}</td>
                      <td colSpan={3}>no device has reported it yet</td>
                    </tr>,
                  ];
                return rows.map((r) => {
                  const alarm = Boolean(spec?.consent) && r.value !== spec?.safeValue && r.source !== 'user' && r.devices > 0;
                  return (
                    <tr key={`${key}|${json(r.value)}|${r.source}`} class={alarm ? 'row-alarm' : undefined}>
                      <th scope="row">{key}</th>
                      <td>{spec?.consent ? 'yes' : 'no'}</td>
                      <td>
                        {json(r.value)}
                        {alarm ? ' ⚠ on by default' : ''}
                      </td>
                      <td>{r.source}</td>
                      <td class="num">{r.devices}</td>
                    </tr>
                  );
                });
              })}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

export function SilentDevices({ status }: { status: RolloutStatus }) {
  return (
    <Section title="Silent devices">
      <p class="muted">
        {status.silentDevices.length === 0
          ? 'No silent devices: every device offered the release has reported.'
          : `Offered the release, no report yet (the first ${status.silentDevices.length} by id).`}
      </p>
      {status.silentDevices.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col" class="num">Stage</th>
                <th scope="col">Offered</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {status.silentDevices.map((d) => (
                <tr key={d.deviceId}>
                  <th scope="row">
                    <a href={href.device(d.deviceId)}>{d.deviceId}</a>
                  </th>
                  <td class="num">{d.stage + 1}</td>
                  <td>{when(d.offeredAt)}</td>
                  <td>{when(d.lastSeen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

const FAILING_STATES = ['failed', 'rolled_back', 'rejected', 'timed_out'];
const FAILING_PAGE = 20;

/** Failing devices with what they said went wrong, paged by the server (GET …/devices?state=). */
export function FailingDevices({ rolloutId, session, refreshKey }: { rolloutId: string; session: Session; refreshKey: string }) {
  const [state, setState] = useState('failed');
  const [cursors, setCursors] = useState<string[]>(['']);
  const cursor = cursors[cursors.length - 1] ?? '';
  const page = useLoad(
    () =>
      session.api<RolloutDevicesPage>(
        'GET',
        `/v1/rollouts/${enc(rolloutId)}/devices?state=${state}&limit=${FAILING_PAGE}${cursor ? `&cursor=${enc(cursor)}` : ''}`,
      ),
    `${rolloutId}:${state}:${cursor}:${refreshKey}`,
  );
  const devices = page.data?.devices ?? [];
  return (
    <Section title="Failing devices">
      <div class="toolbar">
        <label for="failing-state">Failure</label>
        <select
          id="failing-state"
          value={state}
          onChange={(e) => {
            setState(e.currentTarget.value);
            setCursors(['']);
          }}
        >
          {FAILING_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <Problem text={page.error} />
      <div class="table-wrap">
        <table class="failing">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col" class="num">Stage</th>
              <th scope="col">State</th>
              <th scope="col">Error code</th>
              <th scope="col">Message (as the device sent it)</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d) => (
              <tr key={d.deviceId}>
                <th scope="row">
                  <a href={href.device(d.deviceId)}>{d.deviceId}</a>
                </th>
                <td class="num">{d.stage + 1}</td>
                <td>{d.state}</td>
                <td>
                  <code>{d.error?.code ?? '—'}</code>
                </td>
                <td class="device-text">{d.error?.message ?? '—'}</td>
                <td>{when(d.stateAt)}</td>
              </tr>
            ))}
            {!page.loading && devices.length === 0 && (
              <tr>
                <td colSpan={6}>No {state} devices{cursors.length > 1 ? ' on this page' : ''}.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Failing device pages">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <button type="button" disabled={!page.data?.nextCursor} onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}>
          Next
        </button>
      </nav>
    </Section>
  );
}
