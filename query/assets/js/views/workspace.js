// The Workspace dialog (docs/TEAMS.md): for the administrator (or the open
// service) the workspaces with their usage and quotas, a form to create one
// and one to change a workspace's quotas; for a chosen workspace (a
// workspace admin key: its own), its keys with "Revoke", a form to create a
// key (shown once, with a copy button) and the newest 50 audit entries.

import { $, el, clear, show, copyText, confirmDialog, toast } from '../dom.js';
import { api, enc } from '../api.js';
import { fullTime, relativeTime } from '../format.js';
import { who, listedWorkspaces } from './session.js';

const AUDIT_LIMIT = 50;
let current = null; // the workspace whose keys are shown
let workspaces = [];

function setError(id, msg) {
  const e = $(id);
  e.textContent = msg || '';
  show(e, Boolean(msg));
}

function isAdministrator() {
  return who.kind === 'open' || who.kind === 'admin';
}

// A quota field: empty is unlimited; otherwise a whole number.
function readQuota(input, label) {
  const v = input.value.trim();
  if (!v) return { ok: true };
  if (!/^\d+$/.test(v)) return { ok: false, error: `${label}: a whole number, or empty for unlimited` };
  return { ok: true, value: Number(v) };
}

function readQuotas(maxInput, rateInput) {
  const max = readQuota(maxInput, 'Max paths');
  if (!max.ok) return max;
  const rate = readQuota(rateInput, 'Webhooks per second');
  if (!rate.ok) return rate;
  const quotas = {};
  if (max.value !== undefined) quotas.max_paths = max.value;
  if (rate.value !== undefined) quotas.webhooks_per_second = rate.value;
  return { ok: true, quotas };
}

function when(ts) {
  if (!ts) return el('span', { class: 'muted', text: '\u2014' });
  return el('time', { datetime: ts, title: fullTime(ts), text: relativeTime(ts) });
}

function unlimited(v) {
  return v === undefined || v === null ? 'unlimited' : String(v);
}

// ------------------------------------------------------------ workspaces

async function loadWorkspaces() {
  setError('ws-list-error', '');
  try {
    const data = await api('GET', '/api/workspaces');
    workspaces = (data && data.items) || [];
  } catch (e) {
    workspaces = [];
    setError('ws-list-error', `Could not list the workspaces: ${e.message}`);
  }
  renderWorkspaces();
}

function renderWorkspaces() {
  const body = $('ws-table').tBodies[0];
  clear(body);
  for (const w of workspaces) {
    const q = w.quotas || {};
    const used = (w.usage && w.usage.paths) || 0;
    const tr = el('tr', { dataset: { workspace: w.name } },
      el('td', null, el('code', { text: w.name })),
      el('td', { class: 'ws-paths', text: `${used} / ${q.max_paths === undefined || q.max_paths === null ? '\u221e' : q.max_paths}` }),
      el('td', { class: 'ws-rate', text: unlimited(q.webhooks_per_second) }),
      el('td', null,
        el('button', {
          class: 'btn btn-small ws-open', type: 'button', text: 'Keys and audit',
          'aria-label': `Keys and audit of ${w.name}`, on: { click: () => openWorkspace(w.name) },
        }),
        ' ',
        el('button', {
          class: 'btn btn-small ws-edit', type: 'button', text: 'Quotas',
          'aria-label': `Quotas of ${w.name}`, on: { click: () => editQuotas(w) },
        })));
    body.appendChild(tr);
  }
  if (workspaces.length === 0) body.appendChild(el('tr', { class: 'empty' }, el('td', { colspan: '4', class: 'muted', text: 'No workspace' })));
}

async function createWorkspace(e) {
  e.preventDefault();
  setError('ws-create-error', '');
  const name = $('ws-new-name').value.trim();
  if (!name) {
    setError('ws-create-error', 'Type a name: lowercase letters, digits, \u201c_\u201d or \u201c-\u201d');
    return;
  }
  const q = readQuotas($('ws-new-max-paths'), $('ws-new-rate'));
  if (!q.ok) {
    setError('ws-create-error', q.error);
    return;
  }
  const btn = $('ws-create');
  btn.disabled = true;
  try {
    const w = await api('POST', '/api/workspaces', { name, quotas: q.quotas });
    $('ws-new-name').value = '';
    $('ws-new-max-paths').value = '';
    $('ws-new-rate').value = '';
    toast(`Workspace ${w.name} created`);
    await loadWorkspaces();
    await openWorkspace(w.name);
  } catch (err) {
    setError('ws-create-error', err.message);
  } finally {
    btn.disabled = false;
  }
}

