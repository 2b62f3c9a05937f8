// The client against a running service (CL_BASE_URL, default
// http://127.0.0.1:8080): the committed types are current, the fetch wrapper
// reads the API and its errors, the live-feed helper resumes with
// Last-Event-ID without gap or repeat, and the types check with tsc.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { ApiError, createClient } from '../src/index.js';
import { generate, TYPES } from '../scripts/generate.mjs';

const base = process.env.CL_BASE_URL || 'http://127.0.0.1:8080';
const client = createClient({ baseUrl: base, token: process.env.CL_API_TOKEN });

async function hook(webhookUrl, body, rest = '') {
  const res = await fetch(webhookUrl + rest, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  assert.equal(res.status, 200);
  return (await res.json()).request_id;
}

async function until(check, what) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('the committed OpenAPI types are what the generator makes from the server', async () => {
  assert.equal(await readFile(TYPES, 'utf8'), await generate(base),
    'src/openapi.d.ts is stale: run `npm run generate` in clients/js');
});

test('paths, captures, details, copy as curl and errors', async () => {
  const path = await client.createPath();
  assert.match(path.path_id, /^[A-Za-z0-9_-]+$/);
  const id = await hook(path.webhook_url, 'hello', '/sub?x=1');
  await until(async () => (await client.listLogs(path.path_id)).items.length === 1, 'the capture');
  const page = await client.listLogs(path.path_id, { method: 'POST', limit: 10 });
  assert.equal(page.items[0].id, id);
  const detail = await client.getLog(path.path_id, id);
  assert.equal(detail.subpath, '/sub');
  assert.equal(detail.body, 'hello');
  const curl = await client.copyAs(path.path_id, id, 'curl');
  assert.match(curl, /^curl .*\/sub\?x=1/);
  assert.ok((await client.listPaths()).items.some((p) => p.path_id === path.path_id));
  await assert.rejects(client.getLog(path.path_id, 'nope'), (e) =>
    e instanceof ApiError && e.status === 400 && e.code === 'invalid_request_id');
  await assert.rejects(client.getPath('no-such-path-here'), (e) => e instanceof ApiError && e.status === 404);
});

test('the live feed delivers captures and resumes after the last one seen', async () => {
  const path = await client.createPath();
  const seen = [];
  let abort = new AbortController();
  let opened;
  const open = new Promise((r) => { opened = r; });
  const first = client.follow(path.path_id, { signal: abort.signal, onOpen: opened, onEvent: (s, id) => seen.push(id) });
  await open;
  const a = await hook(path.webhook_url, 'a');
  const b = await hook(path.webhook_url, 'b');
  await until(() => seen.length === 2, 'two live events');
  abort.abort();
  const last = await first;
  assert.deepEqual(seen, [a, b]);
  assert.equal(last, b);

  // Sent while nobody follows; the resumed feed starts right after `b`.
  const c = await hook(path.webhook_url, 'c');
  const resumed = [];
  abort = new AbortController();
  const again = client.follow(path.path_id, { lastEventId: last, signal: abort.signal, onEvent: (s, id) => resumed.push(id) });
  await until(() => resumed.length >= 1, 'the missed event');
  const d = await hook(path.webhook_url, 'd');
  await until(() => resumed.length >= 2, 'the next live event');
  abort.abort();
  await again;
  assert.deepEqual(resumed, [c, d]);
});

test('the client and its types check with tsc', async () => {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const project = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
  await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', project]);
});
