// Who is signed in, shown in the header, and "Sign out". Only what the API
// tells: the administrator (GET /api/workspaces answers), the open service
// (no token and it answers), or a workspace key: its prefix, its workspace
// (the listed paths' `workspace`, or GET /api/workspaces/{name} for an
// `admin` key) and its scope (an `admin` key reads its workspace; any other
// key is told its scope by the 403 that refuses it).

import { $, show } from '../dom.js';
import { api, apiToken, enc, forgetToken, isWorkspaceKey } from '../api.js';
import { app } from '../state.js';

// { kind: 'open' | 'admin' | 'key' | 'unknown', prefix, workspace, scope }
export const who = { kind: 'unknown', prefix: null, workspace: null, scope: null };

const listeners = [];
export function onIdentity(fn) {
  listeners.push(fn);
}

const SCOPE_RE = /this key has `([a-z]+)`/;

// The workspaces of the listed paths (a key sees only its own).
export function listedWorkspaces() {
  const names = new Set();
  for (const p of app.paths.values()) if (p && typeof p.workspace === 'string') names.add(p.workspace);
  return [...names];
}

function render() {
  const label = $('whoami');
  let text = '';
  let title = '';
  if (who.kind === 'open') {
    text = 'open service (administrator)';
    title = 'No API token is configured: anybody who reaches this page administers it';
  } else if (who.kind === 'admin') {
    text = 'administrator';
    title = 'Signed in with the administrator\u2019s token (CL_API_TOKEN)';
  } else if (who.kind === 'key') {
    const parts = [`key ${who.prefix}\u2026`];
    parts.push(`workspace ${who.workspace || 'unknown'}`);
    parts.push(`scope ${who.scope || 'unknown'}`);
    text = parts.join(' \u00b7 ');
    title = 'Signed in with a workspace API key';
  }
  label.textContent = text;
  label.title = title;
  show(label, Boolean(text));
  show($('sign-out'), Boolean(apiToken()));
  const canAdmin = who.kind === 'open' || who.kind === 'admin' || (who.kind === 'key' && who.scope === 'admin');
  show($('open-workspace'), who.kind !== 'unknown' && (canAdmin || who.kind === 'key'));
  for (const fn of listeners) fn(who);
}

let probing = 0;

// Finds out who the token is; called after the paths are listed.
export async function refreshIdentity() {
  const mine = ++probing;
  const t = apiToken();
  const next = { kind: 'unknown', prefix: null, workspace: null, scope: null };
  try {
    await api('GET', '/api/workspaces', undefined, 'json', { quiet: true });
    next.kind = t ? 'admin' : 'open';
  } catch (e) {
    if (e.status === 403 && isWorkspaceKey(t)) {
      next.kind = 'key';
      next.prefix = t.slice(0, 12);
      const listed = listedWorkspaces();
      if (listed.length === 1) next.workspace = listed[0];
      // An admin key may read its workspace; any other key's 403 names its scope.
      try {
        const w = await api('GET', `/api/workspaces/${enc(next.workspace || 'default')}`, undefined, 'json', { quiet: true });
        next.scope = 'admin';
        if (w && w.name) next.workspace = w.name;
      } catch (e2) {
        const m = e2.status === 403 && SCOPE_RE.exec(e2.message || '');
        if (m) next.scope = m[1];
        else if (e2.status === 404) next.scope = 'admin'; // passed the scope check; another workspace
      }
    }
  }
  if (mine !== probing) return;
  Object.assign(who, next);
  render();
}

export function initSession({ reload }) {
  $('sign-out').addEventListener('click', () => {
    forgetToken();
    Object.assign(who, { kind: 'unknown', prefix: null, workspace: null, scope: null });
    render();
    // Nothing of what the old token could see stays on the page.
    location.reload();
  });
  // A refused action names the key's scope: keep it.
  window.addEventListener('cl-scope', (e) => {
    const m = SCOPE_RE.exec(e.detail || '');
    if (who.kind === 'key' && m && who.scope !== m[1]) {
      who.scope = m[1];
      render();
    }
  });
  // A token typed at the prompt: another caller, maybe other paths.
  window.addEventListener('cl-token', () => {
    Object.assign(who, { kind: 'unknown', prefix: null, workspace: null, scope: null });
    render();
    if (apiToken()) Promise.resolve().then(reload);
  });
  render();
}
