import { allPages, enc } from './api.js';
import type { Session } from './app.js';
import { Problem, Section, useLoad } from './common.js';
import { json, short, when } from './format.js';
import { LifecycleButton } from './lifecycle-actions.js';
import { href } from './route.js';
import type { Policy, ReleaseView, ReleaseWithdraw } from './types.js';

export function ReleasesPage({ session }: { session: Session }) {
  const list = useLoad(() => allPages<ReleaseView>(session.api, '/v1/releases', 'releases', 100), 'releases');
  return (
    <>
      <h1>Releases</h1>
      <Problem text={list.error} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Release</th>
              <th scope="col">Version</th>
              <th scope="col">Models</th>
              <th scope="col">Applies to</th>
              <th scope="col" class="num">Settings</th>
              <th scope="col">Published</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((r) => (
              <tr key={r.id}>
                <th scope="row">
                  <a href={href.release(r.id)}>{r.id}</a>
                </th>
                <td>{r.release.signed.version ?? 'settings only'}</td>
                <td>{r.release.signed.models.join(', ')}</td>
                <td>
                  <code>{r.release.signed.appliesTo}</code>
                </td>
                <td class="num">{r.release.signed.settings.length}</td>
                <td>{when(r.publishedAt)}</td>
              </tr>
            ))}
            {list.data?.length === 0 && (
              <tr>
                <td colSpan={6}>No releases published.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** A release: what it installs, where, the settings it changes with the policy's consent flags, and who signed it. */
export function ReleasePage({ id, session }: { id: string; session: Session }) {
  const rel = useLoad(() => session.api<ReleaseView>('GET', `/v1/releases/${enc(id)}`), `release:${id}`);
  const policy = useLoad(() => fetch('/v1/trust/policy', { cache: 'no-store' }).then((r) => r.json() as Promise<Policy>), 'policy');
  const r = rel.data;
  const s = r?.release.signed;
  return (
    <>
      <h1>Release {id}</h1>
      <Problem text={rel.error} />
      {r && s && (
        <>
          <dl class="facts">
            <dt>Models</dt>
            <dd>{s.models.join(', ')}</dd>
            <dt>Applies to</dt>
            <dd>
              <code>{s.appliesTo}</code>
            </dd>
            <dt>Version</dt>
            <dd>{s.version ?? 'none (settings only)'}</dd>
            <dt>Artifact</dt>
            <dd>
              {s.artifact ? (
                <>
                  <code title={s.artifact.sha256}>sha256 {short(s.artifact.sha256, 24)}</code>, {s.artifact.size} bytes
                  {s.artifact.url ? `, ${s.artifact.url}` : ''}
                </>
              ) : (
                'none'
              )}
            </dd>
            <dt>Mandatory / downgrade</dt>
            <dd>
              {s.mandatory ? 'mandatory' : 'optional'} / {s.downgrade ? 'downgrade allowed' : 'no downgrade'}
            </dd>
            <dt>Issued / expires</dt>
            <dd>
              {when(s.issuedAt)} / {when(s.expires ?? null)}
            </dd>
            <dt>Published</dt>
            <dd>
              {when(r.publishedAt)} by {r.publishedBy}
            </dd>
            {r.withdrawal && (
              <>
                <dt>Withdrawn</dt>
                <dd data-testid="release-withdrawn">
                  {when(r.withdrawal.signed.issuedAt)}: {r.withdrawal.signed.reason} (offered by no rollout)
                </dd>
              </>
            )}
            <dt>Manifest SHA-256</dt>
            <dd>
              <code class="wrap">{r.manifestSha256}</code>
            </dd>
          </dl>
          <LifecycleButton
            session={session}
            action="withdraw-release"
            label="Withdraw release"
            disabled={Boolean(r.withdrawal)}
            question={{
              title: `Withdraw release ${id}?`,
              text: 'No rollout offers it any more: polls stop carrying it and a device that has not installed it does not start. The withdrawal is signed into the transparency log with your reason, and cannot be undone.',
              confirmLabel: 'Withdraw release',
              askReason: true,
            }}
            done="Withdrawn."
            call={(reason) => session.api('POST', `/v1/releases/${enc(id)}/withdraw`, { reason } satisfies ReleaseWithdraw)}
            onDone={rel.reload}
          />
          {s.notes && <p class="notes">{s.notes}</p>}
          <Section title="Settings it changes">
            {s.settings.length === 0 ? (
              <p>None.</p>
            ) : (
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Setting</th>
                      <th scope="col">Value</th>
                      <th scope="col">Mode</th>
                      <th scope="col">Consent setting</th>
                      <th scope="col">Safe value</th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.settings.map((c) => {
                      const spec = policy.data?.signed.settings[c.key];
                      return (
                        <tr key={c.key}>
                          <th scope="row">{c.key}</th>
                          <td>{json(c.value)}</td>
                          <td>{c.mode}</td>
                          <td>{spec ? (spec.consent ? 'yes (opt-in only)' : 'no') : 'not in policy'}</td>
                          <td>{spec && 'safeValue' in spec ? json(spec.safeValue) : '—'}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
          </Section>
          <Section title="Signatures">
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Key id</th>
                    <th scope="col">Signature</th>
                  </tr>
                </thead>
                <tbody>
                  {r.release.signatures.map((g) => (
                    <tr key={g.keyid + g.sig}>
                      <td>
                        <code class="wrap">{g.keyid}</code>
                      </td>
                      <td>
                        <code title={g.sig}>{short(g.sig, 32)}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Section>
        </>
      )}
    </>
  );
}
