// A page on a second origin (its own port) uses the service through CORS:
// creates a path, lists its captures and follows the live feed, with the
// typed client (clients/js) and a native EventSource. The same page from an
// origin the service does not list is blocked, and creates nothing.
//
// The service must list CL_CORS_ORIGIN (default http://127.0.0.1:18091) in
// --cors-origins; scripts/test.sh starts it so.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { BASE, TOKEN, TIMEOUT, launch, sendWebhook, uniqueId, api } from './lib.mjs';

const ALLOWED = process.env.CL_CORS_ORIGIN || 'http://127.0.0.1:18091';
const CLIENT = new URL('../../clients/js/src/index.js', import.meta.url);

const PAGE = `<!doctype html><html lang="en"><title>elsewhere</title><body>
<ul id="live"></ul>
<script type="module">
import { createClient } from '/client.js';
const q = new URLSearchParams(location.search);
const base = q.get('base'), token = q.get('token') || undefined, pathId = q.get('path');
const out = window.result = { created: null, listed: null, live: [], native: [], errors: [] };
const client = createClient({ baseUrl: base, token });
try {
  out.created = (await client.createPath({ path_id: pathId })).path_id;
  out.listed = (await client.listLogs(pathId)).items.length;
  client.follow(pathId, { onEvent: (s, id) => out.live.push(id), onError: (e) => out.errors.push(String(e)) });
  const es = new EventSource(base + '/api/paths/' + pathId + '/stream' + (token ? '?access_token=' + token : ''));
  es.addEventListener('request', (e) => out.native.push(e.lastEventId));
  es.onopen = () => { out.nativeOpen = true; };
} catch (e) {
  out.errors.push(String(e));
}
out.done = true;
</script></body></html>`;

async function serve(port) {
  const client = await readFile(CLIENT);
  const server = createServer((req, res) => {
    if (req.url.startsWith('/client.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(client);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    }
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

let browser;
const servers = [];
before(async () => { browser = await launch(); });
after(async () => {
  await browser?.close();
  for (const s of servers) s.close();
});

async function open(origin, pathId) {
  const page = await browser.newPage();
  const q = new URLSearchParams({ base: BASE, path: pathId, token: TOKEN });
  await page.goto(`${origin}/?${q}`);
  await page.waitForFunction(() => window.result?.done, null, { timeout: TIMEOUT });
  return page;
}

test('a page on a listed origin creates a path, lists captures and follows the live feed', async () => {
  const pre = await fetch(`${BASE}/api/paths`, {
    method: 'OPTIONS',
    headers: { origin: ALLOWED, 'access-control-request-method': 'POST' },
  });
  assert.equal(pre.headers.get('access-control-allow-origin'), ALLOWED,
    `start the service with --cors-origins ${ALLOWED} (or set CL_CORS_ORIGIN to an origin it lists)`);
  servers.push(await serve(Number(new URL(ALLOWED).port)));
  const pathId = uniqueId('cors');
  const page = await open(ALLOWED, pathId);
  let r = await page.evaluate(() => window.result);
  assert.deepEqual(r.errors, []);
  assert.equal(r.created, pathId);
  assert.equal(r.listed, 0);
  await page.waitForFunction(() => window.result.nativeOpen, null, { timeout: TIMEOUT });
  // The helper's fetch-based feed is open once its first keep-alive or event
  // can arrive; a capture sent now reaches both feeds.
  await new Promise((res) => setTimeout(res, 500));
  const id = await sendWebhook(pathId, '/x', { method: 'POST', body: 'hi' });
  await page.waitForFunction((id) => window.result.live.includes(id) && window.result.native.includes(id),
    id, { timeout: TIMEOUT });
  const listed = await page.evaluate(async ({ base, pathId, token }) => {
    const { createClient } = await import('/client.js');
    return (await createClient({ baseUrl: base, token: token || undefined }).listLogs(pathId)).items.map((i) => i.id);
  }, { base: BASE, pathId, token: TOKEN });
  assert.deepEqual(listed, [id]);
  r = await page.evaluate(() => window.result);
  assert.deepEqual(r.errors, []);
  await page.close();
});

test('the same page on an origin the service does not list is blocked', async () => {
  const server = await serve(0);
  servers.push(server);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const pathId = uniqueId('cors-blocked');
  const page = await open(origin, pathId);
  const r = await page.evaluate(() => window.result);
  assert.equal(r.created, null);
  assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
  assert.match(r.errors[0], /TypeError|fetch/i);
  // The preflight failed, so the POST was never sent.
  assert.equal((await api('GET', `/api/paths/${pathId}`)).status, 404);
  // An EventSource from there is refused too.
  const feed = await page.evaluate((url) => new Promise((res) => {
    const es = new EventSource(url);
    es.onopen = () => { es.close(); res('open'); };
    es.onerror = () => { es.close(); res('error'); };
  }), `${BASE}/api/stream${TOKEN ? `?access_token=${TOKEN}` : ''}`);
  assert.equal(feed, 'error');
  await page.close();
});
