// Shared set-up of the browser tests: the browser, the API, webhooks, a page
// that records what must not happen (dialogs, page errors, CSP violations).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

export const BASE = (process.env.CL_BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const INGEST = (process.env.CL_INGEST_URL || BASE).replace(/\/+$/, '');
export const TOKEN = process.env.CL_API_TOKEN || '';
export const TIMEOUT = 15_000;

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-precise-memory-info',
    ],
  });
}

export function apiHeaders(extra = {}) {
  return TOKEN ? { Authorization: `Bearer ${TOKEN}`, ...extra } : extra;
}

export async function api(method, path, body) {
  const headers = apiHeaders(body === undefined ? {} : { 'Content-Type': 'application/json' });
  const res = await fetch(BASE + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (_) {
    json = null;
  }
  return { status: res.status, json, text };
}

export async function sendWebhook(pathId, suffix, init) {
  const res = await fetch(`${INGEST}/webhook/${pathId}${suffix}`, init);
  const text = await res.text();
  assert.equal(res.status, 200, `webhook answered ${res.status}: ${text}`);
  return JSON.parse(text).request_id;
}

export function uniqueId(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export async function newPath(prefix, extra = {}) {
  const pathId = uniqueId(prefix);
  const r = await api('POST', '/api/paths', { path_id: pathId, ...extra });
  assert.equal(r.status, 201, r.text);
  return pathId;
}

export async function openPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true, ...options });
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

export async function rowIds(page) {
  return page.$$eval('#captures .capture-row', (rows) => rows.map((r) => r.dataset.id));
}

export async function waitLive(page) {
  await page.waitForFunction(() => document.getElementById('status').textContent.trim() === 'live');
}
