// Taking captures elsewhere: export (HAR, NDJSON) with the current
// filters, "resend" of one capture, and the replay dialog (dry-run count,
// then the job followed live with each target response).

import { $, el, clear, show, toast, saveBlob } from '../dom.js';
import { api, enc } from '../api.js';
import { app } from '../state.js';
import { filtersToQuery, hasFilters, replayFilter, describeFilters } from '../filters.js';

const POLL_MS = 500;
const FINISHED = new Set(['done', 'cancelled', 'interrupted']);

export function initReplay() {
  $('export-har').addEventListener('click', () => exportAs('har'));
  $('export-ndjson').addEventListener('click', () => exportAs('ndjson'));

  $('resend').addEventListener('click', openResend);
  $('resend-close').addEventListener('click', () => $('resend-dialog').close());
  $('resend-form').addEventListener('submit', (e) => {
    e.preventDefault();
    resend();
  });

  $('open-replay').addEventListener('click', openReplay);
  $('replay-close').addEventListener('click', () => $('replay-dialog').close());
  $('replay-dialog').addEventListener('close', () => {
    job = null; // stop following; the job itself runs on
  });
  $('replay-form').addEventListener('submit', (e) => {
    e.preventDefault();
    dryRun();
  });
  $('replay-send').addEventListener('click', startJob);
  $('replay-cancel-job').addEventListener('click', cancelJob);
  for (const id of ['r-target', 'r-rate', 'r-concurrency', 'r-use-filters']) {
    // A changed form needs a fresh count before sending.
    $(id).addEventListener('input', () => { $('replay-send').disabled = true; });
  }
}

// ---------------------------------------------------------------- export

async function exportAs(format) {
  if (!app.pathId) return;
  const q = filtersToQuery(app.filters);
  const url = `/api/paths/${enc(app.pathId)}/export?format=${format}${q ? `&${q}` : ''}`;
  const btn = $(`export-${format}`);
  btn.disabled = true;
  try {
    const blob = await api('GET', url, undefined, 'blob');
    saveBlob(blob, `${app.pathId}${hasFilters(app.filters) ? '-filtered' : ''}.${format === 'har' ? 'har' : 'ndjson'}`);
  } catch (e) {
    toast(`Export failed: ${e.message}`, true);
  } finally {
    btn.disabled = false;
  }
}

// ---------------------------------------------------------------- jobs

