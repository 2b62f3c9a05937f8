// Browser test of the web inspector, against a running server.
//
//   CL_BASE_URL    the server with the page and the API (default http://127.0.0.1:8080)
//   CL_INGEST_URL  where webhooks are sent, when ingest is a separate service
//                  (default CL_BASE_URL)
//   CL_API_TOKEN   API token, when the server requires one
//   CHROMIUM       the browser (default /usr/bin/chromium, Debian's package)
//   CL_SCREENSHOT=1  also writes docs/screenshot.png (1280x800)
//
// Run: node --test tests/browser/   (or tests/browser/run.sh)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const BASE = (process.env.CL_BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const INGEST = (process.env.CL_INGEST_URL || BASE).replace(/\/+$/, '');
const TOKEN = process.env.CL_API_TOKEN || '';
const TIMEOUT = 15_000;

const JSON_BODY = '{"event":"push","ref":"refs/heads/main","commits":[{"id":"abc","added":["a.txt"]}],"quote":"it\'s"}';
const FORM_BODY = 'name=Jane+Doe&email=jane%40example.com&tag=a&tag=b';
const XSS_BODY = '<script>window.__xss=1;alert(1)</script><img src=x onerror="window.__xss=2;alert(2)">';

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
});

after(async () => {
  if (browser) await browser.close();
});

function apiHeaders(extra = {}) {
  return TOKEN ? { Authorization: `Bearer ${TOKEN}`, ...extra } : extra;
}

