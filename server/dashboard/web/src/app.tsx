import { useMemo, useState } from 'preact/hooks';
import { apiClient, type Api } from './api.js';
import { AuditPage } from './audit-page.js';
import { DevicePage, DevicesPage } from './devices-page.js';
import { ReleasePage, ReleasesPage } from './releases-page.js';
import { href, useRoute, type Route } from './route.js';
import { RolloutPage } from './rollout-page.js';
import { RolloutsPage } from './rollouts-page.js';
import { forgetToken, keepToken, storedToken } from './session.js';
import { SignIn } from './sign-in.js';
import type { Role, Whoami } from './types.js';

export interface Session {
  api: Api;
  role: Role;
  name: string;
}

interface Signed {
  token: string;
  who: Whoami;
}

export function App() {
  const [signed, setSigned] = useState<Signed | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const signOut = (message?: string) => {
    forgetToken();
    setSigned(undefined);
    setNotice(message);
  };
  const session = useMemo<Session | undefined>(
    () =>
      signed && {
        api: apiClient(signed.token, (m) => signOut(`Signed out: the server no longer accepts this token (${m}).`)),
        role: signed.who.role as Role,
        name: signed.who.name ?? '',
      },
    [signed],
  );
  if (!session) {
    return (
      <SignIn
        initialToken={storedToken()}
        notice={notice}
        onSignedIn={(token, who) => {
          keepToken(token);
          setNotice(undefined);
          setSigned({ token, who });
        }}
      />
    );
  }
  return <Shell session={session} onSignOut={() => signOut('Signed out.')} />;
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const current = (r: Route['page'][]) => (r.includes(route.page) ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">OTA QA</span>
        <nav aria-label="Main">
          <a href={href.rollouts} aria-current={current(['rollouts', 'rollout'])}>
            Rollouts
          </a>
          <a href={href.releases} aria-current={current(['releases', 'release'])}>
            Releases
          </a>
          <a href={href.audit} aria-current={current(['audit'])}>
            Audit log
          </a>
          <a href={href.devices} aria-current={current(['devices', 'device'])}>
            Devices
          </a>
        </nav>
        <span class="who">
          Signed in as <strong>{session.name}</strong> · role <strong data-testid="role">{session.role}</strong>
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} session={session} />
      </main>
    </>
  );
}

function Page({ route, session }: { route: Route; session: Session }) {
  switch (route.page) {
    case 'rollouts':
      return <RolloutsPage session={session} />;
    case 'rollout':
      return <RolloutPage key={route.id} id={route.id} session={session} />;
    case 'releases':
      return <ReleasesPage session={session} />;
    case 'release':
      return <ReleasePage key={route.id} id={route.id} session={session} />;
    case 'audit':
      return <AuditPage session={session} />;
    case 'devices':
      return <DevicesPage session={session} />;
    case 'device':
      return <DevicePage key={route.id} id={route.id} session={session} />;
  }
}
