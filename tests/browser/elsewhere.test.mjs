// Browser tests of the inspector's "take it elsewhere" flows (issue 17), end
// to end against a running service: export HAR and NDJSON with the current
// filters, resend one capture, replay with a dry run and then for real.
//
// Run: node --test tests/browser/   (or tests/browser/run.sh)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BASE, INGEST, api, sendWebhook, newPath, launch, openPage } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

const waitRows = (page, n) => page.waitForFunction((k) => document.querySelectorAll('#captures .capture-row').length === k, n);

test('take it elsewhere: export HAR and NDJSON with the current filters', async () => {
  const pathId = await newPath('exp');
  for (let i = 0; i < 3; i++) await sendWebhook(pathId, `/p${i}`, { method: 'POST', body: `post ${i}` });
  for (let i = 0; i < 2; i++) await sendWebhook(pathId, `/g${i}`, { method: 'GET' });
  const { context, page, problems } = await openPage(browser);
  try {
    await page.goto(`${BASE}/#/p/${pathId}?method=GET`);
    await waitRows(page, 2);
    const [nd] = await Promise.all([page.waitForEvent('download'), page.click('#export-ndjson')]);
    assert.equal(nd.suggestedFilename(), `${pathId}-filtered.ndjson`);
    const lines = (await readFile(await nd.path(), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.ok(lines.every((c) => c.method === 'GET'));
    const [har] = await Promise.all([page.waitForEvent('download'), page.click('#export-har')]);
    const doc = JSON.parse(await readFile(await har.path(), 'utf8'));
    assert.equal(doc.log.entries.length, 2);
    await page.click('#f-reset');
    await waitRows(page, 5);
    const [all] = await Promise.all([page.waitForEvent('download'), page.click('#export-ndjson')]);
    assert.equal((await readFile(await all.path(), 'utf8')).trim().split('\n').length, 5);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
  }
});

test('take it elsewhere: resend one capture, and replay with a dry run then for real', async () => {
  const pathId = await newPath('src');
  const target = await newPath('dst');
  const ids = [];
  for (let i = 0; i < 3; i++) {
    ids.push(await sendWebhook(pathId, `/n/${i}?i=${i}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"n":${i}}` }));
  }
  const { context, page, problems } = await openPage(browser);
  try {
    await page.goto(`${BASE}/#/p/${pathId}/r/${ids[1]}`);
    await page.locator('#detail').waitFor({ state: 'visible' });
    await page.click('#resend');
    await page.fill('#resend-target', `${INGEST}/webhook/${target}`);
    await page.click('#resend-send');
    await page.waitForFunction(() => /Target answered 200/.test(document.getElementById('resend-result').textContent), undefined, { timeout: 20000 });
    let got = (await api('GET', `/api/paths/${target}/logs`)).json.items;
    assert.equal(got.length, 1);
    assert.equal(got[0].subpath, '/n/1');
    assert.equal(got[0].query_string, 'i=1');
    await page.click('#resend-close');

    // Replay: the dry run counts and sends nothing; then the job, followed live.
    await page.click('#open-replay');
    await page.fill('#r-target', `${INGEST}/webhook/${target}`);
    await page.fill('#r-rate', '20');
    await page.click('#replay-dry');
    await page.locator('#replay-count').waitFor({ state: 'visible' });
    assert.equal(await page.getAttribute('#replay-count', 'data-total'), '3');
    assert.match(await page.textContent('#replay-count'), /3 requests would be sent/);
    assert.equal((await api('GET', `/api/paths/${target}/logs`)).json.items.length, 1, 'a dry run sends nothing');
    assert.equal(await page.isEnabled('#replay-send'), true);
    await page.click('#replay-send');
    await page.waitForFunction(() => document.getElementById('replay-state').dataset.state === 'done', undefined, { timeout: 30000 });
    assert.match(await page.textContent('#replay-state'), /3 of 3 sent, 3 answered 2xx/);
    await page.waitForFunction(() => document.querySelectorAll('#replay-results tbody tr').length === 3);
    const statuses = await page.$$eval('#replay-results tbody tr', (trs) => trs.map((t) => t.children[1].textContent));
    assert.deepEqual(statuses, ['200', '200', '200']);
    assert.match(await page.textContent('#replay-results'), /"status":"received"/);
    got = (await api('GET', `/api/paths/${target}/logs`)).json.items;
    assert.equal(got.length, 4);
    // A filter narrows the replay: the dry run counts only what the list shows.
    await page.click('#replay-close');
    await page.goto(`${BASE}/#/p/${pathId}?q=${encodeURIComponent('"n":2')}`);
    await waitRows(page, 1);
    await page.click('#open-replay');
    await page.fill('#r-target', `${INGEST}/webhook/${target}`);
    await page.click('#replay-dry');
    await page.waitForFunction(() => document.getElementById('replay-count').dataset.total === '1');
    // A target the server does not allow: its 403 is shown.
    await page.fill('#r-target', 'http://192.0.2.1/x');
    await page.click('#replay-dry');
    await page.locator('#replay-error').waitFor({ state: 'visible' });
    assert.match(await page.textContent('#replay-error'), /allow/i);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
    await api('DELETE', `/api/paths/${target}`);
  }
});
