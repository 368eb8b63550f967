import { useState } from 'preact/hooks';
import { lifecycleAllowed, type LifecycleAction } from '../../../auth/lifecycle-permissions.js';
import type { Session } from './app.js';
import { Confirm, messageOf } from './common.js';

export interface Question {
  title: string;
  text: string;
  confirmLabel: string;
  /** A reason of 3 to 500 characters is required (a release's withdrawal). */
  askReason?: boolean;
}

/**
 * One fleet-lifecycle action (protocol §7): shown only to the roles that may
 * take it (server/auth/lifecycle-permissions.ts, the table the routes
 * enforce), enabled only when it can apply, asked first, then called with the
 * operator's own token. A refusal shows the server's §7 error message.
 */
export function LifecycleButton(props: {
  session: Session;
  action: LifecycleAction;
  label: string;
  question: Question;
  /** What to say when it worked. */
  done: string;
  disabled?: boolean;
  call: (reason: string) => Promise<unknown>;
  onDone: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  if (!lifecycleAllowed(props.session.role, props.action)) return null;
  const run = async (reason: string) => {
    setBusy(true);
    setOutcome(undefined);
    try {
      await props.call(reason);
      setOutcome({ ok: true, text: props.done });
    } catch (e) {
      setOutcome({ ok: false, text: `${props.label} refused: ${messageOf(e)}` });
    } finally {
      setBusy(false);
      props.onDone();
    }
  };
  return (
    <div class="actions">
      <button type="button" class={`act-${props.action}`} disabled={busy || props.disabled} onClick={() => setAsking(true)}>
        {props.label}
      </button>
      {outcome && (
        <p role="status" class={outcome.ok ? 'ok' : 'problem'}>
          {outcome.text}
        </p>
      )}
      {asking && (
        <Confirm
          title={props.question.title}
          text={props.question.text}
          confirmLabel={props.question.confirmLabel}
          askReason={props.question.askReason}
          onClose={() => setAsking(false)}
          onConfirm={(reason) => {
            setAsking(false);
            void run(reason);
          }}
        />
      )}
    </div>
  );
}