let editing = null;

function editQuotas(w) {
  editing = w.name;
  const q = w.quotas || {};
  $('ws-quota-title').textContent = `Quotas of ${w.name}`;
  $('ws-q-max-paths').value = q.max_paths === undefined || q.max_paths === null ? '' : String(q.max_paths);
  $('ws-q-rate').value = q.webhooks_per_second === undefined || q.webhooks_per_second === null ? '' : String(q.webhooks_per_second);
  setError('ws-quota-error', '');
  show($('ws-quota-form'), true);
  $('ws-q-max-paths').focus();
}

async function saveQuotas(e) {
  e.preventDefault();
  if (!editing) return;
  setError('ws-quota-error', '');
  const q = readQuotas($('ws-q-max-paths'), $('ws-q-rate'));
  if (!q.ok) {
    setError('ws-quota-error', q.error);
    return;
  }
  try {
    await api('PATCH', `/api/workspaces/${enc(editing)}`, { quotas: q.quotas });
    toast(`Quotas of ${editing} saved`);
    editing = null;
    show($('ws-quota-form'), false);
    await loadWorkspaces();
  } catch (err) {
    setError('ws-quota-error', err.message);
  }
}

// ------------------------------------------------------------ one workspace

async function openWorkspace(name) {
  current = name;
  $('ws-name').value = name;
  $('ws-one-title').textContent = `Keys of ${name}`;
  show($('ws-key-once'), false);
  $('ws-key-value').textContent = '';
  setError('ws-key-error', '');
  setError('ws-pick-error', '');
  show($('ws-detail'), true);
  await Promise.all([loadKeys(), loadAudit()]);
}

async function loadKeys() {
  const name = current;
  setError('ws-keys-error', '');
  const body = $('ws-keys').tBodies[0];
  let items = [];
  try {
    const data = await api('GET', `/api/workspaces/${enc(name)}/keys`);
    items = (data && data.items) || [];
  } catch (e) {
    if (name === current) setError('ws-keys-error', `Could not list the keys: ${e.message}`);
  }
  if (name !== current) return;
  clear(body);
  for (const k of items) {
    const revoked = Boolean(k.revoked_at);
    const tr = el('tr', { dataset: { keyId: k.id, prefix: k.prefix }, class: revoked ? 'revoked' : null },
      el('td', null, el('code', { text: `${k.prefix}\u2026` })),
      el('td', { text: k.name }),
      el('td', { text: k.scope }),
      el('td', null, when(k.created_at)),
      el('td', null, when(k.last_used_at)),
      el('td', null, k.expires_at ? when(k.expires_at) : el('span', { class: 'muted', text: 'never' })),
      el('td', { class: 'key-revoked' }, when(k.revoked_at)),
      el('td', null, revoked ? null : el('button', {
        class: 'btn btn-small btn-danger key-revoke', type: 'button', text: 'Revoke',
        'aria-label': `Revoke ${k.name} (${k.prefix}\u2026)`, on: { click: () => revokeKey(k) },
      })));
    body.appendChild(tr);
  }
  if (items.length === 0) body.appendChild(el('tr', { class: 'empty' }, el('td', { colspan: '8', class: 'muted', text: 'No key' })));
}

async function revokeKey(k) {
  const ok = await confirmDialog('Revoke this key?',
    `The key \u201c${k.name}\u201d (${k.prefix}\u2026) stops working at its next request.`, 'Revoke');
  if (!ok) return;
  try {
    await api('DELETE', `/api/workspaces/${enc(current)}/keys/${enc(k.id)}`);
    toast(`Key ${k.prefix}\u2026 revoked`);
  } catch (e) {
    setError('ws-keys-error', `Could not revoke: ${e.message}`);
  }
  await Promise.all([loadKeys(), loadAudit()]);
}

