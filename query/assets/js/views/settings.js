// The per-path settings dialog: custom response, retention, forwarding (and
// its attempts log), what access and signing the path has. Validation is
// the API's; its message is shown at the field it names.

import { $, el, clear, show, toast } from '../dom.js';
import { api, enc } from '../api.js';
import { app } from '../state.js';
import { settingsPatch, settingsValues, errorField } from '../settings-model.js';
import { relativeTime } from '../format.js';

const FIELDS = ['status', 'delay_ms', 'headers', 'body', 'max_requests', 'ttl_seconds', 'forward_url'];

export function initSettings(hooks) {
  $('open-settings').addEventListener('click', open);
  $('settings-cancel').addEventListener('click', () => $('settings-dialog').close());
  $('settings-form').addEventListener('submit', (e) => {
    e.preventDefault();
    save(hooks);
  });
  $('s-custom').addEventListener('change', syncCustom);
  $('forward-refresh').addEventListener('click', loadForwards);
  $('forward-log-box').addEventListener('toggle', () => {
    if ($('forward-log-box').open) loadForwards();
  });
}

function syncCustom() {
  const on = $('s-custom').checked;
  for (const f of ['status', 'delay_ms', 'headers', 'body']) $(`s-${f}`).disabled = !on;
}

function clearErrors() {
  for (const f of FIELDS) {
    const p = $(`s-${f}-error`);
    p.textContent = '';
    show(p, false);
    $(`s-${f}`).removeAttribute('aria-invalid');
  }
  show($('settings-error'), false);
}

function fill(path) {
  const v = settingsValues(path);
  $('s-custom').checked = v.custom;
  for (const f of FIELDS) $(`s-${f}`).value = v[f];
  syncCustom();
  $('s-private').textContent = path.private
    ? 'Private: captures are readable only with the read token shown when the URL was made (this browser keeps it).'
    : 'Public: anyone who can reach the API can read the captures. Private URLs are chosen when a URL is created.';
  const s = path.signing;
  $('s-signing').textContent = s
    ? `Signatures checked with the ${s.provider} profile (secret ${s.secret_fingerprint || s.fingerprint || 'set'}); each request shows its verdict.`
    : 'No signing profile: requests carry no signature verdict (set one with PATCH /api/paths/{id} "signing").';
}

async function open() {
  if (!app.pathId) return;
  clearErrors();
  try {
    app.path = await api('GET', `/api/paths/${enc(app.pathId)}`);
  } catch (e) {
    toast(`Could not read the settings: ${e.message}`, true);
    return;
  }
  fill(app.path);
  $('forward-log-box').open = false;
  $('settings-dialog').showModal();
  $('s-custom').focus();
}

async function save(hooks) {
  clearErrors();
  const values = { custom: $('s-custom').checked };
  for (const f of FIELDS) values[f] = $(`s-${f}`).value;
  const btn = $('settings-save');
  btn.disabled = true;
  try {
    app.path = await api('PATCH', `/api/paths/${enc(app.pathId)}`, settingsPatch(values));
    app.paths.set(app.path.path_id, app.path);
    fill(app.path);
    hooks.onSaved(app.path);
    toast('Settings saved');
  } catch (e) {
    const field = errorField(e.code, e.message);
    if (field) {
      const p = $(`s-${field}-error`);
      p.textContent = e.message;
      show(p, true);
      const input = $(`s-${field}`);
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    } else {
      $('settings-error').textContent = e.message;
      show($('settings-error'), true);
    }
  } finally {
    btn.disabled = false;
  }
}

async function loadForwards() {
  const tbody = $('forward-log').tBodies[0];
  clear(tbody);
  let data;
  try {
    data = await api('GET', `/api/paths/${enc(app.pathId)}/forwards`);
  } catch (e) {
    tbody.appendChild(el('tr', null, el('td', { colspan: 4, class: 'error', text: e.message })));
    return;
  }
  const items = (data && data.items) || [];
  if (items.length === 0) {
    tbody.appendChild(el('tr', { class: 'empty' }, el('td', { colspan: 4, class: 'muted', text: 'No forward attempts yet' })));
    return;
  }
  for (const a of items) {
    const answer = a.status != null ? `${a.status} in ${Math.round(a.latency_ms)} ms` : `no answer: ${a.error || '?'}`;
    tbody.appendChild(el('tr', { class: a.status >= 200 && a.status < 300 ? 'ok' : 'bad' },
      el('td', { text: relativeTime(a.at), title: a.at }),
      el('td', { class: 'mono', text: String(a.capture_id).slice(-12), title: a.capture_id }),
      el('td', { text: String(a.attempt) }),
      el('td', { text: answer, title: a.target })));
  }
}
