// The API client: JSON in and out, the API token (the administrator's
// CL_API_TOKEN or a workspace API key `clk_...`; asked once, kept in
// localStorage) and private paths' read tokens (X-Read-Token).

import { $, toast } from './dom.js';

const TOKEN_KEY = 'callbacklistener.token';
const READ_TOKENS_KEY = 'callbacklistener.read-tokens';

export const enc = encodeURIComponent;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function load(key) {
  try {
    return localStorage.getItem(key);
  } catch (_) {
    return null; // private mode: memory only
  }
}

function save(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch (_) { /* private mode: memory only */ }
}

let token = load(TOKEN_KEY);
let readTokens = {};
try {
  readTokens = JSON.parse(load(READ_TOKENS_KEY) || '{}') || {};
} catch (_) {
  readTokens = {};
}

export function apiToken() {
  return token;
}

// Forgets the token (Sign out); the next request asks for one again.
export function forgetToken() {
  token = null;
  save(TOKEN_KEY, null);
  window.dispatchEvent(new CustomEvent('cl-token'));
}

// A workspace API key, as opposed to the administrator's token.
export function isWorkspaceKey(t) {
  return typeof t === 'string' && t.startsWith('clk_');
}

// Private paths this browser holds a read token for (they are never listed
// by GET /api/paths).
export function privatePaths() {
  return Object.keys(readTokens);
}

export function readTokenOf(pathId) {
  return readTokens[pathId] || null;
}

export function setReadToken(pathId, value) {
  if (value) readTokens[pathId] = value;
  else delete readTokens[pathId];
  save(READ_TOKENS_KEY, JSON.stringify(readTokens));
}

// The path an API URL is about, for its read token.
function pathOf(url) {
  const m = /^\/api\/paths\/([^/?]+)/.exec(url);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch (_) {
    return null;
  }
}

export function authHeaders(url) {
  const h = {};
  if (token) h.Authorization = `Bearer ${token}`;
  const p = url && pathOf(url);
  if (p && readTokens[p]) h['X-Read-Token'] = readTokens[p];
  return h;
}

// Query parameters for an EventSource or a plain link, which cannot send headers.
export function authParams(url, params) {
  if (token) params.set('access_token', token);
  const p = pathOf(url);
  if (p && readTokens[p]) params.set('read_token', readTokens[p]);
  return params;
}

let tokenPrompt = null;

export function promptOpen() {
  return tokenPrompt !== null;
}

// Asks for the API token; concurrent 401s share one dialog.
function askToken(rejected) {
  if (tokenPrompt) return tokenPrompt;
  const dlg = $('token-dialog');
  const input = $('token-input');
  $('token-message').textContent = rejected
    ? 'The saved token or key was rejected (unknown, revoked or expired). Enter the administrator\'s token or a workspace API key.'
    : 'This server asks for the administrator\'s API token or a workspace API key (clk_…). It is kept in this browser only.';
  input.value = '';
  tokenPrompt = new Promise((resolve) => {
    const done = (value) => {
      $('token-form').removeEventListener('submit', onSubmit);
      $('token-cancel').removeEventListener('click', onCancel);
      dlg.removeEventListener('cancel', onCancel);
      if (dlg.open) dlg.close();
      tokenPrompt = null;
      resolve(value);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (v) done(v);
    };
    const onCancel = (e) => {
      e.preventDefault();
      done(null);
    };
    $('token-form').addEventListener('submit', onSubmit);
    $('token-cancel').addEventListener('click', onCancel);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
    input.focus();
  });
  return tokenPrompt;
}

// One request; `as` is 'json' (default), 'text' or 'blob'. A 403
// insufficient_scope is shown as a toast with the API's message (and thrown);
// `opts.quiet` (a probe) shows nothing and does not ask for a token on a 401.
export async function api(method, url, body, as = 'json', opts = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { Accept: as === 'json' ? 'application/json' : '*/*', ...authHeaders(url) };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      throw new ApiError(0, 'network', `Network error: ${e.message || e}`);
    }
    if (res.status === 401 && attempt < 5 && !opts.quiet) {
      const fresh = await askToken(Boolean(token));
      if (!fresh) throw new ApiError(401, 'unauthorized', 'An API token is required');
      token = fresh;
      save(TOKEN_KEY, fresh);
      window.dispatchEvent(new CustomEvent('cl-token'));
      continue;
    }
    if (res.ok && as === 'blob') return res.blob();
    if (res.ok && as === 'text') return res.text();
    if (res.status === 204) return null;
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!res.ok) {
      const err = data && data.error;
      const e = new ApiError(res.status, (err && err.code) || `http_${res.status}`,
        (err && err.message) || `${res.status} ${res.statusText || 'error'}`);
      if (e.status === 403 && e.code === 'insufficient_scope') {
        window.dispatchEvent(new CustomEvent('cl-scope', { detail: e.message }));
        if (!opts.quiet) toast(e.message, true);
      }
      throw e;
    }
    return data;
  }
}
