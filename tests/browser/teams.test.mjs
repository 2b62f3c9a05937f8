// Teams (docs/TEAMS.md) in the page: the administrator (CL_API_TOKEN, or the
// open service when it is unset: it acts as the administrator) creates a
// workspace and a `write` key in the Workspace dialog; the key, shown once,
// signs in a fresh browser, which lists only that workspace's path and says
// who is signed in; revoked in the dialog, the key's next request asks for
// sign-in again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKEN, api, launch, openPage, uniqueId } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

// Workspace names are lowercase.
function wsName() {
  return uniqueId('team').toLowerCase().replace(/[^a-z0-9_-]/g, '').slice(0, 60);
}

test('teams: a workspace and a write key made in the dialog; the key sees only its path; revoked, it is asked again', async () => {
  const ws = wsName();
  const elsewhere = uniqueId('teams-default');
  const made = [elsewhere];
  assert.equal((await api('POST', '/api/paths', { path_id: elsewhere })).status, 201);

  const admin = await openPage(browser);
  let keyCtx = null;
  try {
    const { page } = admin;
    await page.goto(`${BASE}/`);
    await page.locator('#open-workspace').waitFor({ state: 'visible' });
    assert.equal((await page.textContent('#whoami')).trim(), TOKEN ? 'administrator' : 'open service (administrator)');
    assert.equal(await page.locator('#sign-out').isVisible(), Boolean(TOKEN));

    // Create the workspace, with quotas.
    await page.click('#open-workspace');
    await page.locator('#workspace-dialog').waitFor({ state: 'visible' });
    await page.locator('#ws-table tbody tr[data-workspace="default"]').waitFor();
    // An invalid name is told at the form, and nothing is made.
    await page.fill('#ws-new-name', 'Not Valid!');
    await page.click('#ws-create');
    await page.locator('#ws-create-error').waitFor({ state: 'visible' });
    assert.ok((await page.textContent('#ws-create-error')).length > 0);
    await page.fill('#ws-new-name', ws);
    await page.fill('#ws-new-max-paths', '5');
    await page.fill('#ws-new-rate', '100');
    await page.click('#ws-create');
    const row = page.locator(`#ws-table tbody tr[data-workspace="${ws}"]`);
    await row.waitFor();
    assert.equal((await row.locator('.ws-paths').textContent()).trim(), '0 / 5');
    assert.equal((await row.locator('.ws-rate').textContent()).trim(), '100');
    const got = await api('GET', `/api/workspaces/${ws}`);
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(got.json.quotas, { max_paths: 5, webhooks_per_second: 100 });

    // Edit its quotas.
    await row.locator('.ws-edit').click();
    await page.locator('#ws-quota-form').waitFor({ state: 'visible' });
    await page.fill('#ws-q-max-paths', '3');
    await page.fill('#ws-q-rate', '');
    await page.click('#ws-q-save');
    await page.waitForFunction((name) => {
      const r = document.querySelector(`#ws-table tbody tr[data-workspace="${name}"] .ws-paths`);
      return r && r.textContent.trim() === '0 / 3';
    }, ws);
    assert.deepEqual((await api('GET', `/api/workspaces/${ws}`)).json.quotas, { max_paths: 3 });

    // A path in it (the administrator names the workspace).
    const mine = uniqueId('teams-mine');
    const created = await api('POST', '/api/paths', { path_id: mine, workspace: ws });
    assert.equal(created.status, 201, created.text);
    made.push(mine);

    // A write key, shown once.
    await page.locator('#ws-detail').waitFor({ state: 'visible' });
    assert.equal((await page.textContent('#ws-one-title')).trim(), `Keys of ${ws}`);
    await page.fill('#ws-key-name', 'ci');
    await page.selectOption('#ws-key-scope', 'write');
    await page.click('#ws-key-create');
    await page.locator('#ws-key-once').waitFor({ state: 'visible' });
    const key = (await page.textContent('#ws-key-value')).trim();
    assert.match(key, /^clk_[A-Za-z0-9_-]{32}$/);
    await page.click('#ws-key-copy');
    await page.waitForFunction(() => document.getElementById('ws-key-copy').textContent === 'Copied!');
    const keyRow = page.locator(`#ws-keys tbody tr[data-prefix="${key.slice(0, 12)}"]`);
    await keyRow.waitFor();
    assert.equal((await keyRow.locator('td').nth(2).textContent()).trim(), 'write');
    // The audit log has the key's creation.
    await page.waitForFunction(() => [...document.querySelectorAll('#ws-audit tbody td')].some((td) => /key/.test(td.textContent)));

    // The key signs in a fresh browser through the prompt (on a service with a
    // token; an open one asks for nothing, so the key is put where the prompt keeps it).
    keyCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    if (!TOKEN) {
      await keyCtx.addInitScript((k) => {
        if (sessionStorage.getItem('seeded')) return; // once: Sign out must stick
        sessionStorage.setItem('seeded', '1');
        localStorage.setItem('callbacklistener.token', k);
      }, key);
    }
    const kp = await keyCtx.newPage();
    kp.setDefaultTimeout(15_000);
    const problems = [];
    kp.on('pageerror', (e) => problems.push(e.message));
    await kp.goto(`${BASE}/`);
    if (TOKEN) {
      await kp.locator('#token-dialog').waitFor({ state: 'visible' });
      assert.match(await kp.textContent('#token-message'), /workspace API key/);
      await kp.fill('#token-input', key);
      await kp.click('#token-save');
    }
    await kp.waitForFunction((id) => document.querySelector(`#path-list [data-path-id="${id}"]`), mine);
    const listed = await kp.$$eval('#path-list .path-item', (items) => items.map((i) => i.dataset.pathId));
    assert.deepEqual(listed, [mine], 'only the workspace\'s path');
    await kp.waitForFunction(() => /scope write/.test(document.getElementById('whoami').textContent));
    assert.equal((await kp.textContent('#whoami')).trim(), `key ${key.slice(0, 12)}… · workspace ${ws} · scope write`);
    assert.equal(await kp.locator('#sign-out').isVisible(), true);

    // A route beyond its scope: the API's message as a toast, not a sign-in prompt.
    await kp.click('#open-workspace');
    await kp.locator('#workspace-dialog').waitFor({ state: 'visible' });
    await kp.locator('#ws-keys-error').waitFor({ state: 'visible' });
    await kp.locator('#toast').waitFor({ state: 'visible' });
    assert.match(await kp.textContent('#toast'), /needs a key with the `admin` scope; this key has `write`/);
    assert.equal(await kp.locator('#token-dialog').isVisible(), false);
    await kp.click('#workspace-close');

    // Revoked in the admin view: the key's next request asks for sign-in again.
    await keyRow.locator('.key-revoke').click();
    await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
    await page.click('#confirm-ok');
    await page.waitForFunction((prefix) => {
      const r = document.querySelector(`#ws-keys tbody tr[data-prefix="${prefix}"]`);
      return r && r.classList.contains('revoked') && !r.querySelector('.key-revoke');
    }, key.slice(0, 12));
    await page.waitForFunction(() => [...document.querySelectorAll('#ws-audit tbody td')].some((td) => /revoke/.test(td.textContent)));

    await kp.reload();
    await kp.locator('#token-dialog').waitFor({ state: 'visible' });
    assert.match(await kp.textContent('#token-message'), /rejected/);
    await kp.click('#token-cancel');

    // Sign out forgets the token.
    await Promise.all([kp.waitForEvent('load'), kp.click('#sign-out')]);
    assert.equal(await kp.evaluate(() => localStorage.getItem('callbacklistener.token')), null);
    if (TOKEN) {
      await kp.locator('#token-dialog').waitFor({ state: 'visible' });
    } else {
      await kp.waitForFunction(() => document.getElementById('whoami').textContent === 'open service (administrator)');
      assert.equal(await kp.locator('#sign-out').isVisible(), false);
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(admin.problems, []);
  } finally {
    if (keyCtx) await keyCtx.close();
    await admin.context.close();
    for (const id of made) await api('DELETE', `/api/paths/${id}`);
  }
});
