// Walks the public site as a visitor would, in Debian's headless Chromium: every page at
// phone and desktop width, axe-core (WCAG 2.1 A/AA) on each, charts with role, title and a
// table behind them, the skip link first in the tab order, and screenshots for the README.
//
// Usage: KENNZAHL_URL=http://127.0.0.1:8080 SCREENSHOTS=target/screenshots node walk.mjs
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const base = process.env.KENNZAHL_URL ?? 'http://127.0.0.1:8080';
const shots = process.env.SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const failures = [];
const fail = (msg) => { failures.push(msg); console.error('FAIL', msg); };

// Axe is injected as a script: the site's CSP forbids that, so this context bypasses it.
const viewports = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } };
const contexts = {};
for (const [name, viewport] of Object.entries(viewports)) {
  contexts[name] = await browser.newContext({ viewport, bypassCSP: true, locale: 'de-DE' });
}

const home = await contexts.desktop.newPage();
const resp = await home.goto(base + '/');
if (!resp || resp.status() !== 200) fail(`/ answered ${resp && resp.status()}`);
const offices = await home.$$eval('.tile h2 a', (as) => as.map((a) => a.getAttribute('href')));
if (offices.length < 4) fail(`overview lists ${offices.length} offices`);
const pages = ['/', ...offices, '/methodik', '/opendata', '/barrierefreiheit', '/leichte-sprache',
  '/?lang=en', `${offices[0]}?lang=en`, '/methodik?lang=en', '/barrierefreiheit?lang=en'];

// A visitor narrows an office page with the form (no JavaScript needed: a GET form).
{
  const page = await contexts.desktop.newPage();
  await page.goto(base + '/dashboards/einwohnermeldeamt');
  const locations = await page.$$eval('#f-location option', (os) => os.map((o) => o.textContent).filter((t) => t && !t.startsWith('alle')));
  if (locations.length < 2) fail(`location filter offers ${locations.length} locations`);
  await page.click('details.filters summary');
  await page.selectOption('#f-location', locations[0]);
  await Promise.all([page.waitForNavigation(), page.click('details.filters button[type=submit]')]);
  const url = new URL(page.url());
  if (url.searchParams.get('location') !== locations[0]) fail(`filter form went to ${page.url()}`);
  const note = await page.textContent('.filter-note');
  if (!note || !note.includes('Auswahl')) fail('filtered page does not say it is filtered');
  pages.push(url.pathname + url.search);
  await page.close();
}

// On a phone the phone-sized chart is shown and fits the screen.
{
  const page = await contexts.phone.newPage();
  await page.goto(base + '/dashboards/einwohnermeldeamt');
  const shown = await page.$$eval('svg.chart', (svgs) => svgs
    .filter((s) => s.getBoundingClientRect().width > 0)
    .map((s) => ({ id: s.querySelector('title').id, width: s.getBoundingClientRect().width })));
  if (shown.length === 0) fail('no chart visible on a phone');
  for (const c of shown) {
    if (!c.id.includes('-narrow')) fail(`phone shows the wide chart ${c.id}`);
    if (c.width > 390) fail(`chart ${c.id} is ${c.width}px wide on a 390px phone`);
  }
  await page.close();
}

for (const [vp, ctx] of Object.entries(contexts)) {
  for (const path of pages) {
    const page = await ctx.newPage();
    const r = await page.goto(base + path);
    if (!r || r.status() !== 200) { fail(`${path} (${vp}) answered ${r && r.status()}`); continue; }
    await page.addScriptTag({ path: axePath });
    const result = await page.evaluate(async () => await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    }));
    if (result.passes.length < 10) fail(`${path} (${vp}): axe ran only ${result.passes.length} passing checks`);
    for (const v of result.violations) {
      fail(`${path} (${vp}): axe ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    }
    if (vp === 'desktop') {
      const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({
        role: s.getAttribute('role'),
        title: s.querySelector('title')?.textContent ?? '',
        desc: s.querySelector('desc')?.textContent ?? '',
        table: !!s.closest('section')?.querySelector('details table caption'),
      })));
      for (const c of charts) {
        if (c.role !== 'img' || !c.title || !c.desc || !c.table) fail(`${path}: chart without role/title/description/table: ${JSON.stringify(c)}`);
      }
      await page.keyboard.press('Tab');
      const first = await page.evaluate(() => document.activeElement?.className);
      if (first !== 'skip-link') fail(`${path}: first Tab goes to "${first}", not the skip link`);
      // Text at 200 %: nothing may be cut off horizontally.
      await page.evaluate(() => { document.documentElement.style.fontSize = '200%'; });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
      if (overflow) fail(`${path}: horizontal scrolling at 200 % text size`);
      await page.evaluate(() => { document.documentElement.style.fontSize = ''; });
    }
    if (shots && (path === '/' || path === offices[0])) {
      const name = path === '/' ? 'overview' : 'office';
      await page.screenshot({ path: `${shots}/${name}-${vp}.png`, fullPage: path === '/' });
    }
    await page.close();
  }
}

// Axe itself must find a known violation (so that zero violations above mean something).
{
  const probe = await contexts.desktop.newPage();
  await probe.setContent('<html><body><img src="x.png"><a href="#"></a></body></html>');
  await probe.addScriptTag({ path: axePath });
  const r = await probe.evaluate(async () => await window.axe.run(document));
  if (r.violations.length === 0) fail('axe found nothing on a page with an image without alt text');
  await probe.close();
}

// Downloads named beside each chart answer with data.
const office = await contexts.desktop.newPage();
await office.goto(base + offices[0]);
const links = await office.$$eval('a[href^="/charts/"]', (as) => as.map((a) => a.getAttribute('href')));
for (const href of links) {
  const r = await office.request.get(base + href);
  if (r.status() !== 200 || (await r.body()).length === 0) fail(`${href} answered ${r.status()}`);
}
if (links.length < 3) fail(`only ${links.length} download links on ${offices[0]}`);

await browser.close();
console.log(`walked ${pages.length} pages at ${Object.keys(viewports).length} widths, ${links.length} downloads; ${failures.length} failures`);
process.exit(failures.length ? 1 : 0);
