// Accessibility: axe-core (tests/browser/node_modules/axe-core) on the main
// views of the inspector; no serious or critical violation allowed. The
// page's CSP forbids injected script, so this context alone bypasses CSP.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { BASE, api, sendWebhook, newPath, launch, openPage } from './lib.mjs';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

async function scan(page, view) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${view}: ${v.id} (${v.impact}) ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`), []);
}

for (const scheme of ['light', 'dark']) {
  test(`a11y (${scheme}): welcome, path with a capture open, settings, replay, diff and workspace dialogs`, async () => {
    // A rule answers POSTs, so the detail shows its Answer and the rows their answer tag.
    const pathId = await newPath('a11y', {
      rules: [{
        name: 'receipt',
        when: { method: 'POST' },
        response: { status: 200, headers: [['Content-Type', 'application/json']], body_template: '{"request_id":"{{ request.id }}"}' },
      }],
    });
    const a = await sendWebhook(pathId, '/github?x=1', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push' }, body: '{"ref":"main"}',
    });
    await sendWebhook(pathId, '/github?x=2', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push' }, body: '{"ref":"dev"}',
    });
    const { context, page } = await openPage(browser, { bypassCSP: true, colorScheme: scheme });
    try {
      await page.goto(`${BASE}/`);
      await page.locator('#create-auto').waitFor();
      await scan(page, 'welcome');

      await page.goto(`${BASE}/#/p/${pathId}`);
      await page.waitForFunction(() => document.querySelectorAll('#captures .capture-row').length === 2);
      await page.click(`.capture-row[data-id="${a}"]`);
      await page.locator('#detail').waitFor({ state: 'visible' });
      await page.locator('#answer').waitFor({ state: 'visible' });
      await page.waitForTimeout(3000); // the new-row highlight fades (contrast is judged after)
      await scan(page, 'path + detail');

      await page.click('#open-settings');
      await page.locator('#settings-dialog').waitFor({ state: 'visible' });
      await scan(page, 'settings');
      await page.click('#settings-cancel');

      await page.click('#open-replay');
      await page.locator('#replay-dialog').waitFor({ state: 'visible' });
      await scan(page, 'replay');
      await page.click('#replay-close');

      await page.click('#diff-mark');
      await page.click('.capture-row:not(.selected)');
      await page.locator('#diff-open').waitFor({ state: 'visible' });
      await page.click('#diff-open');
      await page.locator('#diff-dialog').waitFor({ state: 'visible' });
      await scan(page, 'diff');
      await page.click('#diff-close');

      // The Workspace dialog, with the default workspace's keys and audit log shown.
      await page.locator('#open-workspace').waitFor({ state: 'visible' });
      await page.click('#open-workspace');
      await page.locator('#workspace-dialog').waitFor({ state: 'visible' });
      await page.locator('#ws-table tbody tr[data-workspace="default"]').waitFor();
      await page.click('#ws-table tbody tr[data-workspace="default"] .ws-open');
      await page.locator('#ws-detail').waitFor({ state: 'visible' });
      await page.waitForFunction(() => document.querySelector('#ws-audit tbody tr'));
      await scan(page, 'workspace');
    } finally {
      await context.close();
      await api('DELETE', `/api/paths/${pathId}`);
    }
  });
}
