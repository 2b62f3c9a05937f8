// Browser tests of the inspector's flows (issue 17), end to end against a
// running service: filters in a shareable URL with the live feed flowing
// into the filtered view, every setting with the API's error at its field,
// private paths, clearing, the diff, keyboard navigation (export, resend
// and replay: elsewhere.test.mjs).
//
// Run: node --test tests/browser/   (or tests/browser/run.sh)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, INGEST, api, apiHeaders, sendWebhook, newPath, launch, openPage, rowIds, waitLive } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

const waitRows = (page, n) => page.waitForFunction((k) => document.querySelectorAll('#captures .capture-row').length === k, n);

test('find: filters combine, live captures flow into the filtered view, the URL shares and restores it', async () => {
  const pathId = await newPath('flt');
  const post = (kind, body) => sendWebhook(pathId, '/ev', {
    method: 'POST', headers: { 'X-Kind': kind, 'Content-Type': 'text/plain' }, body,
  });
  const a1 = await post('a', 'alpha one');
  await sendWebhook(pathId, '/get', { method: 'GET' });
  const a2 = await post('a', 'alpha two');
  await post('b', 'beta');
  const { context, page, problems } = await openPage(browser);
  try {
    await page.goto(`${BASE}/#/p/${pathId}`);
    await waitRows(page, 4);
    await page.fill('#f-method', 'post');
    await page.fill('#f-header', 'x-kind:a');
    await page.press('#f-header', 'Enter');
    await waitRows(page, 2);
    assert.deepEqual(await rowIds(page), [a2, a1]);
    const hash = new URL(page.url()).hash;
    assert.equal(hash, `#/p/${pathId}?method=POST&header=x-kind%3Aa`);
    assert.match(await page.textContent('#capture-count'), /2 matching/);

    // Live: a matching capture shows, non-matching ones do not.
    await waitLive(page);
    await post('b', 'beta live');
    await sendWebhook(pathId, '/get', { method: 'GET', headers: { 'X-Kind': 'a' } });
    const a3 = await post('a', 'alpha live');
    await waitRows(page, 3);
    await page.waitForTimeout(800);
    assert.deepEqual(await rowIds(page), [a3, a2, a1]);

    // Reload restores the filtered view and the form.
    await page.reload();
    await waitRows(page, 3);
    assert.equal(await page.inputValue('#f-method'), 'POST');
    assert.equal(await page.inputValue('#f-header'), 'x-kind:a');

    // A second browser opening the shared URL sees the same.
    const other = await openPage(browser);
    try {
      await other.page.goto(`${BASE}/${hash}`);
      await waitRows(other.page, 3);
      assert.deepEqual(await rowIds(other.page), [a3, a2, a1]);
    } finally {
      await other.context.close();
    }

    // Body text, then a time range that selects nothing: the empty state says why.
    await page.fill('#f-q', 'TWO');
    await page.press('#f-q', 'Enter');
    await waitRows(page, 1);
    assert.deepEqual(await rowIds(page), [a2]);
    await page.click('#f-reset');
    await page.waitForFunction(() => location.hash.indexOf('?') < 0);
    await waitRows(page, 7);
    await page.fill('#f-since', '2099-01-01T00:00:00');
    await page.click('#f-apply');
    await waitRows(page, 0);
    await page.locator('#captures-empty').waitFor({ state: 'visible' });
    assert.match(await page.textContent('#captures-empty'), /No request matches since 2099/);
    // A bad filter is the API's 400, shown rather than an empty list.
    await page.goto(`${BASE}/#/p/${pathId}?header=${encodeURIComponent('bad header')}`);
    await page.locator('#list-error').waitFor({ state: 'visible' });
    assert.match(await page.textContent('#list-error'), /header must be/);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
  }
});

async function saveSettings(page, fields) {
  await page.click('#open-settings');
  await page.locator('#settings-dialog').waitFor({ state: 'visible' });
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'custom') await page.setChecked('#s-custom', v);
    else await page.fill(`#s-${k}`, v);
  }
  await page.click('#settings-save');
}

async function expectFieldError(page, field, re) {
  const err = page.locator(`#s-${field}-error`);
  await err.waitFor({ state: 'visible' });
  assert.match(await err.textContent(), re);
  assert.equal(await page.getAttribute(`#s-${field}`, 'aria-invalid'), 'true');
  await page.click('#settings-cancel');
}

