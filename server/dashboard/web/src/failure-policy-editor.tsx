import { useState } from 'preact/hooks';
import { lifecycleAllowed } from '../../../auth/lifecycle-permissions.js';
import { enc } from './api.js';
import type { Session } from './app.js';
import { Confirm, messageOf } from './common.js';
import { fieldsOf, policyOf, type PolicyFields } from './failure-policy-form.js';
import type { Rollout, RolloutUpdate } from './types.js';

const FIELDS: { key: keyof PolicyFields; label: string }[] = [
  { key: 'thresholdPercent', label: 'Failure threshold (%)' },
  { key: 'minTerminalReports', label: 'Minimum terminal reports' },
  { key: 'reportTimeoutSeconds', label: 'Report timeout (seconds)' },
];

/**
 * protocol §7 `PATCH /v1/rollouts/{id} { failurePolicy }`: a running or
 * paused rollout's failure policy, for the roles that may change it. A
 * tighter threshold already crossed halts the rollout at once (the page
 * reloads and shows it).
 */
export function FailurePolicyEditor({ rollout, session, onDone }: { rollout: Rollout; session: Session; onDone: () => void }) {
  const [fields, setFields] = useState<PolicyFields | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  if (!lifecycleAllowed(session.role, 'failure-policy')) return null;
  const changeable = rollout.state === 'running' || rollout.state === 'paused';
  const parsed = fields && policyOf(fields);

  const save = async (body: RolloutUpdate) => {
    setBusy(true);
    setOutcome(undefined);
    try {
      await session.api('PATCH', `/v1/rollouts/${enc(rollout.id)}`, body);
      setOutcome({ ok: true, text: 'Failure policy changed.' });
    } catch (e) {
      setOutcome({ ok: false, text: `Change refused: ${messageOf(e)}` });
    } finally {
      setBusy(false);
      onDone();
    }
  };

  return (
    <div class="actions">
      <button type="button" disabled={busy || !changeable} onClick={() => setFields(fieldsOf(rollout.failurePolicy))}>
        Change failure policy
      </button>
      {!changeable && <span class="muted"> (only while running or paused)</span>}
      {outcome && (
        <p role="status" class={outcome.ok ? 'ok' : 'problem'}>
          {outcome.text}
        </p>
      )}
      {fields && parsed && (
        <Confirm
          title={`Failure policy of ${rollout.id}`}
          text="Auto-halt judges the reports against the new policy at once (protocol §5); the change is kept in the audit log."
          confirmLabel="Save policy"
          offerReason
          blocked={'problem' in parsed ? parsed.problem : undefined}
          onClose={() => setFields(undefined)}
          onConfirm={(reason) => {
            setFields(undefined);
            if ('policy' in parsed) void save({ failurePolicy: parsed.policy, ...(reason ? { reason } : {}) });
          }}
        >
          {FIELDS.map((f) => (
            <p key={f.key}>
              <label for={`policy-${f.key}`}>{f.label}</label>
              <input
                id={`policy-${f.key}`}
                inputMode="decimal"
                autoComplete="off"
                value={fields[f.key]}
                onInput={(e) => setFields({ ...fields, [f.key]: e.currentTarget.value })}
              />
            </p>
          ))}
        </Confirm>
      )}
    </div>
  );
}