async function api(method, path, body) {
  const headers = apiHeaders(body === undefined ? {} : { 'Content-Type': 'application/json' });
  const res = await fetch(BASE + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function sendWebhook(pathId, suffix, init) {
  const res = await fetch(`${INGEST}/webhook/${pathId}${suffix}`, init);
  const text = await res.text();
  assert.equal(res.status, 200, `webhook answered ${res.status}: ${text}`);
  const json = JSON.parse(text);
  assert.equal(typeof json.request_id, 'string');
  return json.request_id;
}

function uniqueId(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

// A page that records everything that must not happen: dialogs (alert from
// an injected script), uncaught errors, CSP violations.
async function openPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (TOKEN) {
    await context.addInitScript((t) => {
      localStorage.setItem('callbacklistener.token', t);
    }, TOKEN);
  }
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on('dialog', async (d) => {
    problems.push(`dialog ${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) {
      problems.push(`CSP: ${m.text()}`);
    }
  });
  return { context, page, problems };
}

async function rowCount(page) {
  return page.locator('#captures .capture-row').count();
}

test('inspector: create, live capture, detail, curl, XSS safety', async () => {
  const { context, page, problems } = await openPage();
  try {
    await page.goto(`${BASE}/`);
    await page.locator('#create-custom-input').waitFor();

    // Create a path with a custom id from the page.
    const pathId = uniqueId('ui');
    await page.fill('#create-custom-input', pathId);
    await page.click('#create-custom');
    await page.waitForFunction(
      (id) => document.getElementById('webhook-url').textContent.endsWith(`/webhook/${id}`),
      pathId,
    );
    assert.equal(new URL(page.url()).hash, `#/p/${pathId}`);
    await page.locator(`#path-list >> text=${pathId}`).waitFor();

    // Creating it again shows the server's error message.
    await page.fill('#create-custom-input', pathId);
    await page.click('#create-custom');
    await page.locator('#create-error').waitFor({ state: 'visible' });
    assert.ok((await page.textContent('#create-error')).trim().length > 0);

    await page.waitForFunction(() => document.getElementById('status').textContent.trim() === 'live');

    // Three webhooks, sent from outside the page.
    const jsonId = await sendWebhook(pathId, '/github/push?ref=main&x=1&x=2', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Test-Header': 'hello-from-test' },
      body: JSON_BODY,
    });
    const formId = await sendWebhook(pathId, '', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: FORM_BODY,
    });
    const xssId = await sendWebhook(pathId, '/x', {
      method: 'POST',
      headers: { 'Content-Type': 'text/html' },
      body: XSS_BODY,
    });

    // They appear without a reload, newest first, each once.
    await page.waitForFunction(() => document.querySelectorAll('#captures .capture-row').length >= 3);
    await page.waitForTimeout(300);
    assert.equal(await rowCount(page), 3);
    const ids = await page.$$eval('#captures .capture-row', (rows) => rows.map((r) => r.dataset.id));
    assert.deepEqual(ids, [xssId, formId, jsonId]);

    // The JSON capture: pretty body, tables, curl.
    await page.click(`.capture-row[data-id="${jsonId}"]`);
    await page.locator('#detail').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.getElementById('curl-text').textContent.includes('github/push'));
    const pretty = await page.textContent('#body-pretty');
    assert.equal(pretty.trim(), JSON.stringify(JSON.parse(JSON_BODY), null, 2));
    assert.ok(pretty.includes('\n  "event": "push"'), 'pretty JSON is indented by two spaces');
    assert.ok(await page.locator('#body-pretty').isVisible(), 'Pretty is the default view for JSON');

    const headers = await page.textContent('#headers-table');
    assert.match(headers, /x-test-header/i);
    assert.match(headers, /hello-from-test/);
    const queryRows = await page.$$eval('#query-table tbody tr', (rows) =>
      rows.map((r) => Array.from(r.children).map((c) => c.textContent)));
    assert.deepEqual(queryRows, [['ref', 'main'], ['x', '1'], ['x', '2']]);

    const curl = await page.textContent('#curl-text');
    assert.ok(curl.includes('-X POST'), curl);
    assert.match(curl, /-H 'x-test-header: hello-from-test'/i);
    assert.match(curl, /-H 'content-type: application\/json'/i);
    assert.ok(curl.includes(`/webhook/${pathId}/github/push?ref=main&x=1&x=2'`), curl);
    // The body, with its single quote escaped for the shell.
    assert.ok(curl.includes(`--data-binary '${JSON_BODY.replace(/'/g, "'\\''")}'`), curl);
    assert.doesNotMatch(curl, /-H 'host:/i);
    assert.doesNotMatch(curl, /-H 'content-length:/i);

    const hex = await page.textContent('#body-hex');
    assert.match(hex, /^00000000  7b 22 65 76 65 6e 74 22  3a 22 70 75 73 68 22 2c  \|\{"event":"push",\|/);

    const href = await page.getAttribute('#download-body', 'href');
    assert.equal(href, `/api/paths/${pathId}/logs/${jsonId}/body`);

    // Reload keeps the selection (path and request in the URL hash).
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#captures .capture-row').length === 3);
    await page.waitForFunction((id) => document.getElementById('curl-text').textContent.includes(id), pathId);
    const listed = (await api('GET', '/api/paths')).json.items.find((p) => p.path_id === pathId);
    assert.ok(listed, 'the new path is listed by the API');
    assert.equal(await page.textContent('#webhook-url'), listed.webhook_url);

    // The form capture: a name/value table.
    await page.click(`.capture-row[data-id="${formId}"]`);
    await page.waitForFunction(() => document.querySelector('#body-pretty table') !== null);
    const formRows = await page.$$eval('#body-pretty table tbody tr', (rows) =>
      rows.map((r) => Array.from(r.children).map((c) => c.textContent)));
    assert.deepEqual(formRows, [
      ['name', 'Jane Doe'], ['email', 'jane@example.com'], ['tag', 'a'], ['tag', 'b'],
    ]);

    // The hostile capture: shown as text, never run.
    await page.click(`.capture-row[data-id="${xssId}"]`);
    await page.waitForFunction((id) => document.getElementById('detail-meta').textContent.includes(id), xssId);
    await page.click('.tab[data-tab="raw"]');
    assert.ok(await page.locator('#body-raw').isVisible());
    const raw = await page.textContent('#body-raw');
    assert.ok(raw.includes('<script>'), 'the raw body shows the literal <script>');
    assert.equal(raw, XSS_BODY);
    await page.click('.tab[data-tab="pretty"]');
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator('#detail script, #detail img').count(), 0);
    assert.ok((await page.textContent('#curl-text')).includes("<script>window.__xss=1;alert(1)</script>"));

    // Screenshot for the docs, with the JSON capture open.
    if (process.env.CL_SCREENSHOT === '1') {
      await page.click(`.capture-row[data-id="${jsonId}"]`);
      await page.waitForFunction(() => document.getElementById('curl-text').textContent.includes('github/push'));
      await page.click('.tab[data-tab="pretty"]');
      await page.waitForTimeout(3000); // let the "new row" highlight fade
      const file = fileURLToPath(new URL('../../docs/screenshot.png', import.meta.url));
      await mkdir(fileURLToPath(new URL('../../docs/', import.meta.url)), { recursive: true });
      await page.screenshot({ path: file });
    }

    // Delete it from the page, through the confirmation dialog.
    await page.click('#delete-path');
    await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
    await page.click('#confirm-ok');
    await page.waitForFunction(
      (id) => !Array.from(document.querySelectorAll('#path-list .path-item')).some((li) => li.dataset.pathId === id),
      pathId,
    );
    assert.equal((await api('GET', `/api/paths/${pathId}/logs`)).status, 404);

    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('inspector: load more pages through older captures without duplicates', async () => {
  const pathId = uniqueId('pg');
  const created = await api('POST', '/api/paths', { path_id: pathId });
  assert.equal(created.status, 201);
  const sent = [];
  for (let i = 0; i < 105; i++) {
    sent.push(await sendWebhook(pathId, `/n/${i}`, { method: 'PUT', body: String(i) }));
  }
  const { context, page, problems } = await openPage();
  try {
    await page.goto(`${BASE}/#/p/${pathId}`);
    await page.waitForFunction(() => document.querySelectorAll('#captures .capture-row').length === 100);
    await page.locator('#load-more').waitFor({ state: 'visible' });
    // Clicked where it is: scrolling it into view (as page.click does) lets
    // infinite scroll load the page first and hide the button mid-click.
    await page.locator('#load-more').evaluate((button) => button.click());
    await page.waitForFunction(() => document.querySelectorAll('#captures .capture-row').length === 105);
    await page.locator('#load-more').waitFor({ state: 'hidden' });
    const ids = await page.$$eval('#captures .capture-row', (rows) => rows.map((r) => r.dataset.id));
    assert.deepEqual(ids, [...sent].reverse());

    // A live one after paging lands on top, once.
    await page.waitForFunction(() => document.getElementById('status').textContent.trim() === 'live');
    const last = await sendWebhook(pathId, '/live', { method: 'DELETE' });
    await page.waitForFunction(() => document.querySelectorAll('#captures .capture-row').length === 106);
    assert.equal(await page.getAttribute('#captures .capture-row:first-child', 'data-id'), last);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
  }
});

test('inspector: binary body defaults to hex and curl feeds it through base64', async () => {
  const pathId = uniqueId('bin');
  assert.equal((await api('POST', '/api/paths', { path_id: pathId })).status, 201);
  const bytes = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0x27, 0x00, 0x41]);
  const id = await sendWebhook(pathId, '', {
    method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes,
  });
  const { context, page, problems } = await openPage();
  try {
    await page.goto(`${BASE}/#/p/${pathId}/r/${id}`);
    await page.waitForFunction(() => document.getElementById('curl-text').textContent.includes('base64 -d'));
    assert.ok(await page.locator('#body-hex').isVisible(), 'Hex is the default view for binary');
    const hex = await page.textContent('#body-hex');
    assert.ok(hex.startsWith('00000000  1f 8b 08 00 ff 27 00 41'), hex);
    const curl = await page.textContent('#curl-text');
    // The API's command: the bytes in a base64 here-document piped to curl.
    assert.ok(curl.startsWith("base64 -d <<'CL_BODY' | curl "), curl);
    assert.ok(curl.includes(' -X POST '), curl);
    assert.ok(curl.includes(`\n${bytes.toString('base64')}\nCL_BODY`), curl);
    assert.ok(curl.includes('--data-binary @-'), curl);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
  }
});
