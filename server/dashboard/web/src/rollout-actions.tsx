import { useState } from 'preact/hooks';
import { actionAllowed } from '../../../rollouts/rollout-permissions.js';
import { ROLLOUT_ACTIONS, type RolloutAction } from '../../../rollouts/rollout-state.js';
import { enc } from './api.js';
import type { Session } from './app.js';
import { Confirm, messageOf } from './common.js';
import type { Rollout } from './types.js';

const LABEL: Record<RolloutAction, string> = { start: 'Start', pause: 'Pause', resume: 'Resume', advance: 'Advance', halt: 'Halt', cancel: 'Cancel' };
const DONE: Record<RolloutAction, string> = { start: 'Started', pause: 'Paused', resume: 'Resumed', advance: 'Advanced', halt: 'Halted', cancel: 'Cancelled' };

type Asking = { action: RolloutAction; askReason: boolean } | undefined;

/**
 * protocol §10: buttons `Start` … `Cancel`, each enabled only when the role
 * and state allow it (the same rules the server enforces). Halt and Cancel
 * ask first; resuming a halted rollout asks for the reason (protocol §5).
 */
export function RolloutActions({ rollout, session, onDone }: { rollout: Rollout; session: Session; onDone: () => void }) {
  const [asking, setAsking] = useState<Asking>(undefined);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);

  const act = async (action: RolloutAction, reason?: string) => {
    setBusy(true);
    setOutcome(undefined);
    try {
      // Resuming a halted rollout acknowledges the halt with its reason (protocol §5); a halt's reason is optional.
      const body = reason === undefined || reason === '' ? undefined : action === 'resume' ? { acknowledgeHalt: true, reason } : { reason };
      await session.api('POST', `/v1/rollouts/${enc(rollout.id)}/${action}`, body);
      setOutcome({ ok: true, text: `${DONE[action]}.` });
    } catch (e) {
      setOutcome({ ok: false, text: `${LABEL[action]} refused: ${messageOf(e)}` });
    } finally {
      setBusy(false);
      onDone();
    }
  };

  const click = (action: RolloutAction) => {
    if (action === 'halt' || action === 'cancel') setAsking({ action, askReason: false });
    else if (action === 'resume' && rollout.state === 'halted') setAsking({ action, askReason: true });
    else void act(action);
  };

  const question = (a: NonNullable<Asking>) =>
    a.askReason
      ? { title: `Resume halted rollout ${rollout.id}?`, text: 'This overrules the halt on the record. Say why; the reason goes into the audit log.', confirm: 'Resume' }
      : a.action === 'halt'
        ? { title: `Halt rollout ${rollout.id}?`, text: 'Devices get no new offers, and stop installing once their statement expires. A reason, if you give one, is kept on the record.', confirm: 'Halt' }
        : { title: `Cancel rollout ${rollout.id}?`, text: 'A cancelled rollout cannot be started again.', confirm: 'Cancel rollout' };

  return (
    <div class="actions">
      <div role="group" aria-label="Rollout actions" class="buttons">
        {ROLLOUT_ACTIONS.map((a) => {
          const allowed = actionAllowed(session.role, a, rollout.state, rollout.currentStage, rollout.stages.length);
          return (
            <button key={a} type="button" class={`act-${a}`} disabled={busy || !allowed} onClick={() => click(a)}>
              {LABEL[a]}
            </button>
          );
        })}
      </div>
      {outcome && (
        <p role="status" class={outcome.ok ? 'ok' : 'problem'}>
          {outcome.text}
        </p>
      )}
      {asking &&
        (() => {
          const q = question(asking);
          return (
            <Confirm
              title={q.title}
              text={q.text}
              confirmLabel={q.confirm}
              askReason={asking.askReason}
              offerReason={asking.action === 'halt'}
              onClose={() => setAsking(undefined)}
              onConfirm={(reason) => {
                setAsking(undefined);
                void act(asking.action, asking.askReason || asking.action === 'halt' ? reason : undefined);
              }}
            />
          );
        })()}
    </div>
  );
}