async function createKey(e) {
  e.preventDefault();
  setError('ws-key-error', '');
  if (!current) return;
  const name = $('ws-key-name').value.trim();
  if (!name) {
    setError('ws-key-error', 'Name the key (what it is for)');
    return;
  }
  const body = { name, scope: $('ws-key-scope').value };
  const exp = $('ws-key-expires').value.trim();
  if (exp) {
    if (!/^\d+$/.test(exp) || Number(exp) < 1) {
      setError('ws-key-error', 'Expires in: a number of seconds, or empty for never');
      return;
    }
    body.expires_in_seconds = Number(exp);
  }
  const btn = $('ws-key-create');
  btn.disabled = true;
  try {
    const k = await api('POST', `/api/workspaces/${enc(current)}/keys`, body);
    $('ws-key-name').value = '';
    $('ws-key-expires').value = '';
    // Shown this once: the server keeps only its digest.
    $('ws-key-value').textContent = (k && k.key) || '';
    show($('ws-key-once'), true);
    await Promise.all([loadKeys(), loadAudit()]);
  } catch (err) {
    setError('ws-key-error', err.message);
  } finally {
    btn.disabled = false;
  }
}

async function loadAudit() {
  const name = current;
  setError('ws-audit-error', '');
  let items = [];
  try {
    const data = await api('GET', `/api/workspaces/${enc(name)}/audit?limit=${AUDIT_LIMIT}`);
    items = ((data && data.items) || []).slice(0, AUDIT_LIMIT);
  } catch (e) {
    if (name === current) setError('ws-audit-error', `Could not read the audit log: ${e.message}`);
  }
  if (name !== current) return;
  const body = $('ws-audit').tBodies[0];
  clear(body);
  for (const a of items) {
    let detail = '';
    if (a.detail !== undefined && a.detail !== null) {
      detail = typeof a.detail === 'string' ? a.detail : JSON.stringify(a.detail);
      if (detail === '{}' || detail === 'null') detail = '';
    }
    body.appendChild(el('tr', null,
      el('td', null, when(a.at)),
      el('td', null, el('code', { text: a.actor })),
      el('td', { text: a.action }),
      el('td', null, el('code', { text: a.target || '' })),
      el('td', { class: 'audit-detail', text: detail })));
  }
  if (items.length === 0) body.appendChild(el('tr', { class: 'empty' }, el('td', { colspan: '5', class: 'muted', text: 'Nothing yet' })));
}

// ------------------------------------------------------------ the dialog

function describe() {
  if (who.kind === 'open') return 'Open service (no API token configured): you act as the administrator.';
  if (who.kind === 'admin') return 'Signed in as the administrator.';
  if (who.kind === 'key') {
    const ws = who.workspace || 'a workspace';
    if (who.scope === 'admin') return `Signed in with an admin key of ${ws}: its keys and audit log.`;
    const scope = who.scope ? `a ${who.scope} key` : 'a key';
    return `Signed in with ${scope} of ${ws}; keys and the audit log need an admin key.`;
  }
  return '';
}

async function openDialog() {
  $('ws-who').textContent = describe();
  const admin = isAdministrator();
  show($('ws-admin'), admin);
  show($('ws-quota-form'), false);
  setError('ws-create-error', '');
  setError('ws-pick-error', '');
  $('workspace-dialog').showModal();
  if (admin) {
    await loadWorkspaces();
    if (current) await openWorkspace(current);
  } else {
    const own = who.workspace || (listedWorkspaces().length === 1 ? listedWorkspaces()[0] : '');
    if (own) await openWorkspace(own);
    else show($('ws-detail'), false);
  }
}

export function initWorkspace() {
  $('open-workspace').addEventListener('click', openDialog);
  $('workspace-close').addEventListener('click', () => $('workspace-dialog').close());
  $('ws-create-form').addEventListener('submit', createWorkspace);
  $('ws-quota-form').addEventListener('submit', saveQuotas);
  $('ws-q-cancel').addEventListener('click', () => {
    editing = null;
    show($('ws-quota-form'), false);
  });
  $('ws-pick-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('ws-name').value.trim();
    if (!name) {
      setError('ws-pick-error', 'Type the workspace\u2019s name');
      return;
    }
    openWorkspace(name);
  });
  $('ws-key-form').addEventListener('submit', createKey);
  $('ws-key-copy').addEventListener('click', (e) => copyText($('ws-key-value').textContent, e.currentTarget));
  $('ws-key-done').addEventListener('click', () => {
    $('ws-key-value').textContent = '';
    show($('ws-key-once'), false);
  });
  $('workspace-dialog').addEventListener('close', () => {
    // The key is shown once: closing forgets it.
    $('ws-key-value').textContent = '';
    show($('ws-key-once'), false);
  });
}