test('shape: each setting saves, and a bad one shows the API error at its field', async () => {
  const pathId = await newPath('set');
  const target = await newPath('fwd');
  const { context, page, problems } = await openPage(browser);
  try {
    await page.goto(`${BASE}/#/p/${pathId}`);
    await waitLive(page);

    const bad = [
      [{ custom: true, status: '999' }, 'status', /between 100 and 599/],
      [{ custom: true, status: '200', delay_ms: '99999' }, 'delay_ms', /delay_ms must be at most/],
      [{ custom: true, delay_ms: '0', headers: 'Content-Length: 5' }, 'headers', /not allowed/],
      [{ custom: true, body: 'x'.repeat(70000), headers: '' }, 'body', /at most/],
      [{ custom: false, max_requests: '0' }, 'max_requests', /between 1 and/],
      [{ custom: false, max_requests: '', ttl_seconds: '0' }, 'ttl_seconds', /between 1 and/],
      [{ custom: false, ttl_seconds: '', forward_url: 'not a url' }, 'forward_url', /./],
    ];
    for (const [fields, field, re] of bad) {
      await saveSettings(page, fields);
      await expectFieldError(page, field, re);
    }
    // Nothing bad was stored.
    let p = (await api('GET', `/api/paths/${pathId}`)).json;
    assert.equal(p.response, undefined);

    await saveSettings(page, {
      custom: true, status: '418', headers: 'X-Reply: yes', body: 'short and stout', delay_ms: '5',
      max_requests: '50', ttl_seconds: '3600', forward_url: `${INGEST}/webhook/${target}`,
    });
    await page.locator('#settings-dialog').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.getElementById('toast').textContent === 'Settings saved');
    await page.click('#settings-cancel');
    p = (await api('GET', `/api/paths/${pathId}`)).json;
    assert.deepEqual(p.response, { status: 418, headers: [['X-Reply', 'yes']], body: 'short and stout', delay_ms: 5 });
    assert.equal(p.max_requests, 50);
    assert.equal(p.ttl_seconds, 3600);
    assert.equal(p.forward_url, `${INGEST}/webhook/${target}`);

    // The custom answer is what senders get (the registry takes up to a second).
    let res;
    for (let i = 0; i < 40; i++) {
      res = await fetch(`${INGEST}/webhook/${pathId}/hook`, { method: 'POST', body: 'ping' });
      if (res.status === 418) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(res.status, 418);
    assert.equal(res.headers.get('x-reply'), 'yes');
    assert.equal(await res.text(), 'short and stout');

    // The forward's attempts log, in the panel.
    await page.click('#open-settings');
    await page.locator('#forward-log-box summary').click();
    await page.waitForFunction(async () => {
      document.getElementById('forward-refresh').click();
      await new Promise((r) => setTimeout(r, 300));
      return /200 in/.test(document.getElementById('forward-log').textContent);
    }, undefined, { timeout: 15000, polling: 500 });
    // The saved form shows the stored values when opened again.
    assert.equal(await page.inputValue('#s-status'), '418');
    assert.equal(await page.inputValue('#s-headers'), 'X-Reply: yes');
    // And "off" clears them.
    await page.setChecked('#s-custom', false);
    await page.fill('#s-max_requests', '');
    await page.fill('#s-ttl_seconds', '');
    await page.fill('#s-forward_url', '');
    await page.click('#settings-save');
    await page.waitForFunction(() => document.getElementById('toast').textContent === 'Settings saved');
    p = (await api('GET', `/api/paths/${pathId}`)).json;
    assert.equal(p.response, undefined);
    assert.equal(p.max_requests, undefined);
    assert.equal(p.forward_url, undefined);
    await page.click('#settings-cancel');

    // Clear the captures: the list empties, the path stays.
    await waitRows(page, 1);
    await page.click('#clear-captures');
    await page.click('#confirm-ok');
    await waitRows(page, 0);
    assert.equal((await api('GET', `/api/paths/${pathId}/logs`)).json.items.length, 0);
    assert.equal((await api('GET', `/api/paths/${pathId}`)).status, 200);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
    await api('DELETE', `/api/paths/${target}`);
  }
});

