// The per-path settings dialog: custom response, rules and routing (the
// routing document, with export and import), retention, forwarding (and
// its attempts log), what access and signing the path has. Validation is
// the API's; its message is shown at the field it names.

import { $, el, clear, show, toast, saveBlob } from '../dom.js';
import { api, enc } from '../api.js';
import { app } from '../state.js';
import {
  settingsPatch, settingsValues, errorField, parseRouting, sameRouting, FieldError,
} from '../settings-model.js';
import { ruleSummary, targetSummary } from '../routing.js';
import { relativeTime } from '../format.js';

const FIELDS = ['status', 'delay_ms', 'headers', 'body', 'max_requests', 'ttl_seconds', 'forward_url', 'routing'];

export function initSettings(hooks) {
  $('open-settings').addEventListener('click', open);
  $('settings-cancel').addEventListener('click', () => $('settings-dialog').close());
  $('settings-form').addEventListener('submit', (e) => {
    e.preventDefault();
    save(hooks);
  });
  $('s-custom').addEventListener('change', syncCustom);
  $('s-routing').addEventListener('input', renderRouting);
  $('routing-export').addEventListener('click', exportRouting);
  $('routing-import').addEventListener('click', () => $('routing-file').click());
  $('routing-file').addEventListener('change', importRouting);
  $('forward-refresh').addEventListener('click', loadForwards);
  $('forward-target').addEventListener('change', loadForwards);
  $('forward-log-box').addEventListener('toggle', () => {
    if ($('forward-log-box').open) loadForwards();
  });
}

function syncCustom() {
  const on = $('s-custom').checked;
  for (const f of ['status', 'delay_ms', 'headers', 'body', 'body-template']) $(`s-${f}`).disabled = !on;
}

function clearError(f) {
  const p = $(`s-${f}-error`);
  p.textContent = '';
  show(p, false);
  $(`s-${f}`).removeAttribute('aria-invalid');
}

function clearErrors() {
  for (const f of FIELDS) clearError(f);
  show($('settings-error'), false);
}

function fieldError(field, message) {
  const p = $(`s-${field}-error`);
  p.textContent = message;
  show(p, true);
  const input = $(`s-${field}`);
  input.setAttribute('aria-invalid', 'true');
  input.focus();
}

function listLines(ul, lines, emptyText) {
  clear(ul);
  if (lines.length === 0) {
    ul.appendChild(el('li', { class: 'empty', text: emptyText }));
    return;
  }
  for (const line of lines) ul.appendChild(el('li', { text: line }));
}

// The summary follows the document field: what Save would apply.
function renderRouting() {
  const note = $('routing-note');
  const saved = { rules: (app.path && app.path.rules) || [], targets: (app.path && app.path.targets) || [] };
  let doc = saved;
  let text = '';
  try {
    doc = parseRouting($('s-routing').value);
    if (app.path && !sameRouting(doc, app.path)) text = 'Changed: Save applies this document (sequence counts start again).';
  } catch (_) {
    doc = saved;
    text = 'The document is not valid yet; the lists show the saved rules and targets.';
  }
  const rules = Array.isArray(doc.rules) ? doc.rules : [];
  const targets = Array.isArray(doc.targets) ? doc.targets : [];
  listLines($('routing-rules'), rules.map((r, i) => ruleSummary(r, i)),
    'No rules: every request gets the response above.');
  listLines($('routing-targets'), targets.map(targetSummary), 'No forward targets.');
  note.textContent = text;
  show(note, text !== '');
}

function fillForwardTargets(path) {
  const sel = $('forward-target');
  const keep = sel.value;
  clear(sel);
  sel.appendChild(el('option', { value: '*', text: 'all' }));
  if (path.forward_url) sel.appendChild(el('option', { value: '', text: 'forward_url' }));
  for (const t of path.targets || []) sel.appendChild(el('option', { value: t.name, text: t.name }));
  sel.value = Array.from(sel.options).some((o) => o.value === keep) ? keep : '*';
}

function fill(path) {
  const v = settingsValues(path);
  $('s-custom').checked = v.custom;
  $('s-body-template').checked = v.body_template;
  for (const f of FIELDS) $(`s-${f}`).value = v[f];
  syncCustom();
  renderRouting();
  fillForwardTargets(path);
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
  const values = { custom: $('s-custom').checked, body_template: $('s-body-template').checked };
  for (const f of FIELDS) values[f] = $(`s-${f}`).value;
  let patch;
  try {
    patch = settingsPatch(values, app.path);
  } catch (e) {
    if (!(e instanceof FieldError)) throw e;
    fieldError(e.field, e.message);
    return;
  }
  const btn = $('settings-save');
  btn.disabled = true;
  try {
    app.path = await api('PATCH', `/api/paths/${enc(app.pathId)}`, patch);
    app.paths.set(app.path.path_id, app.path);
    fill(app.path);
    hooks.onSaved(app.path);
    toast('Settings saved');
  } catch (e) {
    const field = errorField(e.code, e.message);
    if (field) {
      fieldError(field, e.message);
    } else {
      $('settings-error').textContent = e.message;
      show($('settings-error'), true);
    }
  } finally {
    btn.disabled = false;
  }
}

// The document in the field (as parsed, pretty-printed), saved or not.
function exportRouting() {
  clearError('routing');
  let doc;
  try {
    doc = parseRouting($('s-routing').value);
  } catch (e) {
    if (!(e instanceof FieldError)) throw e;
    fieldError(e.field, e.message);
    return;
  }
  const text = `${JSON.stringify({ rules: doc.rules || [], targets: doc.targets || [] }, null, 2)}\n`;
  saveBlob(new Blob([text], { type: 'application/json' }), `${app.pathId}-routing.json`);
}

// A file's document into the field, for review; Save applies it.
async function importRouting() {
  const input = $('routing-file');
  const file = input.files && input.files[0];
  input.value = '';
  if (!file) return;
  clearError('routing');
  let doc;
  try {
    doc = JSON.parse(await file.text());
  } catch (e) {
    fieldError('routing', `document: ${file.name} is not valid JSON (${e.message})`);
    return;
  }
  $('s-routing').value = JSON.stringify(doc, null, 2);
  renderRouting();
  $('s-routing').focus();
  toast(`Loaded ${file.name}: review it, then Save`);
}

async function loadForwards() {
  const tbody = $('forward-log').tBodies[0];
  clear(tbody);
  const target = $('forward-target').value;
  const query = target === '*' ? '' : `?target=${enc(target)}`;
  let data;
  try {
    data = await api('GET', `/api/paths/${enc(app.pathId)}/forwards${query}`);
  } catch (e) {
    tbody.appendChild(el('tr', null, el('td', { colspan: 5, class: 'error', text: e.message })));
    return;
  }
  const items = (data && data.items) || [];
  if (items.length === 0) {
    tbody.appendChild(el('tr', { class: 'empty' }, el('td', { colspan: 5, class: 'muted', text: 'No forward attempts yet' })));
    return;
  }
  for (const a of items) {
    const answer = a.status != null ? `${a.status} in ${Math.round(a.latency_ms)} ms` : `no answer: ${a.error || '?'}`;
    tbody.appendChild(el('tr', { class: a.status >= 200 && a.status < 300 ? 'ok' : 'bad' },
      el('td', { text: relativeTime(a.at), title: a.at }),
      el('td', { text: a.target_name || 'forward_url' }),
      el('td', { class: 'mono', text: String(a.capture_id).slice(-12), title: a.capture_id }),
      el('td', { text: String(a.attempt) }),
      el('td', { text: answer, title: a.target })));
  }
}
