import { useState } from 'preact/hooks';
import { allPages, enc } from './api.js';
import type { Session } from './app.js';
import { Problem, Section, useLoad } from './common.js';
import { json, naturalCompare, when } from './format.js';
import { meaningOf } from './report-tones.js';
import { href } from './route.js';
import type { Policy, RolloutDevice, RolloutStatus } from './types.js';

const FUNNEL = ['received', 'downloading', 'downloaded', 'installing', 'applied'];
// `cancelled`: an operator withdrew the offer (protocol §7 cancel-update), apart from failures.
const ENDS = ['failed', 'rolled_back', 'rejected', 'timed_out', 'declined', 'cancelled'];

/**
 * Counts per report state (latest state per device), against the devices
 * offered. Each bar is coloured by what the state means and says it in words
 * beside it (issue 18: success green, failures red, in progress blue, no
 * report grey), never by colour alone.
 */
export function Funnel({ status }: { status: RolloutStatus }) {
  const max = Math.max(1, status.offered);
  const row = (label: string, n: number, state = label) => {
    const m = meaningOf(state);
    return (
      <tr key={label} class={`tone-${m.tone}`}>
        <th scope="row">{label}</th>
        <td class="num">{n}</td>
        <td>
          <div class="bar" role="meter" aria-valuemin={0} aria-valuemax={max} aria-valuenow={n} aria-label={`${label}: ${n} of ${status.offered} offered, ${m.words}`}>
            <span class="bar-fill" style={{ width: `${Math.min(100, (n / max) * 100)}%` }} />
          </div>
          <span class="tone-words">
            <span aria-hidden="true">{m.mark} </span>
            {m.words}
          </span>
        </td>
      </tr>
    );
  };
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
            {row('silent (no report yet)', silent, 'silent')}
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
              {[...status.silentDevices].sort((a, b) => naturalCompare(a.deviceId, b.deviceId)).map((d) => (
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
/** The server pages by id as text; these are fetched whole (up to this many) to be read in natural order. */
const FAILING_MAX = 5000;
const SERVER_PAGE = 1000;

/**
 * Failing devices with what they said went wrong (GET …/devices?state=), in
 * natural order of their ids (issue 18: sim-9-4 before sim-9-12), paged here.
 */
export function FailingDevices({ rolloutId, session, refreshKey }: { rolloutId: string; session: Session; refreshKey: string }) {
  const [state, setState] = useState('failed');
  const [pageNo, setPageNo] = useState(0);
  const list = useLoad(
    async () => {
      const all = await allPages<RolloutDevice>(session.api, `/v1/rollouts/${enc(rolloutId)}/devices?state=${state}`, 'devices', SERVER_PAGE, FAILING_MAX / SERVER_PAGE);
      return all.sort((a, b) => naturalCompare(a.deviceId, b.deviceId));
    },
    `${rolloutId}:${state}:${refreshKey}`,
  );
  const all = list.data ?? [];
  const pages = Math.max(1, Math.ceil(all.length / FAILING_PAGE));
  const shown = Math.min(pageNo, pages - 1);
  const devices = all.slice(shown * FAILING_PAGE, (shown + 1) * FAILING_PAGE);
  return (
    <Section title="Failing devices">
      <div class="toolbar">
        <label for="failing-state">Failure</label>
        <select
          id="failing-state"
          value={state}
          onChange={(e) => {
            setState(e.currentTarget.value);
            setPageNo(0);
          }}
        >
          {FAILING_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        {all.length > 0 && (
          <span class="muted">
            {all.length >= FAILING_MAX ? `the first ${FAILING_MAX} by id` : `${all.length} devices`}, page {shown + 1} of {pages}
          </span>
        )}
      </div>
      <Problem text={list.error} />
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
            {list.data && all.length === 0 && (
              <tr>
                <td colSpan={6}>No {state} devices.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Failing device pages">
        <button type="button" disabled={shown === 0} onClick={() => setPageNo(shown - 1)}>
          Previous
        </button>
        <button type="button" disabled={shown >= pages - 1} onClick={() => setPageNo(shown + 1)}>
          Next
        </button>
      </nav>
    </Section>
  );
}
