// The dashboard in headless Chromium (Debian's, driven by playwright-core): run by tests/bats/dashboard.bats with
// URL, TOKEN, QUICK and SLOW (job sources) and SHOTS (where screenshots go). Exits non-zero on the first failed step.
import { chromium } from 'playwright-core';

const { URL, TOKEN, QUICK, SLOW, SHOTS } = process.env;
for (const [k, v] of Object.entries({ URL, TOKEN, QUICK, SLOW, SHOTS }))
  if (!v) throw new Error(`${k} is not set`);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  // This machine has no network beyond loopback: keep Chromium from trying to reach Google's services.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('dialog', (d) => d.accept()); // "Cancel job …?"

  await page.goto(URL + '/');
  await page.locator('#token').waitFor();
  await page.fill('#token', 'not-the-token');
  await page.click('#login-form button[type=submit]');
  await page.locator('#login-error', { hasText: 'wrong token' }).waitFor();
  await page.screenshot({ path: `${SHOTS}/login.png` });
  await page.fill('#token', TOKEN);
  await page.click('#login-form button[type=submit]');
  await page.locator('#app').waitFor({ state: 'visible' });

  const form = page.locator('#create-form');
  const field = (name) => form.locator(`input[name=${name}]`);
  const submit = () => form.locator('button[type=submit]').click();
  // Checked in the page first...
  await field('start_time').fill('2026-11-24T12:00');
  await field('end_time').fill('2026-11-24T11:00');
  await submit();
  await page.locator('#form-error', { hasText: 'Until must be after From' }).waitFor();
  if ((await field('end_time').getAttribute('aria-invalid')) !== 'true') throw new Error('bad field not marked');
  // ...and by the server, whose message is shown as it is.
  await field('start_time').fill('');
  await field('end_time').fill('');
  await field('source').fill('ftp:nowhere');
  await submit();
  await page.locator('#form-error', { hasText: 'source must be kafka:<topic> or file:<path>' }).waitFor();

  // A job that runs to the end.
  await field('name').fill('quick');
  await field('source').fill(QUICK);
  await field('speed_factor').fill('5');
  await submit();
  const quick = page.locator('#jobs-table tbody tr', { hasText: 'quick' });
  await quick.locator('.pct', { hasText: '100%' }).waitFor({ timeout: 60000 });
  await quick.locator('td.state', { hasText: 'done' }).waitFor();
  await page.locator('#detail-fields', { hasText: 'quick' }).waitFor();
  await page.locator('#detail-fields dd', { hasText: /^300 of 300$/ }).waitFor();
  await page.screenshot({ path: `${SHOTS}/jobs-done.png`, fullPage: true });

  // A slow one: pause, resume, cancel.
  await field('name').fill('slow');
  await field('source').fill(SLOW);
  await field('speed_factor').fill('1');
  await submit();
  const slow = page.locator('#jobs-table tbody tr', { hasText: 'slow' });
  await slow.locator('td.state', { hasText: 'running' }).waitFor();
  await slow.locator('button[data-action=pause]').click();
  await slow.locator('td.state', { hasText: 'paused' }).waitFor();
  await slow.locator('button[data-action=resume]').waitFor();
  await page.screenshot({ path: `${SHOTS}/paused.png`, fullPage: true });
  await slow.locator('button[data-action=resume]').click();
  await slow.locator('td.state', { hasText: 'running' }).waitFor();
  await slow.locator('button[data-action=cancel]').click();
  await slow.locator('td.state', { hasText: 'cancelled' }).waitFor();
  if (await slow.locator('button[data-action=pause]').count()) throw new Error('a cancelled job offers Pause');
  await page.screenshot({ path: `${SHOTS}/cancelled.png`, fullPage: true });

  // A phone: one card per job, each value labelled, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  if (await page.locator('#jobs-table thead').isVisible()) throw new Error('table header shown on a phone');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 400) {
    await page.screenshot({ path: `${SHOTS}/phone-too-wide.png`, fullPage: true });
    throw new Error(`page is ${wide}px wide on a 390px screen`);
  }
  await page.screenshot({ path: `${SHOTS}/phone.png`, fullPage: true });

  if (problems.length) throw new Error('errors in the page: ' + problems.join('; '));
} finally {
  await browser.close();
}
