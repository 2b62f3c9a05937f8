// One capture, whole: meta, the answer the sender got (paths with rules),
// query, body (pretty / raw / hex), headers, the signature verdict and
// provider badge, and "copy as" curl / HTTPie / fetch.

import { $, el, clear, show, toast, copyText, saveBlob } from '../dom.js';
import { api, enc, apiToken, readTokenOf } from '../api.js';
import { app } from '../state.js';
import { bodyBytesOf, headerValueBytes, hexDump, utf8Lossy } from '../bytes.js';
import {
  humanSize, mediaType, isJsonType, isXmlType, tryJson, parseForm,
  escapeXmlText, escapeXmlAttr, METHOD_CLASSES,
} from '../format.js';
import { buildCurl } from '../curl.js';
import { detectProvider, badgeText } from '../provider.js';
import { answerSummary } from '../routing.js';
import { markSelected, rememberBadge, setRowBadge } from './list.js';

const HEX_LIMIT = 256 * 1024; // bytes shown in the hex view
const PRETTY_LIMIT = 4 * 1024 * 1024; // bodies larger than this are not prettified

let tab = null; // the tab the user picked explicitly, kept across captures
let detailSeq = 0;

export function webhookBase(pathId) {
  const p = app.paths.get(pathId) || (app.path && app.path.path_id === pathId ? app.path : null);
  if (p && typeof p.webhook_url === 'string') return p.webhook_url;
  return `${location.origin}/webhook/${pathId}`;
}

export function requestUrl(c) {
  return webhookBase(c.path_id || app.pathId) + (c.subpath || '') +
    (c.query_string ? `?${c.query_string}` : '');
}

export function initDetail() {
  $('close-detail').addEventListener('click', () => closeDetail(true));
  $('download-body').addEventListener('click', downloadWithToken);
  for (const kind of ['curl', 'httpie', 'fetch']) {
    $(`copy-${kind}`).addEventListener('click', (e) => copyAs(kind, e.currentTarget));
  }
  for (const b of document.querySelectorAll('.tab')) {
    b.addEventListener('click', () => {
      tab = b.dataset.tab;
      selectTab(b.dataset.tab);
    });
  }
}

let closeHook = () => {};
export function onClose(fn) {
  closeHook = fn;
}

export async function openCapture(requestId) {
  const pathId = app.pathId;
  if (!pathId) return;
  app.selectedId = requestId;
  markSelected();
  const seq = ++detailSeq;
  let d;
  try {
    d = await api('GET', `/api/paths/${enc(pathId)}/logs/${enc(requestId)}`);
  } catch (e) {
    if (seq === detailSeq) toast(`Could not open the request: ${e.message}`, true);
    return;
  }
  if (seq !== detailSeq || app.pathId !== pathId) return;
  app.detail = d;
  renderDetail(d);
}

export function closeDetail(updateHash) {
  app.selectedId = null;
  app.detail = null;
  detailSeq++;
  showDetail(false);
  markSelected();
  if (updateHash) closeHook();
}

export function showDetail(visible) {
  show($('detail'), visible);
  show($('detail-empty'), !visible);
}

export function kvRows(table, pairs, emptyText) {
  const tbody = table.tBodies[0];
  clear(tbody);
  if (!pairs || pairs.length === 0) {
    tbody.appendChild(el('tr', { class: 'empty' }, el('td', { colspan: 2, class: 'muted', text: emptyText })));
    return;
  }
  for (const [name, value] of pairs) {
    const raw = headerValueBytes(value);
    const valueCell = el('td', { class: 'v' });
    if (raw) {
      valueCell.appendChild(document.createTextNode(utf8Lossy.decode(raw)));
      valueCell.appendChild(el('span', { class: 'tag', text: 'not UTF-8', title: `base64: ${value.base64}` }));
    } else {
      valueCell.textContent = String(value);
    }
    tbody.appendChild(el('tr', null, el('th', { class: 'k', text: String(name), scope: 'row' }), valueCell));
  }
}

