// The staff journey in Debian's headless Chromium: an editor logs in, uploads an export with
// mistakes and sees them by line and column, uploads the corrected file, sees the preview and
// submits it; a publisher approves; the public API gives exactly the independent figures.
// Then a correction of a published month with a reason, which the public office page shows.
// axe-core checks every staff page on the way. No JavaScript on the pages is needed.
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { readFileSync, mkdirSync } from 'node:fs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const base = process.env.KENNZAHL_URL ?? 'http://127.0.0.1:8080';
const fixtures = process.env.FIXTURES;
const password = process.env.STAFF_PASSWORD;
const shots = process.env.SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const failures = [];
const fail = (msg) => { failures.push(msg); console.error('FAIL', msg); };
const checked = new Set();

async function axe(page, label) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => await window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }));
  for (const v of result.violations) {
    fail(`${label}: axe ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  }
  checked.add(label);
}

async function logIn(name) {
  const context = await browser.newContext({ bypassCSP: true, locale: 'de-DE', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(base + '/staff');
  if (!page.url().endsWith('/staff/login')) fail(`/staff without login went to ${page.url()}`);
  await axe(page, 'login');
  await page.fill('#name', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  if (!page.url().endsWith('/staff')) fail(`${name} login ended at ${page.url()}`);
  return page;
}

async function upload(page, file, kind) {
  await page.goto(base + '/staff');
  await page.selectOption('#kind', kind);
  await page.setInputFiles('#file', file);
  await Promise.all([page.waitForNavigation(), page.click('form[action="/staff/upload"] button[type=submit]')]);
}

// 1. The editor uploads a file with mistakes: every problem by line and column.
const anna = await logIn('anna');
await axe(anna, 'home (editor)');
await upload(anna, `${fixtures}/malformed/many_problems.csv`, 'visits');
const problems = await anna.$$eval('ol.problems li', (lis) => lis.map((li) => li.textContent));
if (problems.length < 2) fail(`only ${problems.length} problems listed`);
if (!problems.every((p) => /Zeile \d+, Spalte „/.test(p))) fail(`problems without line and column: ${problems.slice(0, 3)}`);
await axe(anna, 'refused upload');

// 2. The corrected file: preview, then submit.
await upload(anna, `${fixtures}/independent/visits_clean.csv`, 'visits');
if (!(await anna.textContent('main')).includes('noch nicht veröffentlicht')) fail('no preview');
await axe(anna, 'preview');
if (shots) await anna.screenshot({ path: `${shots}/staff-preview-desktop.png`, fullPage: false });
await Promise.all([anna.waitForNavigation(), anna.click('form[action$="/submit"] button[type=submit]')]);
if (!(await anna.textContent('main')).includes('wartet auf Freigabe')) fail('submission not listed as waiting');

// Nothing is public before approval.
const api = `${base}/api/v1/kpi/visits?by=month,office&from=2025-01&to=2025-03`;
const before = await (await anna.request.get(api)).json();
if (before.length !== 0) fail(`${before.length} rows public before approval`);

// 3. The publisher approves.
const paul = await logIn('paul');
await axe(paul, 'home (publisher)');
await Promise.all([paul.waitForNavigation(), paul.click('form[action$="/approve"] button[type=submit]')]);

// 4. The public figures equal the independent computation.
const expected = JSON.parse(readFileSync(`${fixtures}/independent/expected_visits_clean.json`, 'utf8'));
const got = await (await paul.request.get(api)).json();
if (got.length !== expected.length) fail(`public API has ${got.length} rows, expected ${expected.length}`);
for (const e of expected) {
  const g = got.find((r) => r.month === e.month && r.office === e.office);
  if (!g) { fail(`no public row for ${e.month} ${e.office}`); continue; }
  for (const [k, v] of Object.entries(e)) {
    const same = typeof v === 'number' ? Math.abs(v - g[k]) < 1e-9 : v === g[k];
    if (!same) fail(`${e.month} ${e.office} ${k}: expected ${v}, got ${g[k]}`);
  }
}

// 5. A correction of a published month needs a reason; the public page shows it.
await upload(anna, `${fixtures}/independent/visits_clean.csv`, 'visits');
if (!(await anna.textContent('main')).includes('ersetzt schon veröffentlichte Monate')) fail('no warning about replacing');
await anna.fill('#reason', 'Export war unvollständig');
await Promise.all([anna.waitForNavigation(), anna.click('form[action$="/submit"] button[type=submit]')]);
await paul.goto(base + '/staff');
await Promise.all([paul.waitForNavigation(), paul.click('form[action$="/approve"] button[type=submit]')]);
const office = await paul.context().newPage();
await office.goto(base + '/dashboards/einwohnermeldeamt');
const corrections = await office.textContent('#korrekturen + ul').catch(() => '');
if (!corrections.includes('Export war unvollständig') || !corrections.includes('Revision 2')) fail(`public page shows no correction: "${corrections}"`);

// 6. History, password and audit pages pass axe too.
await anna.goto(base + '/staff/history?kind=visits&office=Einwohnermeldeamt&month=2025-01');
if (!(await anna.textContent('main')).includes('Export war unvollständig')) fail('history lacks the reason');
await axe(anna, 'history');
await anna.goto(base + '/staff/password');
await axe(anna, 'password');
const ada = await logIn('ada');
await ada.goto(base + '/staff/audit');
for (const action of ['upload', 'submit', 'approve']) {
  if (!(await ada.textContent('main')).includes(action)) fail(`audit log lacks ${action}`);
}
await axe(ada, 'audit');

// 7. The admin sets a target in the browser; the public chart draws it.
await ada.goto(base + '/staff/admin');
await axe(ada, 'admin');
await ada.selectOption('#t-office', 'Einwohnermeldeamt');
await ada.selectOption('#t-kpi', 'visits:wait_median_min');
await ada.fill('#t-value', '17');
await Promise.all([ada.waitForNavigation(), ada.click('form[action="/staff/admin/targets"] button[type=submit]')]);
if (!(await ada.textContent('main')).includes('wait_median_min')) fail('target not listed after saving');
await office.goto(base + '/dashboards/einwohnermeldeamt');
if (!(await office.content()).includes('Ziel 17')) fail('public chart lacks the new target line');

// 8. An export with unknown headers: the columns are mapped in a form (no script needed),
//    and the upload goes on to its preview.
await upload(ada, `${fixtures}/independent/visits_messy.csv`, 'visits');
if ((await ada.textContent('h1')) !== 'Spalten zuordnen') fail('unknown headers did not lead to the mapping form');
await axe(ada, 'mapping');
if (shots) await ada.screenshot({ path: `${shots}/staff-mapping.png`, fullPage: true });
const choices = ['office', 'location', 'service', 'date', 'arrived', 'called', 'finished', 'appointment'];
for (const [i, column] of choices.entries()) await ada.selectOption(`#c${i}`, column);
for (const i of [8, 9]) {
  if ((await ada.inputValue(`#c${i}`)) !== 'drop') fail(`personal column ${i} is not dropped by default`);
}
await Promise.all([ada.waitForNavigation(), ada.click('form[method=post][action^="/staff/mapping/"] button[type=submit]')]);
const afterMapping = await ada.textContent('main');
if (!afterMapping.includes('noch nicht veröffentlicht')) fail(`no preview after mapping: ${afterMapping.slice(0, 1500)}`);
await axe(ada, 'preview after mapping');

await browser.close();
console.log(`staff journey: ${checked.size} pages checked with axe; ${failures.length} failures`);
process.exit(failures.length ? 1 : 0);
