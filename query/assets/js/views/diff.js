// Side-by-side diff of two captures: mark one, open another, "Diff with
// marked". The request line and headers, then the body (pretty JSON when
// both are JSON, so formatting alone does not show as a change).

import { $, el, clear, show } from '../dom.js';
import { app } from '../state.js';
import { diffLines, headerLines, bodyLines, countChanges } from '../diff.js';
import { bodyBytesOf, hexDump } from '../bytes.js';

export function initDiff() {
  $('diff-mark').addEventListener('click', () => {
    if (!app.detail) return;
    app.diffMark = app.detail;
    syncDiffButtons();
  });
  $('diff-open').addEventListener('click', openDiff);
  $('diff-close').addEventListener('click', () => $('diff-dialog').close());
}

// Called whenever the open capture changes.
export function syncDiffButtons() {
  const m = app.diffMark;
  const d = app.detail;
  const marked = m && d && m.id === d.id;
  $('diff-mark').textContent = marked ? 'Marked for diff' : 'Mark for diff';
  $('diff-mark').setAttribute('aria-pressed', String(Boolean(marked)));
  show($('diff-open'), Boolean(m && d && m.id !== d.id && m.path_id === d.path_id));
}

function requestLine(d) {
  return `${d.method} ${d.subpath || '/'}${d.query_string ? `?${d.query_string}` : ''}`;
}

function bodyText(d) {
  if (d.body_encoding === 'base64') return hexDump(bodyBytesOf(d), 64 * 1024);
  return typeof d.body === 'string' ? d.body : '';
}

function fill(table, rows) {
  const tbody = table.tBodies[0];
  clear(tbody);
  if (rows.length === 0) {
    tbody.appendChild(el('tr', { class: 'empty' }, el('td', { colspan: 2, class: 'muted', text: 'Both empty' })));
    return;
  }
  const sign = { same: ' ', change: '~', del: '-', add: '+' };
  for (const r of rows) {
    tbody.appendChild(el('tr', { class: `d-${r.kind}` },
      el('td', { class: 'mono', text: r.left === null ? '' : r.left, 'data-sign': sign[r.kind] }),
      el('td', { class: 'mono', text: r.right === null ? '' : r.right, 'data-sign': sign[r.kind] })));
  }
}

function openDiff() {
  const a = app.diffMark;
  const b = app.detail;
  if (!a || !b) return;
  const heads = diffLines([requestLine(a), ...headerLines(a.headers)], [requestLine(b), ...headerLines(b.headers)]);
  const bodies = diffLines(bodyLines(bodyText(a)), bodyLines(bodyText(b)));
  fill($('diff-headers'), heads.rows);
  fill($('diff-body'), bodies.rows);
  $('diff-left-h').textContent = `A · ${a.id}`;
  $('diff-right-h').textContent = `B · ${b.id}`;
  const hc = countChanges(heads.rows);
  const bc = countChanges(bodies.rows);
  $('diff-summary').textContent = `A = ${a.id} (marked), B = ${b.id}. ` +
    `${hc} header line${hc === 1 ? '' : 's'} and ${bc} body line${bc === 1 ? '' : 's'} differ` +
    `${heads.truncated || bodies.truncated ? ' (long inputs compared line by line past 3,000 lines)' : ''}.`;
  $('diff-dialog').showModal();
  $('diff-close').focus();
}