// Indents XML source text. The document is parsed inert (DOMParser with an
// XML type runs nothing) and written back out as text.
function prettyXml(text) {
  let doc;
  try {
    doc = new DOMParser().parseFromString(text, 'application/xml');
  } catch (_) {
    return null;
  }
  if (doc.getElementsByTagName('parsererror').length > 0) return null;
  const out = [];
  const decl = /^\s*(<\?xml[^?]*\?>)/.exec(text);
  if (decl) out.push(decl[1]);
  const walk = (node, depth) => {
    const pad = '  '.repeat(depth);
    switch (node.nodeType) {
      case Node.ELEMENT_NODE: {
        let open = `<${node.nodeName}`;
        for (const a of Array.from(node.attributes)) open += ` ${a.name}="${escapeXmlAttr(a.value)}"`;
        const kids = Array.from(node.childNodes).filter(
          (k) => !(k.nodeType === Node.TEXT_NODE && k.nodeValue.trim() === ''));
        if (kids.length === 0) {
          out.push(`${pad}${open}/>`);
        } else if (kids.length === 1 && kids[0].nodeType === Node.TEXT_NODE) {
          out.push(`${pad}${open}>${escapeXmlText(kids[0].nodeValue.trim())}</${node.nodeName}>`);
        } else {
          out.push(`${pad}${open}>`);
          for (const k of kids) walk(k, depth + 1);
          out.push(`${pad}</${node.nodeName}>`);
        }
        break;
      }
      case Node.TEXT_NODE:
        out.push(pad + escapeXmlText(node.nodeValue.trim()));
        break;
      case Node.CDATA_SECTION_NODE:
        out.push(`${pad}<![CDATA[${node.nodeValue}]]>`);
        break;
      case Node.COMMENT_NODE:
        out.push(`${pad}<!--${node.nodeValue}-->`);
        break;
      case Node.PROCESSING_INSTRUCTION_NODE:
        out.push(`${pad}<?${node.target} ${node.data}?>`);
        break;
      case Node.DOCUMENT_TYPE_NODE:
        out.push(`${pad}<!DOCTYPE ${node.name}>`);
        break;
      default:
        break;
    }
  };
  for (const k of Array.from(doc.childNodes)) walk(k, 0);
  return out.join('\n');
}

