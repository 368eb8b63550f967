import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** Loads once per `key` and on reload(); a later answer never overwrites a newer one. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === generation.current && setState({ data, loading: false }),
      (e: unknown) => mine === generation.current && setState((s) => ({ data: s.data, error: messageOf(e), loading: false })),
    );
  }, [key]);
  useEffect(run, [run]);
  return { data: state.data, error: state.error, loading: state.loading, reload: run };
}

export const messageOf = (e: unknown): string =>
  e instanceof ApiError ? `${e.message} (${e.status ? `${e.status} ` : ''}${e.code})` : e instanceof Error ? e.message : String(e);

export function Problem({ text }: { text: string | undefined }) {
  if (!text) return null;
  return (
    <p class="problem" role="alert">
      <span aria-hidden="true">⚠ </span>
      {text}
    </p>
  );
}

const STATE_MARK: Record<string, string> = {
  draft: '✎',
  running: '▶',
  paused: '‖',
  halted: '■',
  completed: '✔',
  cancelled: '✕',
};

/** A rollout state as text, with a symbol and a class: never colour alone (issue 11). */
export function StateBadge({ state }: { state: string }) {
  return (
    <span class={`badge state-${state}`}>
      <span aria-hidden="true">{STATE_MARK[state] ?? '•'} </span>
      {state}
    </span>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-heading`;
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

/**
 * A modal question (Halt, Cancel, a halted rollout's Resume, the fleet-lifecycle actions): the native <dialog>,
 * so Escape and focus work. `children` are fields asked besides the reason; while `blocked` names what is wrong
 * with them, the confirm button stays disabled.
 */
export function Confirm(props: {
  title: string;
  text: string;
  confirmLabel: string;
  /** Required (a halted rollout's Resume), optional (Halt: kept on the record when given), or not asked. */
  askReason?: boolean;
  offerReason?: boolean;
  children?: ComponentChildren;
  blocked?: string;
  onConfirm: (reason: string) => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  // The server takes 3 to 500 characters (manifests/schema/api/rollout-*.schema.json).
  const given = reason.trim().length;
  const ready = (props.askReason ? given >= 3 : given === 0 || given >= 3) && !props.blocked;
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onClose={props.onClose} onCancel={props.onClose}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (!ready) return;
          ref.current?.close();
          props.onConfirm(reason.trim());
        }}
      >
        <h2 id="confirm-title">{props.title}</h2>
        <p>{props.text}</p>
        {props.children}
        {props.blocked && (
          <p class="problem" role="alert">
            {props.blocked}
          </p>
        )}
        {(props.askReason || props.offerReason) && (
          <p>
            <label for="confirm-reason">{props.askReason ? 'Reason' : 'Reason (optional)'}</label>
            <textarea id="confirm-reason" autoFocus={props.askReason} required={props.askReason} maxLength={500} rows={3} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          </p>
        )}
        <div class="buttons">
          <button type="submit" disabled={!ready}>
            {props.confirmLabel}
          </button>
          {/* The safe choice has the focus, unless there is something to type first. */}
          <button type="button" autoFocus={!props.askReason && !props.children} onClick={() => ref.current?.close()}>
            Keep as is
          </button>
        </div>
      </form>
    </dialog>
  );
}
