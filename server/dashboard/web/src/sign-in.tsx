import { useEffect, useState } from 'preact/hooks';
import { apiClient, ApiError } from './api.js';
import { messageOf, Problem } from './common.js';
import { forgetToken, refusal } from './session.js';
import type { Whoami } from './types.js';

/** protocol §10: a form with a field labelled `Token` and a button named `Sign in`. */
export function SignIn(props: { initialToken: string | null; notice: string | undefined; onSignedIn: (token: string, who: Whoami) => void }) {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const check = async (candidate: string): Promise<void> => {
    setBusy(true);
    setProblem(undefined);
    try {
      const who = await apiClient(candidate, () => undefined)<Whoami>('GET', '/v1/whoami');
      const why = refusal(who);
      if (why) {
        forgetToken();
        setProblem(why);
      } else props.onSignedIn(candidate, who);
    } catch (e) {
      forgetToken();
      setProblem(
        e instanceof ApiError && e.status === 401
          ? 'That token was not accepted: it is unknown, revoked or expired. Check it and try again.'
          : e instanceof ApiError && e.status === 429
            ? 'Too many refused tokens from this address: wait a minute and try again.'
            : `Could not sign in: ${messageOf(e)}`,
      );
    } finally {
      setBusy(false);
    }
  };

  // A reload of the tab keeps the session: the token kept for this tab is checked again.
  useEffect(() => {
    if (props.initialToken) void check(props.initialToken);
  }, []);

  return (
    <main id="main" class="sign-in">
      <h1>OTA QA dashboard</h1>
      {props.notice && (
        <p class="notice" role="status">
          {props.notice}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const t = token.trim();
          if (t) void check(t);
          else setProblem('Enter an operator token.');
        }}
      >
        <p>
          <label for="token">Token</label>
          <input
            id="token"
            name="token"
            type="password"
            autoComplete="off"
            spellcheck={false}
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            aria-describedby="token-help"
          />
        </p>
        <p id="token-help" class="help">
          An operator token (release-manager, qa, viewer or admin). It is kept for this tab only and sent only to this server.
        </p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <Problem text={problem} />
    </main>
  );
}