function renderDetail(d) {
  showDetail(true);
  const badge = $('detail-method');
  badge.className = `badge ${METHOD_CLASSES[d.method] || 'm-other'}`;
  badge.textContent = d.method;
  $('detail-url').textContent = requestUrl(d);

  const prov = detectProvider(d);
  rememberBadge(d.id, prov);
  setRowBadge(d.id, prov);
  $('detail-provider').textContent = badgeText(prov);
  show($('detail-provider'), Boolean(prov));
  const sig = $('detail-signature');
  sig.className = `verdict verdict-${d.signature || 'none'}`;
  sig.textContent = d.signature ? `signature ${d.signature}` : '';
  show(sig, Boolean(d.signature));

  const meta = $('detail-meta');
  clear(meta);
  const add = (k, v, title) => {
    if (v === null || v === undefined || v === '') return;
    meta.appendChild(el('dt', { text: k }));
    meta.appendChild(el('dd', { text: String(v), title }));
  };
  const t = Date.parse(d.received_at);
  add('Received', isNaN(t) ? d.received_at : new Date(t).toLocaleString(), d.received_at);
  add('From', d.ip);
  add('Size', `${humanSize(d.body_size)} (${d.body_size} bytes)`);
  add('Content-Type', d.content_type);
  add('User-Agent', d.user_agent);
  add('Signature', d.signature);
  add('Request id', d.id);

  renderAnswer(d.response);
  kvRows($('query-table'), d.query_params, 'No query parameters');
  kvRows($('headers-table'), d.headers, 'No headers');

  const bytes = bodyBytesOf(d);
  const isText = d.body_encoding !== 'base64' && typeof d.body === 'string';
  const text = isText ? d.body : utf8Lossy.decode(bytes);
  const mt = mediaType(d.content_type);
  $('body-info').textContent = `${humanSize(bytes.length)} · ${isText ? 'UTF-8 text' : 'binary'}`;

  const pretty = $('body-pretty');
  clear(pretty);
  let prettyKind = null;
  if (bytes.length === 0) {
    pretty.appendChild(el('p', { class: 'muted', text: 'Empty body' }));
  } else if (!isText) {
    pretty.appendChild(el('p', { class: 'muted', text: 'Binary body: see the Hex view, or download it.' }));
  } else if (text.length > PRETTY_LIMIT) {
    pretty.appendChild(el('p', { class: 'muted', text: 'Body too large to prettify: see the Raw view.' }));
  } else {
    const trimmed = text.trim();
    let out = null;
    if (isJsonType(mt) || /^[[{]/.test(trimmed)) {
      out = tryJson(text);
      if (out !== null) prettyKind = 'json';
    }
    if (out === null && (isXmlType(mt) || /^<\?xml/.test(trimmed))) {
      out = prettyXml(text);
      if (out !== null) prettyKind = 'xml';
    }
    if (out === null && mt === 'application/x-www-form-urlencoded') {
      const table = el('table', { class: 'kv form-table', 'aria-label': 'Form fields' }, el('tbody'));
      kvRows(table, parseForm(text), 'No fields');
      pretty.appendChild(table);
      prettyKind = 'form';
    } else {
      pretty.appendChild(el('pre', { class: 'code', text: out !== null ? out : text }));
    }
  }

  $('body-raw').textContent = bytes.length === 0 ? '' : text;
  $('body-raw').classList.toggle('lossy', !isText);
  $('body-hex').textContent = hexDump(bytes, HEX_LIMIT);

  const dl = $('download-body');
  dl.href = `/api/paths/${enc(d.path_id || app.pathId)}/logs/${enc(d.id)}/body`;
  dl.setAttribute('download', `${d.id}.bin`);

  showCurl(d, bytes);

  let pick = tab;
  if (!pick || (pick === 'pretty' && !prettyKind) || (!isText && pick !== 'hex')) {
    pick = !isText && bytes.length > 0 ? 'hex' : prettyKind ? 'pretty' : 'raw';
  }
  selectTab(pick);
}

// What the sender was answered and by which rule (recorded when the path
// has rules or a body template). Captured data, so text only.
function renderAnswer(r) {
  show($('answer'), Boolean(r));
  if (!r) return;
  $('answer-summary').textContent = answerSummary(r);
  $('answer-error').textContent = r.error ? `Template error: ${r.error}` : '';
  show($('answer-error'), Boolean(r.error));
  kvRows($('answer-headers'), r.headers, 'No headers');
  const body = $('answer-body');
  body.textContent = typeof r.body === 'string' && r.body !== '' ? r.body : '(empty body)';
  body.classList.toggle('muted', !r.body);
}

// The command text comes from the API (one implementation for the page and
// the terminal); a server without those endpoints gets the page's own
// curl builder, and no HTTPie/fetch.
const commandCache = new Map(); // `${id}:${kind}` -> text (the last few)

async function command(kind, d, bytes) {
  const key = `${d.id}:${kind}`;
  if (commandCache.has(key)) return commandCache.get(key);
  let text;
  try {
    text = await api('GET', `/api/paths/${enc(d.path_id || app.pathId)}/logs/${enc(d.id)}/${kind}`, undefined, 'text');
  } catch (e) {
    if (!(e.status === 404 && e.code === 'route_not_found') && e.status !== 405) throw e;
    if (kind !== 'curl') throw new Error(`this server has no ${kind} export yet`);
    text = buildCurl(d, bytes || bodyBytesOf(d), requestUrl(d));
  }
  commandCache.set(key, text);
  while (commandCache.size > 12) commandCache.delete(commandCache.keys().next().value);
  return text;
}

async function showCurl(d, bytes) {
  const pre = $('curl-text');
  pre.textContent = '…';
  try {
    const text = await command('curl', d, bytes);
    if (app.detail === d) pre.textContent = text;
  } catch (e) {
    if (app.detail === d) pre.textContent = `Could not build the command: ${e.message}`;
  }
}

async function copyAs(kind, button) {
  const d = app.detail;
  if (!d) return;
  try {
    await copyText(await command(kind, d), button);
  } catch (e) {
    toast(`Could not copy as ${kind}: ${e.message}`, true);
  }
}

export function selectTab(pick) {
  for (const b of document.querySelectorAll('.tab')) {
    const on = b.dataset.tab === pick;
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
  }
  show($('body-pretty'), pick === 'pretty');
  show($('body-raw'), pick === 'raw');
  show($('body-hex'), pick === 'hex');
}

// A plain link cannot send the API or read token; fetch it instead then.
async function downloadWithToken(e) {
  const pathId = app.pathId;
  if (!apiToken() && !readTokenOf(pathId)) return; // the plain link works
  e.preventDefault();
  try {
    const blob = await api('GET', $('download-body').getAttribute('href'), undefined, 'blob');
    saveBlob(blob, `${app.selectedId || 'body'}.bin`);
  } catch (err) {
    toast(`Download failed: ${err.message}`, true);
  }
}