test('shape: a private path shows its read token once, with a copy button, and the page can read it', async () => {
  const { context, page, problems } = await openPage(browser);
  let pathId;
  try {
    await page.goto(`${BASE}/`);
    assert.equal((await page.textContent('#status')).trim(), 'no URL selected');
    await page.check('#create-private');
    await page.click('#create-auto');
    await page.locator('#read-token-once').waitFor({ state: 'visible' });
    const token = (await page.textContent('#read-token-value')).trim();
    assert.ok(token.length >= 20, token);
    pathId = decodeURIComponent(/#\/p\/([^/?]+)/.exec(page.url())[1]);
    await page.click('#copy-read-token');
    await page.waitForFunction(() => document.getElementById('copy-read-token').textContent === 'Copied!');
    await waitLive(page);
    const id = await sendWebhook(pathId, '/secret', { method: 'POST', body: 'hidden' });
    await waitRows(page, 1);
    assert.deepEqual(await rowIds(page), [id]);
    assert.equal((await api('GET', `/api/paths/${pathId}/logs`)).status, 404, 'unreadable without the token');
    const withToken = await fetch(`${BASE}/api/paths/${pathId}/logs`, { headers: apiHeaders({ 'X-Read-Token': token }) });
    assert.equal(withToken.status, 200);
    // Shown once: after "Done" and a reload, the token is not on the page.
    await page.click('#dismiss-read-token');
    await page.reload();
    await waitRows(page, 1);
    assert.equal(await page.locator('#read-token-once').isVisible(), false);
    assert.equal(await page.textContent('#read-token-value'), '');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('read it: diff two captures side by side; provider badge and copy-as buttons', async () => {
  const pathId = await newPath('dif');
  const a = await sendWebhook(pathId, '/hook', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Delivery': 'one' },
    body: '{"ref":"refs/heads/main","size":1,"same":true}',
  });
  const b = await sendWebhook(pathId, '/hook', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Delivery': 'two' },
    body: '{"ref":"refs/heads/dev","size":1,"same":true}',
  });
  const { context, page, problems } = await openPage(browser);
  try {
    await page.goto(`${BASE}/#/p/${pathId}`);
    await waitRows(page, 2);
    // The list says what each capture is, once the badges are fetched.
    await page.waitForFunction((id) => {
      const r = document.querySelector(`.capture-row[data-id="${id}"] .provider`);
      return r && r.textContent === 'GitHub · push';
    }, a);
    await page.click(`.capture-row[data-id="${a}"]`);
    await page.waitForFunction((id) => document.getElementById('detail-meta').textContent.includes(id), a);
    await page.click('#diff-mark');
    assert.equal(await page.getAttribute('#diff-mark', 'aria-pressed'), 'true');
    await page.click(`.capture-row[data-id="${b}"]`);
    await page.waitForFunction((id) => document.getElementById('detail-meta').textContent.includes(id), b);
    await page.click('#diff-open');
    await page.locator('#diff-dialog').waitFor({ state: 'visible' });
    const changed = await page.$$eval('#diff-body tr.d-change', (trs) => trs.map((t) => [t.children[0].textContent, t.children[1].textContent]));
    assert.deepEqual(changed, [['  "ref": "refs/heads/main",', '  "ref": "refs/heads/dev",']]);
    assert.ok((await page.locator('#diff-body tr.d-same').count()) >= 3);
    const hchanged = await page.$$eval('#diff-headers tr.d-change', (trs) => trs.map((t) => t.children[1].textContent));
    assert.ok(hchanged.some((t) => /x-delivery: two/i.test(t)), hchanged.join('|'));
    await page.keyboard.press('Escape');
    await page.locator('#diff-dialog').waitFor({ state: 'hidden' });

    // Copy as curl gives the command shown (from the API when it has one).
    await page.click('#copy-curl');
    await page.waitForFunction(() => document.getElementById('copy-curl').textContent === 'Copied!');
    assert.match(await page.textContent('#curl-text'), /curl .*-X POST/);
    // HTTPie and fetch come from the API's command endpoints.
    for (const kind of ['httpie', 'fetch']) {
      await page.click(`#copy-${kind}`);
      await page.waitForFunction((k) => document.getElementById(`copy-${k}`).textContent === 'Copied!', kind);
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
  }
});

test('feel: j/k and arrows move through captures, / searches, Esc closes', async () => {
  const pathId = await newPath('kbd');
  const ids = [];
  for (let i = 0; i < 4; i++) ids.unshift(await sendWebhook(pathId, `/k${i}`, { method: 'PUT', body: `k${i}` }));
  const { context, page, problems } = await openPage(browser);
  try {
    await page.goto(`${BASE}/#/p/${pathId}`);
    await waitRows(page, 4);
    const selected = () => page.evaluate(() => {
      const m = /\/r\/([^/?]+)/.exec(location.hash);
      return m ? m[1] : null;
    });
    const detailOf = (id) => page.waitForFunction((x) => document.getElementById('detail-meta').textContent.includes(x), id);
    await page.keyboard.press('j');
    await detailOf(ids[0]);
    assert.equal(await selected(), ids[0]);
    await page.keyboard.press('j');
    await detailOf(ids[1]);
    await page.keyboard.press('ArrowDown');
    await detailOf(ids[2]);
    await page.keyboard.press('k');
    await detailOf(ids[1]);
    await page.keyboard.press('ArrowUp');
    await detailOf(ids[0]);
    assert.equal(await selected(), ids[0]);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.id), ids[0], 'the row has the focus');
    // `/` focuses the body search; typing there is not navigation.
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'f-q');
    await page.keyboard.type('jk');
    assert.equal(await selected(), ids[0]);
    await page.keyboard.press('Escape'); // leaves the field (nothing was applied)
    assert.notEqual(await page.evaluate(() => document.activeElement.id), 'f-q');
    await page.keyboard.press('Escape'); // closes the detail
    await page.locator('#detail').waitFor({ state: 'hidden' });
    assert.equal(await selected(), null);
    // `?` opens the key help; Esc closes it.
    await page.keyboard.press('?');
    await page.locator('#help-dialog').waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');
    await page.locator('#help-dialog').waitFor({ state: 'hidden' });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
  }
});
