import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot, watchProblems } from './browser.js';
import { tamperAuditDetails } from '../helpers/db-state.js';
import { DEMO_ROLLOUT, EVIL_MESSAGE, HALTED_ROLLOUT, startDashboardServer, type DashboardFixture } from './dashboard-fixture.js';

/**
 * issue 11 acceptance, in Debian's Chromium through playwright-core: the
 * page the server serves at /ui/, driven like a person would (labels and
 * button names of protocol §10), checked against the JSON API.
 */
let browser: Browser;
let fx: DashboardFixture;
const pages: { page: Page; problems: string[] }[] = [];

beforeAll(async () => {
  const ui = inject('uiBuild');
  if (!ui.ok) throw new Error(`the dashboard did not build:\n${ui.output}`);
  [browser, fx] = await Promise.all([launchBrowser(), startDashboardServer()]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await fx?.running.close();
});

/** A new tab (own sessionStorage) at a laptop or phone size; its problems are checked after each test. */
async function open(viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  pages.push({ page, problems: watchProblems(page) });
  await page.goto(`${fx.url}/ui/`);
  return page;
}

async function signIn(page: Page, token: string, role: string): Promise<void> {
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('role').filter({ hasText: role }).waitFor();
}

const stateOf = async (id: string) => (await fx.api<{ state: string }>('GET', `/v1/rollouts/${id}`, fx.tokens.viewer)).body.state;
const button = (page: Page, name: string) => page.getByRole('group', { name: 'Rollout actions' }).getByRole('button', { name, exact: true });

async function expectNoProblems(): Promise<void> {
  for (const { page, problems } of pages.splice(0)) {
    expect(problems, 'console errors or CSP refusals in the page').toEqual([]);
    await page.context().close();
  }
}

describe('QA dashboard in a real browser (issue 11, protocol §10)', { timeout: 60_000 }, () => {
  it('is served with a strict CSP, and a bad token gets a clear message and no session', async () => {
    const res = await fetch(`${fx.url}/ui/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(res.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(await res.text()).not.toMatch(/<script>|<style>|style=/);
    const page = await open();
    await page.getByLabel('Token').fill('ota_not-a-real-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not accepted/);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    // An enroller token is valid but may not read rollouts.
    await page.getByLabel('Token').fill(fx.tokens.enroller);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/enroller role cannot read rollouts/);
    await expectNoProblems();
  });

  it('a qa token signs in (by keyboard), sees its role and the demo rollout; the halted one is marked in words', async () => {
    const page = await open();
    await page.getByLabel('Token').focus();
    await page.keyboard.type(fx.tokens.qa);
    await page.keyboard.press('Enter');
    await page.getByTestId('role').filter({ hasText: 'qa' }).waitFor();
    expect(page.url()).not.toContain(fx.tokens.qa);
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([fx.tokens.qa]);
    const demo = page.getByRole('link', { name: DEMO_ROLLOUT, exact: true });
    await demo.waitFor();
    const haltedRow = page.locator(`tr[data-rollout="${HALTED_ROLLOUT}"]`);
    await expect.poll(() => haltedRow.textContent()).toMatch(/halted.*1 of 2.*3.*2.*40\.00% \/ 20\.00% \(over\)/);
    // Filter by state.
    await page.getByLabel('State').selectOption('halted');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await expect.poll(() => demo.count()).toBe(0);
    await page.getByLabel('State').selectOption('');
    // The tab keeps its session over a reload; sign-out forgets it.
    await page.reload();
    await page.getByTestId('role').filter({ hasText: 'qa' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await expectNoProblems();
  });

  it('a qa token sees no Start or Resume enabled; Pause and Halt are', async () => {
    const page = await open();
    await signIn(page, fx.tokens.qa, 'qa');
    await page.getByRole('link', { name: DEMO_ROLLOUT, exact: true }).click();
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toMatch(/running/);
    for (const name of ['Start', 'Resume', 'Advance', 'Cancel']) expect(await button(page, name).isDisabled(), name).toBe(true);
    for (const name of ['Pause', 'Halt']) expect(await button(page, name).isEnabled(), name).toBe(true);
    await page.goto(`${fx.url}/ui/#/rollouts/${HALTED_ROLLOUT}`);
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toMatch(/halted/);
    for (const name of ['Start', 'Resume', 'Pause', 'Halt', 'Advance', 'Cancel']) expect(await button(page, name).isDisabled(), name).toBe(true);
    await expectNoProblems();
  });

  it('a release manager pauses and resumes the demo rollout from its page; the API sees each change', async () => {
    const page = await open();
    await signIn(page, fx.tokens.rm, 'release-manager');
    await page.getByRole('link', { name: DEMO_ROLLOUT, exact: true }).click();
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toMatch(/running/);
    expect(await button(page, 'Start').isDisabled()).toBe(true);
    await button(page, 'Pause').click();
    await expect.poll(() => stateOf(DEMO_ROLLOUT)).toBe('paused');
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toMatch(/paused/);
    expect(await button(page, 'Pause').isDisabled()).toBe(true);
    await button(page, 'Resume').click();
    await expect.poll(() => stateOf(DEMO_ROLLOUT)).toBe('running');
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toMatch(/running/);
    await expectNoProblems();
  });

  it('a halted rollout shows its reason; a device error with <script> is shown as text, never run', async () => {
    const page = await open();
    await signIn(page, fx.tokens.rm, 'release-manager');
    await page.getByRole('link', { name: HALTED_ROLLOUT, exact: true }).click();
    await expect.poll(() => page.getByTestId('halt-reason').textContent()).toMatch(
      /Halted by system:auto-halt at .*: failure rate 40\.00% above the 20\.00% threshold after 5 terminal reports/,
    );
    const failing = page.locator('table.failing');
    await expect.poll(() => failing.textContent()).toContain(EVIL_MESSAGE);
    expect(await failing.getByText(EVIL_MESSAGE, { exact: true }).count()).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    // The figures beside it: compliance (on by default is an alarm, a user's own opt-in is not), silent device, chart.
    const compliance = page.getByRole('region', { name: 'Settings compliance' });
    await expect.poll(() => compliance.getByTestId('consent-alarm').textContent()).toMatch(/ALARM: 1 device report\(s\) show a consent setting on without the user's choice/);
    expect(await compliance.locator('tr.row-alarm').allTextContents()).toEqual([expect.stringMatching(/cloud\.messaging\.enabled.*true ⚠ on by default.*default.*1/)]);
    await expect.poll(() => page.getByRole('region', { name: 'Silent devices' }).textContent()).toContain('bench-6');
    expect(await page.locator('.chart canvas').count()).toBe(1);
    await screenshot(page, 'rollout-page');
    // The device's own page shows the same text as text.
    await failing.getByRole('link', { name: 'bench-4' }).click();
    await expect.poll(() => page.locator('main').textContent()).toContain(EVIL_MESSAGE);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await expect.poll(() => page.locator('dl.facts').textContent()).toMatch(/redmi-1s.*1\.4\.1.*all, e2e-bench/);
    await page.goto(`${fx.url}/ui/#/rollouts`);
    await page.locator(`tr[data-rollout="${HALTED_ROLLOUT}"]`).filter({ hasText: '40.00%' }).waitFor();
    await page.setViewportSize({ width: 1280, height: 360 });
    await screenshot(page, 'rollouts-page');
    await expectNoProblems();
  });

  it('the rollout page refreshes itself while the rollout runs', async () => {
    const page = await open();
    await signIn(page, fx.tokens.qa, 'qa');
    await page.goto(`${fx.url}/ui/#/rollouts/${DEMO_ROLLOUT}`);
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toMatch(/running/);
    await page.getByText('Refreshes every 5 s while running.').waitFor();
    const applied = page.getByRole('region', { name: 'Report states' }).getByRole('row', { name: /^applied/ });
    expect(await applied.textContent()).toMatch(/^applied0/);
    // The demo device (the demo's qa cohort) polls and reports, while the page is left alone.
    const enrolled = await fx.api<{ deviceToken: string }>('POST', '/v1/devices', fx.tokens.enroller, { deviceId: 'demo-qa-1', model: 'redmi-1s', version: '1.4.1' });
    expect(enrolled.status).toBe(201);
    const device = enrolled.body.deviceToken;
    const offer = await fx.api<{ updates: { release: { signed: { id: string } } }[] }>('GET', '/v1/devices/demo-qa-1/update?version=1.4.1', device);
    const releaseId = offer.body.updates[0]?.release.signed.id;
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    expect((await fx.api('POST', '/v1/devices/demo-qa-1/reports', device, { seq: 1, releaseId, rolloutId: DEMO_ROLLOUT, state: 'applied', at })).status).toBe(200);
    await expect.poll(() => applied.textContent(), { timeout: 12_000, interval: 500 }).toMatch(/^applied1/);
    await expectNoProblems();
  });

  it('releases show what they change beside the policy\'s consent flags, and who signed; a device is found by id', async () => {
    const page = await open();
    await signIn(page, fx.tokens.viewer, 'viewer');
    await page.getByRole('link', { name: 'Releases' }).click();
    await page.getByRole('link', { name: 'redmi-1s-hotfix-e2e' }).click();
    const settings = page.getByRole('region', { name: 'Settings it changes' });
    await expect.poll(() => settings.getByRole('row', { name: /cloud\.messaging\.enabled/ }).textContent()).toMatch(/falsedefaultyes \(opt-in only\)false/);
    const keyid = (await fx.api<{ release: { signatures: { keyid: string }[] } }>('GET', '/v1/releases/redmi-1s-hotfix-e2e', fx.tokens.viewer)).body.release.signatures[0]?.keyid;
    await expect.poll(() => page.getByRole('region', { name: 'Signatures' }).textContent()).toContain(keyid);
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByLabel('Device id').fill('bench-5');
    await page.getByLabel('Device id').press('Enter');
    await expect.poll(() => page.getByRole('region', { name: `Rollout ${HALTED_ROLLOUT}` }).textContent()).toMatch(/now failed — verify_failed: boot image hash mismatch/);
    // Or found by what they are: failed devices of a model.
    await page.getByRole('link', { name: 'Look up another device' }).click();
    await page.getByLabel('Model').fill('redmi-1s');
    await page.getByLabel('State in a rollout').selectOption('failed');
    await page.getByRole('button', { name: 'Find' }).click();
    const found = page.getByRole('region', { name: 'Find devices' }).locator('tbody th');
    await expect.poll(() => found.allTextContents()).toEqual(['bench-4', 'bench-5']);
    await expectNoProblems();
  });

  it('Halt asks first; resuming the halted rollout asks for a reason and sends it with acknowledgeHalt (protocol §5)', async () => {
    const page = await open();
    await signIn(page, fx.tokens.rm, 'release-manager');
    await page.goto(`${fx.url}/ui/#/rollouts/${DEMO_ROLLOUT}`);
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toMatch(/running/);
    await button(page, 'Halt').click();
    const dialog = page.getByRole('dialog');
    // The safe choice has the focus: Enter does not halt by accident.
    expect(await dialog.getByRole('button', { name: 'Keep as is' }).evaluate((b) => b === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    expect(await stateOf(DEMO_ROLLOUT)).toBe('running');
    await button(page, 'Halt').click();
    await dialog.getByLabel('Reason (optional)').fill('crash reports from the field');
    await dialog.getByRole('button', { name: 'Halt', exact: true }).click();
    await expect.poll(() => stateOf(DEMO_ROLLOUT)).toBe('halted');
    await expect.poll(() => page.getByTestId('halt-reason').textContent()).toMatch(/Halted by operator:ui-release-manager\(release-manager\).*: crash reports from the field/);

    const sent: unknown[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith(`/v1/rollouts/${DEMO_ROLLOUT}/resume`)) sent.push(r.postDataJSON());
    });
    await button(page, 'Resume').click();
    const confirm = dialog.getByRole('button', { name: 'Resume', exact: true });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Reason').fill('bench phones re-flashed; failures were the test rig');
    await confirm.click();
    await expect.poll(() => sent).toEqual([{ acknowledgeHalt: true, reason: 'bench phones re-flashed; failures were the test rig' }]);
    await expect.poll(() => page.locator('.actions [role="status"]').textContent()).toBe('Resumed.');
    await expect.poll(() => stateOf(DEMO_ROLLOUT)).toBe('running');
    await expectNoProblems();
  });

  it('the audit log is newest first; its chain verifies, and a chain changed in the database is reported broken', async () => {
    const page = await open();
    await signIn(page, fx.tokens.viewer, 'viewer');
    await page.getByRole('link', { name: 'Audit log' }).click();
    const rows = page.locator('table.audit tbody tr');
    await rows.first().waitFor();
    const seqs = await page.locator('table.audit tbody th').allTextContents();
    expect(seqs.map(Number)).toEqual([...seqs.map(Number)].sort((a, b) => b - a));
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await expect.poll(() => page.getByTestId('chain-result').textContent()).toMatch(/Chain verified: \d+ entries from seq 1/);

    await tamperAuditDetails(fx.running.ctx.sql, 3, (d) => void (d.tampered = 1));
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await expect.poll(() => page.getByTestId('chain-result').textContent()).toMatch(/Chain broken at seq 3: its hash does not match its contents/);
    await expectNoProblems();
  });

  it('fits a phone: no sideways scrolling of the page, every control still reachable', async () => {
    const page = await open({ width: 390, height: 844 });
    await signIn(page, fx.tokens.qa, 'qa');
    await page.getByRole('link', { name: DEMO_ROLLOUT, exact: true }).click();
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toMatch(/halted|running|paused/);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(await button(page, 'Cancel').isVisible()).toBe(true);
    await screenshot(page, 'rollout-page-phone');
    await expectNoProblems();
  });

  it('report states say what they mean in colour and words; the chart is in UTC, per second for a young rollout, its halt marked (issue 18)', async () => {
    const page = await open();
    await signIn(page, fx.tokens.viewer, 'viewer');
    await page.goto(`${fx.url}/ui/#/rollouts/${HALTED_ROLLOUT}`);
    const states = page.getByRole('region', { name: 'Report states' });
    const row = (name: RegExp) => states.getByRole('row', { name });
    const colour = (name: RegExp) => row(name).locator('.bar-fill').evaluate((el) => getComputedStyle(el).backgroundColor);
    await expect.poll(() => row(/^failed/).textContent()).toBe('failed2✕ failure');
    expect(await row(/^applied/).textContent()).toBe('applied3✔ success');
    expect(await row(/^silent/).textContent()).toBe('silent (no report yet)1○ no report');
    expect(await row(/^installing/).textContent()).toBe('installing0… in progress');
    // Failures red, success green, in progress blue, no report grey (styles.css --bad, --good, --accent).
    expect(await colour(/^failed/)).toBe('rgb(179, 38, 30)');
    expect(await colour(/^applied/)).toBe('rgb(20, 108, 46)');
    expect(await colour(/^installing/)).toBe('rgb(11, 87, 208)');
    expect(await colour(/^silent/)).toBe('rgb(138, 138, 148)');
    expect(await states.getByRole('meter', { name: 'failed: 2 of 6 offered, failure' }).count()).toBe(1);

    const chart = page.getByRole('region', { name: 'Failure rate over time' });
    // The fixture's reports came within seconds: per minute they were one flat line.
    await expect.poll(() => chart.textContent()).toContain('One point per 1 s; times in UTC.');
    expect(await chart.getByTestId('chart-markers').textContent()).toMatch(/■ halted at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by system:auto-halt/);
    await chart.locator('.u-over').hover();
    await expect.poll(() => chart.locator('.u-legend .u-series').first().locator('.u-value').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await screenshot(page, 'rollout-report-states');
    await expectNoProblems();
  });

  it('the Devices page lists the first devices before any search (issue 18)', async () => {
    const page = await open();
    await signIn(page, fx.tokens.viewer, 'viewer');
    await page.getByRole('link', { name: 'Devices' }).click();
    const found = page.getByRole('region', { name: 'Find devices' }).locator('tbody th');
    await expect.poll(() => found.allTextContents()).toEqual(expect.arrayContaining(['bench-1', 'bench-2', 'bench-3', 'bench-4', 'bench-5', 'bench-6']));
    await expectNoProblems();
  });

  it('fleet lifecycle from the pages (protocol §7, issue 18): failing ids in natural order; a release manager changes the policy, cancels an update, decommissions, withdraws; QA sees none of it', async () => {
    const LIFE = 'lifecycle-e2e';
    const RELEASE = 'redmi-1s-lifecycle-e2e';
    const failed = { state: 'failed', error: { code: 'flash_failed', message: 'flash write error' } };
    const deviceTokens = await fx.seed({
      rolloutId: LIFE,
      releaseId: RELEASE,
      cohort: 'e2e-life',
      devices: ['sim-9-30', 'sim-9-12', 'sim-9-4', 'sim-9-7'],
      // Never halts by itself: the steps below decide.
      failurePolicy: { maxFailureBasisPoints: 10000, minTerminalReports: 100, reportTimeoutSeconds: 3600 },
      outcomes: [['sim-9-12', failed], ['sim-9-30', failed], ['sim-9-4', failed]],
    });

    // QA: the same pages, without the actions it may not take.
    const qa = await open();
    await signIn(qa, fx.tokens.qa, 'qa');
    await qa.goto(`${fx.url}/ui/#/rollouts/${LIFE}`);
    await expect.poll(() => qa.getByTestId('rollout-state').textContent()).toMatch(/running/);
    await expect.poll(() => qa.locator('table.failing tbody th').allTextContents()).toEqual(['sim-9-4', 'sim-9-12', 'sim-9-30']);
    expect(await qa.getByRole('button', { name: 'Change failure policy' }).count()).toBe(0);
    await qa.goto(`${fx.url}/ui/#/devices/sim-9-7`);
    await qa.getByRole('region', { name: `Rollout ${LIFE}` }).waitFor();
    expect(await qa.getByRole('button', { name: 'Decommission' }).count()).toBe(0);
    expect(await qa.getByRole('button', { name: 'Cancel update' }).count()).toBe(0);
    await qa.goto(`${fx.url}/ui/#/releases/${RELEASE}`);
    await qa.locator('dl.facts').waitFor();
    expect(await qa.getByRole('button', { name: 'Withdraw release' }).count()).toBe(0);

    const page = await open();
    await signIn(page, fx.tokens.rm, 'release-manager');
    const dialog = page.getByRole('dialog');
    const policy = async () => (await fx.api<{ failurePolicy: Record<string, number> }>('GET', `/v1/rollouts/${LIFE}`, fx.tokens.viewer)).body.failurePolicy;
    await page.goto(`${fx.url}/ui/#/rollouts/${LIFE}`);
    await expect.poll(() => page.getByTestId('rollout-state').textContent()).toMatch(/running/);
    await page.getByRole('button', { name: 'Change failure policy' }).click();
    await dialog.getByLabel('Failure threshold (%)').fill('95 %');
    expect(await dialog.getByRole('button', { name: 'Save policy' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Failure threshold (%)').fill('95');
    await dialog.getByLabel('Minimum terminal reports').fill('50');
    await dialog.getByLabel('Reason (optional)').fill('bench units flash slowly');
    await dialog.getByRole('button', { name: 'Save policy' }).click();
    await expect.poll(policy).toEqual({ maxFailureBasisPoints: 9500, minTerminalReports: 50, reportTimeoutSeconds: 3600 });
    await page.getByText('Failure policy changed.').waitFor();
    // The rollout moves on while the form is open: the server's refusal (§7 error) is shown as it said it.
    await page.getByRole('button', { name: 'Change failure policy' }).click();
    expect((await fx.api('POST', `/v1/rollouts/${LIFE}/halt`, fx.tokens.rm, { reason: 'bench check' })).status).toBe(200);
    await dialog.getByRole('button', { name: 'Save policy' }).click();
    await expect.poll(() => page.locator('.actions [role="status"]').allTextContents()).toContainEqual(expect.stringMatching(/^Change refused: .+ \(409 invalid_transition\)$/));
    expect((await fx.api('POST', `/v1/rollouts/${LIFE}/resume`, fx.tokens.rm, { acknowledgeHalt: true, reason: 'bench check over' })).status).toBe(200);
    await page.reload();
    await expect.poll(() => page.getByTestId('chart-markers').textContent()).toMatch(
      /■ halted at .+ UTC by operator:ui-release-manager\(release-manager\); ▶ resumed at .+ UTC by operator:ui-release-manager\(release-manager\)\./,
    );

    // One device's update cancelled from its page: counted apart, and the button no longer applies.
    await page.goto(`${fx.url}/ui/#/devices/sim-9-7`);
    const inRollout = page.getByRole('region', { name: `Rollout ${LIFE}` });
    await expect.poll(() => inRollout.textContent()).toMatch(/now silent/);
    await inRollout.getByRole('button', { name: 'Cancel update' }).click();
    await dialog.getByRole('button', { name: 'Cancel update' }).click();
    await page.getByText('Update cancelled.').waitFor();
    const cancelled = async () => (await fx.api<{ devices: { deviceId: string }[] }>('GET', `/v1/rollouts/${LIFE}/devices?state=cancelled`, fx.tokens.viewer)).body.devices.map((d) => d.deviceId);
    expect(await cancelled()).toEqual(['sim-9-7']);
    await expect.poll(() => inRollout.textContent()).toMatch(/now cancelled/);
    expect(await inRollout.getByRole('button', { name: 'Cancel update' }).isDisabled()).toBe(true);

    // Decommissioned after a question whose safe answer has the focus; its token is refused from then on.
    await page.getByRole('button', { name: 'Decommission' }).click();
    expect(await dialog.getByRole('button', { name: 'Keep as is' }).evaluate((b) => b === document.activeElement)).toBe(true);
    await dialog.getByRole('button', { name: 'Decommission' }).click();
    await expect.poll(() => page.getByTestId('decommissioned').textContent()).toMatch(/ UTC: its token is refused$/);
    expect(await page.getByRole('button', { name: 'Decommission' }).isDisabled()).toBe(true);
    expect((await fx.api('GET', '/v1/devices/sim-9-7/update?version=1.4.1', deviceTokens.get('sim-9-7') as string)).status).toBe(401);

    // The release withdrawn with a reason, which it asks for first.
    await page.goto(`${fx.url}/ui/#/releases/${RELEASE}`);
    await page.getByRole('button', { name: 'Withdraw release' }).click();
    const withdraw = dialog.getByRole('button', { name: 'Withdraw release' });
    expect(await withdraw.isDisabled()).toBe(true);
    await dialog.getByLabel('Reason').fill('bricks bench units on flash write');
    await withdraw.click();
    await expect.poll(() => page.getByTestId('release-withdrawn').textContent()).toMatch(/bricks bench units on flash write \(offered by no rollout\)$/);
    expect((await fx.api<{ withdrawal: { signed: { reason: string } } }>('GET', `/v1/releases/${RELEASE}`, fx.tokens.viewer)).body.withdrawal.signed.reason).toBe('bricks bench units on flash write');
    expect(await page.getByRole('button', { name: 'Withdraw release' }).isDisabled()).toBe(true);
    await expectNoProblems();
  });
});