async function pollJob(jobId, isCurrent, onUpdate) {
  let cursor = null;
  for (;;) {
    if (!isCurrent()) return null;
    const j = await api('GET', `/api/replays/${enc(jobId)}`);
    // Each target response, as it is recorded, page by page.
    for (;;) {
      const page = await api('GET', `/api/replays/${enc(jobId)}/results?limit=200${cursor ? `&cursor=${enc(cursor)}` : ''}`);
      const items = (page && page.items) || [];
      if (items.length) onUpdate(j, items);
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    onUpdate(j, []);
    if (FINISHED.has(j.state)) return j;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function answerText(r) {
  if (r.status == null) return `no answer: ${r.error || '?'}`;
  const body = typeof r.body === 'string' ? r.body : r.body_base64 ? '(binary)' : '';
  return body.length > 200 ? `${body.slice(0, 200)}…` : body;
}

// Results whose seq was already drawn are skipped.
function resultRow(r) {
  return el('tr', { class: r.status >= 200 && r.status < 300 ? 'ok' : 'bad', dataset: { seq: String(r.seq) } },
    el('td', { class: 'mono', text: String(r.capture_id).slice(-12), title: r.capture_id }),
    el('td', { text: r.status != null ? String(r.status) : '—' }),
    el('td', { text: `${Math.round(r.latency_ms)} ms` }),
    el('td', { class: 'mono', text: answerText(r) }));
}

// ---------------------------------------------------------------- resend

function openResend() {
  if (!app.detail) return;
  show($('resend-error'), false);
  show($('resend-result'), false);
  $('resend-dialog').showModal();
  $('resend-target').focus();
}

let resendSeq = 0;

async function resend() {
  const d = app.detail;
  const target = $('resend-target').value.trim();
  show($('resend-error'), false);
  const out = $('resend-result');
  if (!target) {
    $('resend-error').textContent = 'A target URL is required';
    show($('resend-error'), true);
    return;
  }
  const seq = ++resendSeq;
  $('resend-send').disabled = true;
  try {
    const j = await api('POST', `/api/paths/${enc(d.path_id || app.pathId)}/replay`, { target, ids: [d.id] });
    out.textContent = 'Sending…';
    show(out, true);
    const seen = [];
    const done = await pollJob(j.job_id, () => seq === resendSeq, (job, items) => seen.push(...items));
    if (!done) return;
    const r = seen[0];
    out.textContent = r
      ? (r.status != null ? `Target answered ${r.status} in ${Math.round(r.latency_ms)} ms. ${answerText(r)}` : `No answer: ${r.error || done.state}`)
      : `Job ${done.state}`;
    out.dataset.status = r && r.status != null ? String(r.status) : '';
  } catch (e) {
    $('resend-error').textContent = e.message;
    show($('resend-error'), true);
  } finally {
    $('resend-send').disabled = false;
  }
}

// ---------------------------------------------------------------- replay

let job = null; // the job the dialog follows

function openReplay() {
  if (!app.pathId) return;
  job = null;
  show($('replay-error'), false);
  show($('replay-count'), false);
  show($('replay-progress'), false);
  show($('replay-cancel-job'), false);
  $('replay-send').disabled = true;
  const filtered = hasFilters(app.filters);
  $('r-use-filters').checked = filtered;
  $('r-use-filters').disabled = !filtered;
  $('replay-scope').textContent = filtered
    ? `Current filters: ${describeFilters(app.filters)}.`
    : 'No filters: every capture of this URL, oldest first.';
  $('replay-dialog').showModal();
  $('r-target').focus();
}

function replayBody(dry) {
  const body = { target: $('r-target').value.trim(), dry_run: dry };
  const rate = $('r-rate').value.trim();
  const conc = $('r-concurrency').value.trim();
  if (rate) body.rate = Number(rate);
  if (conc) body.concurrency = Number(conc);
  if ($('r-use-filters').checked && hasFilters(app.filters)) body.filter = replayFilter(app.filters);
  return body;
}

function replayError(e) {
  $('replay-error').textContent = e.message;
  show($('replay-error'), true);
}

async function dryRun() {
  show($('replay-error'), false);
  try {
    const r = await api('POST', `/api/paths/${enc(app.pathId)}/replay`, replayBody(true));
    const c = $('replay-count');
    c.textContent = r.total === 0
      ? 'Nothing to send: no capture matches.'
      : `${r.total} request${r.total === 1 ? '' : 's'} would be sent to ${$('r-target').value.trim()}. Nothing was sent yet.`;
    c.dataset.total = String(r.total);
    show(c, true);
    $('replay-send').disabled = r.total === 0;
    if (r.total > 0) $('replay-send').focus();
  } catch (e) {
    replayError(e);
  }
}

async function startJob() {
  show($('replay-error'), false);
  $('replay-send').disabled = true;
  let j;
  try {
    j = await api('POST', `/api/paths/${enc(app.pathId)}/replay`, replayBody(false));
  } catch (e) {
    replayError(e);
    return;
  }
  job = j.job_id;
  const mine = j.job_id;
  clear($('replay-results').tBodies[0]);
  show($('replay-progress'), true);
  show($('replay-cancel-job'), true);
  const seen = new Set();
  try {
    const done = await pollJob(mine, () => job === mine, (cur, items) => {
      const bar = $('replay-bar');
      bar.max = Math.max(1, cur.total);
      bar.value = cur.sent;
      $('replay-state').textContent = `${cur.state}: ${cur.sent} of ${cur.total} sent, ${cur.succeeded} answered 2xx, ${cur.failed} failed`;
      $('replay-state').dataset.state = cur.state;
      const tbody = $('replay-results').tBodies[0];
      for (const r of items) {
        if (seen.has(r.seq)) continue;
        seen.add(r.seq);
        tbody.appendChild(resultRow(r));
      }
    });
    if (done) show($('replay-cancel-job'), false);
  } catch (e) {
    replayError(e);
  }
}

async function cancelJob() {
  if (!job) return;
  try {
    await api('POST', `/api/replays/${enc(job)}/cancel`);
  } catch (e) {
    replayError(e);
  }
}
