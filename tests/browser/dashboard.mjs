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
  // The pipeline panel shows the server's Redis and Kafka without being told to.
  await page.locator('#pipeline-stages dt', { hasText: 'Redis' }).waitFor();
  await page.locator('#pipeline-stages dt', { hasText: 'Kafka' }).waitFor();

  const form = page.locator('#create-form');
  const field = (name) => form.locator(`input[name=${name}]`);
  const submit = () => form.locator('button[type=submit]').click();
  // An empty form does not start a replay of the whole archive.
  await submit();
  await page.locator('#form-error', { hasText: 'Choose the window to replay' }).waitFor();
  if (await page.locator('#jobs-table tbody tr').count()) throw new Error('an empty form created a job');
  // Times are typed in UTC as they are shown, 24-hour; checked in the page first...
  if ((await field('start_time').getAttribute('type')) === 'datetime-local') throw new Error('a 12-hour date picker');
  await field('start_time').fill('2026-11-24 12:00');
  await field('end_time').fill('2026-11-24T11:00');
  await submit();
  await page.locator('#form-error', { hasText: 'Until must be after From' }).waitFor();
  if ((await field('end_time').getAttribute('aria-invalid')) !== 'true') throw new Error('bad field not marked');
  await field('end_time').fill('11 pm');
  await submit();
  await page.locator('#form-error', { hasText: 'Until must be YYYY-MM-DD HH:MM (UTC)' }).waitFor();
  // ...and by the server, whose message is shown as it is.
  await field('start_time').fill('');
  await field('end_time').fill('');
  await field('whole').check();
  await field('source').fill('ftp:nowhere');
  await submit();
  await page.locator('#form-error', { hasText: 'source must be kafka:<topic> or file:<path>' }).waitFor();
  const speedTip = await field('speed_factor').getAttribute('title');
  if (!speedTip.includes('max as fast as possible') || speedTip.includes('0 as fast')) throw new Error(speedTip);

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
  // The details open in view, not below the jobs and the form.
  const top = await page.evaluate(() => document.querySelector('#detail').getBoundingClientRect().top);
  if (top < 0 || top > 450) throw new Error(`the details open at ${top}px, out of the first half of the screen`);
  // The id stays on one line.
  const idBox = await quick.locator('td code').boundingBox();
  if (idBox.height > 24) throw new Error(`the id wraps (${idBox.height}px high)`);
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

  // A job that fails at once (nothing listens on its target): its details say so, with no schedule to be behind
  // and no chart; its window is on the archive's time line.
  await field('name').fill('broken');
  await field('whole').uncheck();
  await field('start_time').fill('2026-11-24 11:00');
  await field('end_time').fill('2026-11-24 11:30');
  await field('source').fill(QUICK);
  await field('target').fill('host=127.0.0.1 port=1 dbname=nowhere connect_timeout=2');
  await submit();
  const broken = page.locator('#jobs-table tbody tr', { hasText: 'broken' });
  await broken.locator('td.state', { hasText: 'failed' }).waitFor();
  await page.locator('#detail-fields', { hasText: 'broken' }).waitFor();
  await page.locator('#detail-error', { hasText: 'port 1' }).waitFor();
  const behind = await page.locator('#detail-fields dt:text-is("Behind schedule") + dd').textContent();
  if (behind !== '—') throw new Error(`a failed job is "${behind}" behind schedule`);
  await page.locator('#detail-nochart').waitFor({ state: 'visible' });
  await page.locator('#timeline-chart rect.window').first().waitFor();
  await page.locator('#timeline-chart text', { hasText: 'broken' }).waitFor();
  // The error is in its row too, and Retry starts the same request again as a new job.
  await broken.locator('.row-error', { hasText: 'port 1' }).waitFor();
  await broken.locator('button[data-action=retry]').click();
  const brokenRows = page.locator('#jobs-table tbody tr', { hasText: 'broken' });
  await brokenRows.nth(1).waitFor();
  for (const i of [0, 1]) await brokenRows.nth(i).locator('td.state', { hasText: 'failed' }).waitFor();
  if (await quick.locator('button[data-action=retry]').count()) throw new Error('a job that is done offers Retry');
  // A window from the archive into a target builds its base first unless told otherwise.
  await page.click('#detail-close');
  await field('name').fill('based');
  await field('source').fill('');
  await submit();
  await page.locator('#detail-fields', { hasText: 'based' }).waitFor();
  await page.locator('#detail-fields dt:text-is("History before") + dd', { hasText: 'built first' }).waitFor();
  await field('source').fill(QUICK);
  // The form carries the target's tables and what to do with a change it refuses.
  await page.click('#detail-close');
  await field('name').fill('careful');
  await field('target').fill('');
  await form.locator('select[name=on_error]').selectOption('skip');
  await field('create_tables').check();
  await form.locator('select[name=base]').selectOption('none');
  await submit();
  await page.locator('#detail-fields', { hasText: 'careful' }).waitFor();
  // A dry run has no history before its window to speak of (the choice still reaches the server: dashboard.bats).
  await page.locator('#detail-fields dt:text-is("History before") + dd', { hasText: /^—$/ }).waitFor();
  await page.locator('#detail-fields dt:text-is("On error") + dd', { hasText: 'skip' }).waitFor();
  await page.locator('#detail-fields dt:text-is("Target tables") + dd', { hasText: 'created and evolved' }).waitFor();
  await form.locator('select[name=on_error]').selectOption('stop');
  await field('create_tables').uncheck();
  await form.locator('select[name=base]').selectOption('rebuild');

  // Several jobs fit on one screen at 1280x900.
  await page.click('#detail-close');
  for (const n of ['one', 'two', 'three', 'four']) {
    await field('name').fill(n);
    await field('target').fill('');
    await field('start_time').fill('');
    await field('end_time').fill('');
    await field('whole').check();
    await submit();
    const row = page.locator('#jobs-table tbody tr').filter({ has: page.locator('span.sub', { hasText: new RegExp(`^${n}$`) }) });
    await row.locator('td.state', { hasText: 'done' }).waitFor();
    await page.click('#detail-close');
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  const rows = await page.evaluate(() => [...document.querySelectorAll('#jobs-table tbody tr')]
    .filter((tr) => tr.getBoundingClientRect().bottom <= innerHeight).length);
  if (rows < 6) throw new Error(`only ${rows} jobs fit on a 1280x900 screen`);
  // Every column, the actions too, within the screen's width.
  const right = await page.evaluate(() => document.querySelector('#jobs-table').getBoundingClientRect().right);
  if (right > 1280) throw new Error(`the jobs table runs ${right - 1280}px past the right edge`);
  await page.screenshot({ path: `${SHOTS}/dashboard-1280x900.png` });

  // A phone: one card per job, each value labelled, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  if (await page.locator('#jobs-table thead').isVisible()) throw new Error('table header shown on a phone');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 400) {
    await page.screenshot({ path: `${SHOTS}/phone-too-wide.png`, fullPage: true });
    throw new Error(`page is ${wide}px wide on a 390px screen`);
  }
  // The time line is redrawn for the narrower screen (its labels keep their size).
  await page.waitForFunction(() => {
    const s = document.querySelector('#timeline-chart');
    return Math.abs(s.viewBox.baseVal.width - s.getBoundingClientRect().width) < 2;
  });
  await page.screenshot({ path: `${SHOTS}/phone.png`, fullPage: true });
  await page.screenshot({ path: `${SHOTS}/dashboard-390.png` });

  if (problems.length) throw new Error('errors in the page: ' + problems.join('; '));
} finally {
  await browser.close();
}
