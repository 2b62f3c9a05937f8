// CallbackListener web inspector. Vanilla ES2020, no build step.
//
// Every captured value (paths, headers, bodies, ...) reaches the DOM through
// textContent / text nodes only; this file never assigns innerHTML.
'use strict';

(() => {
  const TOKEN_KEY = 'callbacklistener.token';
  const PAGE_SIZE = 100;
  const HEX_LIMIT = 256 * 1024; // bytes shown in the hex view
  const PRETTY_LIMIT = 4 * 1024 * 1024; // bodies larger than this are not prettified
  const PATH_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
  // Resume point for a stream opened on an empty list: every capture is newer.
  const BEFORE_ALL = '00000000-0000-7000-8000-000000000000';

  const $ = (id) => document.getElementById(id);

  const state = {
    paths: new Map(), // path_id -> path object
    pathId: null,
    captures: new Map(), // id -> summary, for the selected path
    nextCursor: null,
    newestId: null,
    selectedId: null,
    detail: null,
    es: null,
    esTimer: null,
    esBackoff: 1000,
    esGeneration: 0,
    tab: null, // tab the user picked explicitly, kept across captures
  };

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') node.className = v;
        else if (k === 'text') node.textContent = v;
        else if (k === 'dataset') Object.assign(node.dataset, v);
        else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
        else if (k === 'title' || k === 'href' || k === 'type' || k === 'role' || k === 'tabIndex') node[k] = v;
        else node.setAttribute(k, String(v));
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(node, c);
      else if (c instanceof Node) node.appendChild(c);
      else node.appendChild(document.createTextNode(String(c)));
    }
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  let toastTimer = null;
  function toast(message, isError) {
    const t = $('toast');
    t.textContent = message;
    t.classList.toggle('toast-error', !!isError);
    show(t, true);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => show(t, false), isError ? 5000 : 1800);
  }

  // ---------------------------------------------------------------- formatting

  function humanSize(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '';
    if (n < 1024) return `${n} B`;
    const units = ['KiB', 'MiB', 'GiB'];
    let v = n;
    let i = -1;
    do {
      v /= 1024;
      i += 1;
    } while (v >= 1024 && i < units.length - 1);
    return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
  }

  function relativeTime(iso) {
    const t = Date.parse(iso);
    if (isNaN(t)) return String(iso || '');
    const s = Math.round((Date.now() - t) / 1000);
    if (s < 5) return 'just now';
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
    const d = new Date(t);
    return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ' ' +
      d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  }

  function fullTime(iso) {
    const t = Date.parse(iso);
    if (isNaN(t)) return String(iso || '');
    return `${new Date(t).toLocaleString()} (${iso})`;
  }

  const METHOD_CLASSES = {
    GET: 'm-get', POST: 'm-post', PUT: 'm-put', PATCH: 'm-patch',
    DELETE: 'm-delete', HEAD: 'm-head', OPTIONS: 'm-options',
  };

  function methodBadge(method) {
    const m = String(method || '?');
    return el('span', { class: `badge ${METHOD_CLASSES[m] || 'm-other'}`, text: m, title: m });
  }

  function pathAndQuery(c) {
    const sub = c.subpath || '';
    const q = c.query_string ? `?${c.query_string}` : '';
    return (sub || '/') + q;
  }

  function webhookBase(pathId) {
    const p = state.paths.get(pathId);
    if (p && typeof p.webhook_url === 'string') return p.webhook_url;
    return `${location.origin}/webhook/${pathId}`;
  }

  function requestUrl(c) {
    return webhookBase(c.path_id || state.pathId) + (c.subpath || '') +
      (c.query_string ? `?${c.query_string}` : '');
  }

  // ---------------------------------------------------------------- bytes

  function base64ToBytes(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function bytesToBase64(bytes) {
    let bin = '';
    const chunk = 0x8000;
    for (let i = 0; i < bytes.length; i += chunk) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    }
    return btoa(bin);
  }

  const utf8Lossy = new TextDecoder('utf-8', { fatal: false });

  function hexDump(bytes, limit) {
    const n = Math.min(bytes.length, limit);
    const lines = [];
    for (let off = 0; off < n; off += 16) {
      let hex = '';
      let ascii = '';
      for (let i = 0; i < 16; i++) {
        if (i === 8) hex += ' ';
        if (off + i < n) {
          const b = bytes[off + i];
          hex += b.toString(16).padStart(2, '0') + ' ';
          ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
        } else {
          hex += '   ';
        }
      }
      lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
    }
    if (bytes.length === 0) lines.push('(empty)');
    else if (bytes.length > n) {
      lines.push(`… ${bytes.length - n} more bytes not shown; use Download for the whole body`);
    } else lines.push(bytes.length.toString(16).padStart(8, '0'));
    return lines.join('\n');
  }

  // ---------------------------------------------------------------- pretty printers

  function mediaType(ct) {
    return String(ct || '').split(';')[0].trim().toLowerCase();
  }

  function isJsonType(mt) {
    return mt === 'application/json' || mt.endsWith('+json') || mt === 'text/json';
  }

  function isXmlType(mt) {
    return mt === 'application/xml' || mt === 'text/xml' || mt.endsWith('+xml');
  }

  function tryJson(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (_) {
      return null;
    }
  }

  function escapeXmlText(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }

  function escapeXmlAttr(s) {
    return escapeXmlText(s).replace(/"/g, '&quot;');
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

  function parseForm(text) {
    const pairs = [];
    if (text === '') return pairs;
    for (const part of text.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const rawName = eq < 0 ? part : part.slice(0, eq);
      const rawValue = eq < 0 ? '' : part.slice(eq + 1);
      pairs.push([formDecode(rawName), formDecode(rawValue)]);
    }
    return pairs;
  }

  function formDecode(s) {
    const plus = s.replace(/\+/g, ' ');
    try {
      return decodeURIComponent(plus);
    } catch (_) {
      return plus;
    }
  }

  // ---------------------------------------------------------------- curl

  function shq(s) {
    return `'${String(s).replace(/'/g, `'\\''`)}'`;
  }

  // bash ANSI-C quoting for byte strings that are not valid text.
  function ansiC(bytes) {
    let s = "$'";
    for (const b of bytes) {
      if (b === 0x27) s += "\\'";
      else if (b === 0x5c) s += '\\\\';
      else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
      else s += `\\x${b.toString(16).padStart(2, '0')}`;
    }
    return `${s}'`;
  }

  function headerValueBytes(v) {
    if (v && typeof v === 'object' && typeof v.base64 === 'string') return base64ToBytes(v.base64);
    return null;
  }

  function buildCurl(d, bodyBytes) {
    const lines = [];
    const method = String(d.method || 'GET');
    const methodArg = /^[A-Za-z0-9_-]+$/.test(method) ? method : shq(method);
    const curlArgs = [method === 'HEAD' ? '-I' : `-X ${methodArg}`, shq(requestUrl(d))];
    const present = new Set();
    for (const [name, value] of d.headers || []) {
      const lower = String(name).toLowerCase();
      present.add(lower);
      if (lower === 'host' || lower === 'content-length') continue;
      const raw = headerValueBytes(value);
      if (raw) {
        const nameBytes = new TextEncoder().encode(`${name}: `);
        const all = new Uint8Array(nameBytes.length + raw.length);
        all.set(nameBytes);
        all.set(raw, nameBytes.length);
        curlArgs.push(`-H ${ansiC(all)}`);
      } else if (String(value) === '') {
        // `Name:` would make curl drop the header; `Name;` sends it empty.
        curlArgs.push(`-H ${shq(`${name};`)}`);
      } else {
        curlArgs.push(`-H ${shq(`${name}: ${value}`)}`);
      }
    }
    const hasBody = bodyBytes.length > 0;
    // Keep curl from adding headers the original request did not carry.
    if (!present.has('user-agent')) curlArgs.push(`-H ${shq('User-Agent:')}`);
    if (!present.has('accept')) curlArgs.push(`-H ${shq('Accept:')}`);
    if (hasBody && !present.has('content-type')) curlArgs.push(`-H ${shq('Content-Type:')}`);

    let prefix = '';
    if (hasBody) {
      const text = d.body_encoding === 'utf8' && typeof d.body === 'string' ? d.body : null;
      if (text !== null && !text.includes('\0')) {
        // --data-binary would read a file for a leading '@'; --data-raw never does.
        curlArgs.push(`${text.startsWith('@') ? '--data-raw' : '--data-binary'} ${shq(text)}`);
      } else {
        prefix = `echo ${shq(bytesToBase64(bodyBytes))} | base64 -d | `;
        curlArgs.push('--data-binary @-');
      }
    }
    lines.push(`${prefix}curl ${curlArgs[0]} ${curlArgs[1]}`);
    for (const a of curlArgs.slice(2)) lines.push(`  ${a}`);
    return lines.join(' \\\n');
  }

  // ---------------------------------------------------------------- clipboard

  async function copyText(text, button) {
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch (_) {
      ok = false;
    }
    if (!ok) {
      const ta = el('textarea', { class: 'offscreen', readonly: 'readonly' });
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      try {
        ok = document.execCommand('copy');
      } catch (_) {
        ok = false;
      }
      ta.remove();
    }
    if (button) {
      const old = button.dataset.label || button.textContent;
      button.dataset.label = old;
      button.textContent = ok ? 'Copied!' : 'Copy failed';
      setTimeout(() => {
        button.textContent = old;
      }, 1200);
    }
    if (!ok) toast('Could not copy to the clipboard; select the text instead', true);
  }

  // ---------------------------------------------------------------- API

  let token = null;
  try {
    token = localStorage.getItem(TOKEN_KEY);
  } catch (_) {
    token = null;
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  let tokenPrompt = null;

  // Asks for the API token; concurrent 401s share one dialog.
  function askToken(rejected) {
    if (tokenPrompt) return tokenPrompt;
    const dlg = $('token-dialog');
    const input = $('token-input');
    $('token-message').textContent = rejected
      ? 'The saved API token was rejected. Enter a valid one.'
      : 'This server asks for an API token. It is kept in this browser only.';
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

  function authHeaders() {
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  async function api(method, url, body) {
    for (let attempt = 0; ; attempt++) {
      const headers = { Accept: 'application/json', ...authHeaders() };
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
      if (res.status === 401 && attempt < 5) {
        const sent = token;
        const fresh = await askToken(Boolean(sent));
        if (!fresh) throw new ApiError(401, 'unauthorized', 'An API token is required');
        token = fresh;
        try {
          localStorage.setItem(TOKEN_KEY, fresh);
        } catch (_) { /* private mode: keep it in memory */ }
        continue;
      }
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
        throw new ApiError(res.status, (err && err.code) || `http_${res.status}`,
          (err && err.message) || `${res.status} ${res.statusText || 'error'}`);
      }
      return data;
    }
  }

  const enc = encodeURIComponent;

  // ---------------------------------------------------------------- routing

  function parseHash() {
    const m = /^#\/p\/([^/]+)(?:\/r\/([^/]+))?\/?$/.exec(location.hash);
    if (!m) return { pathId: null, requestId: null };
    let pathId;
    let requestId = null;
    try {
      pathId = decodeURIComponent(m[1]);
      requestId = m[2] ? decodeURIComponent(m[2]) : null;
    } catch (_) {
      return { pathId: null, requestId: null };
    }
    return { pathId, requestId };
  }

  function setHash(pathId, requestId) {
    let h = pathId ? `#/p/${enc(pathId)}` : '#/';
    if (pathId && requestId) h += `/r/${enc(requestId)}`;
    if (location.hash !== h) {
      if (requestId && parseHash().pathId === pathId) history.replaceState(null, '', h);
      else location.hash = h;
    }
  }

  async function route() {
    const { pathId, requestId } = parseHash();
    if (pathId !== state.pathId) await selectPath(pathId);
    if (pathId && requestId && requestId !== state.selectedId) openCapture(requestId);
    if (pathId && !requestId && state.selectedId) closeDetail(false);
  }

  // ---------------------------------------------------------------- paths

  async function loadPaths() {
    try {
      const data = await api('GET', '/api/paths');
      state.paths.clear();
      for (const item of (data && data.items) || []) {
        const p = typeof item === 'string' ? { path_id: item } : item;
        if (p && typeof p.path_id === 'string') state.paths.set(p.path_id, p);
      }
      renderPaths();
    } catch (e) {
      showCreateError(`Could not list URLs: ${e.message}`);
    }
  }

  function renderPaths() {
    const list = $('path-list');
    clear(list);
    for (const p of state.paths.values()) {
      const a = el('a', {
        class: 'path-link',
        href: `#/p/${enc(p.path_id)}`,
        title: p.created_at ? `created ${fullTime(p.created_at)}` : p.path_id,
      }, el('span', { class: 'path-id', text: p.path_id }));
      if (p.created_at) a.appendChild(el('span', { class: 'path-time muted', text: relativeTime(p.created_at), dataset: { ts: p.created_at } }));
      const li = el('li', { class: 'path-item', dataset: { pathId: p.path_id } }, a);
      if (p.path_id === state.pathId) li.classList.add('selected');
      list.appendChild(li);
    }
    show($('path-empty'), state.paths.size === 0);
    if (state.pathId) $('webhook-url').textContent = webhookBase(state.pathId);
  }

  function showCreateError(msg) {
    const e = $('create-error');
    e.textContent = msg || '';
    show(e, Boolean(msg));
  }

  async function createPath(pathId) {
    showCreateError('');
    const btns = [$('create-auto'), $('create-custom')];
    btns.forEach((b) => { b.disabled = true; });
    try {
      const p = await api('POST', '/api/paths', pathId ? { path_id: pathId } : {});
      if (p && p.path_id) {
        state.paths.set(p.path_id, p);
        $('create-custom-input').value = '';
        await loadPaths();
        if (!state.paths.has(p.path_id)) {
          state.paths.set(p.path_id, p);
          renderPaths();
        }
        setHash(p.path_id);
      }
    } catch (e) {
      showCreateError(e.message);
    } finally {
      btns.forEach((b) => { b.disabled = false; });
    }
  }

  function confirmDialog(title, message) {
    const dlg = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-message').textContent = message;
    return new Promise((resolve) => {
      const done = (v) => {
        $('confirm-ok').removeEventListener('click', onOk);
        $('confirm-cancel').removeEventListener('click', onCancel);
        dlg.removeEventListener('cancel', onCancel);
        if (dlg.open) dlg.close();
        resolve(v);
      };
      const onOk = () => done(true);
      const onCancel = (e) => {
        e.preventDefault();
        done(false);
      };
      $('confirm-ok').addEventListener('click', onOk);
      $('confirm-cancel').addEventListener('click', onCancel);
      dlg.addEventListener('cancel', onCancel);
      dlg.showModal();
      $('confirm-cancel').focus();
    });
  }

  async function deletePath() {
    const id = state.pathId;
    if (!id) return;
    const ok = await confirmDialog('Delete this URL?',
      `“${id}” and every request captured on it will be deleted. Senders will get 404.`);
    if (!ok) return;
    try {
      await api('DELETE', `/api/paths/${enc(id)}`);
    } catch (e) {
      if (e.status !== 404) {
        showPathError(`Could not delete: ${e.message}`);
        return;
      }
    }
    state.paths.delete(id);
    setHash(null);
    await loadPaths();
    toast(`Deleted ${id}`);
  }

  // A path that cannot be shown (unknown, invalid, deleted): only the message.
  function showPathError(msg) {
    const e = $('path-error');
    e.textContent = msg || '';
    show(e, Boolean(msg));
    show($('urlbar'), !msg);
    show($('panes'), !msg);
  }

  // ---------------------------------------------------------------- captures

  async function selectPath(pathId) {
    stopStream();
    state.pathId = pathId;
    state.captures.clear();
    state.nextCursor = null;
    state.newestId = null;
    state.selectedId = null;
    state.detail = null;
    clear($('captures'));
    showDetail(false);
    show($('load-more'), false);
    show($('captures-empty'), false);
    showPathError('');
    updateCount();
    for (const li of $('path-list').children) {
      li.classList.toggle('selected', li.dataset.pathId === pathId);
    }
    show($('welcome'), !pathId);
    show($('path-view'), Boolean(pathId));
    if (!pathId) {
      setStatus('offline');
      document.title = 'CallbackListener';
      return;
    }
    document.title = `${pathId} · CallbackListener`;
    $('webhook-url').textContent = webhookBase(pathId);
    if (!PATH_ID_RE.test(pathId)) {
      showPathError(`“${pathId}” is not a valid path id`);
      return;
    }
    let page;
    try {
      page = await api('GET', `/api/paths/${enc(pathId)}/logs?limit=${PAGE_SIZE}`);
    } catch (e) {
      if (state.pathId !== pathId) return;
      showPathError(e.status === 404 ? `No URL “${pathId}” on this server (deleted?)` : e.message);
      setStatus('offline');
      return;
    }
    if (state.pathId !== pathId) return;
    addPage(page);
    startStream(state.newestId || BEFORE_ALL);
  }

  function addPage(page) {
    const items = (page && page.items) || [];
    for (const s of items) addCapture(s, false);
    state.nextCursor = (page && page.next_cursor) || null;
    show($('load-more'), Boolean(state.nextCursor));
    updateCount();
  }

  async function loadMore() {
    if (!state.nextCursor || !state.pathId) return;
    const pathId = state.pathId;
    const btn = $('load-more');
    btn.disabled = true;
    try {
      const page = await api('GET',
        `/api/paths/${enc(pathId)}/logs?limit=${PAGE_SIZE}&cursor=${enc(state.nextCursor)}`);
      if (state.pathId === pathId) addPage(page);
    } catch (e) {
      toast(`Could not load more: ${e.message}`, true);
    } finally {
      btn.disabled = false;
    }
  }

  function updateCount() {
    const n = state.captures.size;
    $('capture-count').textContent = n ? `${n}${state.nextCursor ? '+' : ''}` : '';
    show($('captures-empty'), Boolean(state.pathId) && n === 0 && !$('path-error').textContent);
  }

  // Inserts a summary keeping the list newest first (ids are UUIDv7, so
  // their text order is time order); ignores ids already shown.
  function addCapture(s, live) {
    if (!s || typeof s.id !== 'string' || state.captures.has(s.id)) return;
    if (s.path_id && state.pathId && s.path_id !== state.pathId) return;
    const id = s.id.toLowerCase();
    state.captures.set(s.id, s);
    if (!state.newestId || id > state.newestId) state.newestId = id;
    const row = renderRow(s);
    if (live) row.classList.add('fresh');
    const list = $('captures');
    let before = null;
    for (const r of list.children) {
      if (r.dataset.id.toLowerCase() < id) {
        before = r;
        break;
      }
    }
    list.insertBefore(row, before);
  }

  function renderRow(s) {
    const li = el('li', {
      class: 'capture-row',
      dataset: { id: s.id },
      tabIndex: 0,
      role: 'button',
      title: `${s.method} ${pathAndQuery(s)}\nfrom ${s.ip || '?'}\n${fullTime(s.received_at)}`,
    },
    methodBadge(s.method),
    el('span', { class: 'row-main' },
      el('span', { class: 'row-path', text: pathAndQuery(s) }),
      el('span', { class: 'row-sub muted' },
        [s.content_type ? mediaType(s.content_type) : 'no body type', s.ip || ''].filter(Boolean).join(' · '))),
    el('span', { class: 'row-side' },
      el('span', { class: 'row-size', text: humanSize(s.body_size) }),
      el('time', { class: 'row-time muted', text: relativeTime(s.received_at), dataset: { ts: s.received_at || '' } })));
    if (s.id === state.selectedId) li.classList.add('selected');
    return li;
  }

  function onCaptureClick(e) {
    const row = e.target.closest('.capture-row');
    if (!row) return;
    setHash(state.pathId, row.dataset.id);
    openCapture(row.dataset.id);
  }

  function markSelected() {
    for (const r of $('captures').children) {
      r.classList.toggle('selected', r.dataset.id === state.selectedId);
    }
  }

  let detailSeq = 0;

  async function openCapture(requestId) {
    const pathId = state.pathId;
    if (!pathId) return;
    state.selectedId = requestId;
    markSelected();
    const seq = ++detailSeq;
    let d;
    try {
      d = await api('GET', `/api/paths/${enc(pathId)}/logs/${enc(requestId)}`);
    } catch (e) {
      if (seq === detailSeq) toast(`Could not open the request: ${e.message}`, true);
      return;
    }
    if (seq !== detailSeq || state.pathId !== pathId) return;
    state.detail = d;
    renderDetail(d);
  }

  function closeDetail(updateHash) {
    state.selectedId = null;
    state.detail = null;
    detailSeq++;
    showDetail(false);
    markSelected();
    if (updateHash) setHash(state.pathId);
  }

  function kvRows(table, pairs, emptyText) {
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

  function bodyBytesOf(d) {
    if (d.body_encoding === 'base64' && typeof d.body_base64 === 'string') {
      try {
        return base64ToBytes(d.body_base64);
      } catch (_) {
        return new Uint8Array(0);
      }
    }
    if (typeof d.body === 'string') return new TextEncoder().encode(d.body);
    return new Uint8Array(0);
  }

  function showDetail(visible) {
    show($('detail'), visible);
    show($('detail-empty'), !visible);
  }

  function renderDetail(d) {
    showDetail(true);
    const badge = $('detail-method');
    badge.className = `badge ${METHOD_CLASSES[d.method] || 'm-other'}`;
    badge.textContent = d.method;
    $('detail-url').textContent = requestUrl(d);

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
    add('Request id', d.id);

    kvRows($('query-table'), d.query_params, 'No query parameters');
    kvRows($('headers-table'), d.headers, 'No headers');

    const bytes = bodyBytesOf(d);
    const isText = d.body_encoding !== 'base64' && typeof d.body === 'string';
    const text = isText ? d.body : utf8Lossy.decode(bytes);
    const mt = mediaType(d.content_type);
    $('body-info').textContent = `${humanSize(bytes.length)} · ${isText ? 'UTF-8 text' : 'binary'}`;

    // Pretty
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
      if (out === null && (isXmlType(mt) || (/^<\?xml/.test(trimmed)))) {
        out = prettyXml(text);
        if (out !== null) prettyKind = 'xml';
      }
      if (out === null && mt === 'application/x-www-form-urlencoded') {
        const table = el('table', { class: 'kv form-table' }, el('tbody'));
        kvRows(table, parseForm(text), 'No fields');
        pretty.appendChild(table);
        prettyKind = 'form';
      } else {
        pretty.appendChild(el('pre', { class: 'code', text: out !== null ? out : text }));
      }
    }

    // Raw
    $('body-raw').textContent = bytes.length === 0 ? '' : text;
    $('body-raw').classList.toggle('lossy', !isText);

    // Hex
    $('body-hex').textContent = hexDump(bytes, HEX_LIMIT);

    // Download
    const dl = $('download-body');
    dl.href = `/api/paths/${enc(d.path_id || state.pathId)}/logs/${enc(d.id)}/body`;
    dl.setAttribute('download', `${d.id}.bin`);

    // curl
    $('curl-text').textContent = buildCurl(d, bytes);

    let tab = state.tab;
    if (!tab || (tab === 'pretty' && !prettyKind) || (!isText && tab !== 'hex')) {
      tab = !isText && bytes.length > 0 ? 'hex' : prettyKind ? 'pretty' : 'raw';
    }
    selectTab(tab);
  }

  function selectTab(tab) {
    for (const b of document.querySelectorAll('.tab')) {
      const on = b.dataset.tab === tab;
      b.classList.toggle('active', on);
      b.setAttribute('aria-selected', String(on));
    }
    show($('body-pretty'), tab === 'pretty');
    show($('body-raw'), tab === 'raw');
    show($('body-hex'), tab === 'hex');
  }

  async function downloadWithToken(e) {
    if (!token) return; // plain link works
    e.preventDefault();
    const href = $('download-body').getAttribute('href');
    try {
      const res = await fetch(href, { headers: authHeaders() });
      if (!res.ok) throw new Error(`${res.status}`);
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: `${state.selectedId || 'body'}.bin`, class: 'offscreen' });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      toast(`Download failed: ${err.message}`, true);
    }
  }

  // ---------------------------------------------------------------- live stream

  function setStatus(s) {
    const st = $('status');
    const text = s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : 'offline';
    st.textContent = text;
    st.className = `status status-${s}`;
  }

  function streamUrl(resumeAfter) {
    const params = new URLSearchParams();
    if (resumeAfter) params.set('last_event_id', resumeAfter);
    if (token) params.set('access_token', token);
    const q = params.toString();
    return `/api/paths/${enc(state.pathId)}/stream${q ? `?${q}` : ''}`;
  }

  function stopStream() {
    state.esGeneration++;
    clearTimeout(state.esTimer);
    state.esTimer = null;
    if (state.es) {
      state.es.close();
      state.es = null;
    }
  }

  function startStream(resumeAfter) {
    stopStream();
    if (!state.pathId) return;
    const gen = state.esGeneration;
    const pathId = state.pathId;
    setStatus('reconnecting');
    let es;
    try {
      es = new EventSource(streamUrl(resumeAfter));
    } catch (_) {
      scheduleReconnect(gen, pathId);
      return;
    }
    state.es = es;
    es.onopen = () => {
      if (gen !== state.esGeneration) return;
      state.esBackoff = 1000;
      setStatus('live');
    };
    es.addEventListener('request', (ev) => {
      if (gen !== state.esGeneration) return;
      let s;
      try {
        s = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      if (s && !s.id && ev.lastEventId) s.id = ev.lastEventId;
      addCapture(s, true);
      updateCount();
    });
    es.onerror = () => {
      if (gen !== state.esGeneration) return;
      setStatus('reconnecting');
      // CONNECTING: the browser retries by itself, resending Last-Event-ID.
      // CLOSED: it gave up (an HTTP error); reconnect ourselves.
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        state.es = null;
        scheduleReconnect(gen, pathId);
      }
    };
  }

  function scheduleReconnect(gen, pathId) {
    const delay = state.esBackoff;
    state.esBackoff = Math.min(state.esBackoff * 2, 30000);
    state.esTimer = setTimeout(async () => {
      if (gen !== state.esGeneration || state.pathId !== pathId) return;
      // Find out why it failed: a 401 asks for the token, a 404 means the
      // path is gone. Both go through api().
      try {
        await api('GET', `/api/paths/${enc(pathId)}`);
      } catch (e) {
        if (gen !== state.esGeneration || state.pathId !== pathId) return;
        if (e.status === 404) {
          showPathError(`URL “${pathId}” no longer exists on this server`);
          setStatus('offline');
          return;
        }
        if (e.status === 401) {
          setStatus('offline');
          return;
        }
      }
      if (gen !== state.esGeneration || state.pathId !== pathId) return;
      startStream(state.newestId || BEFORE_ALL);
    }, delay);
  }

  // ---------------------------------------------------------------- wiring

  function refreshTimes() {
    for (const t of document.querySelectorAll('[data-ts]')) {
      if (t.dataset.ts) t.textContent = relativeTime(t.dataset.ts);
    }
  }

  function init() {
    $('create-auto').addEventListener('click', () => createPath(null));
    $('create-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const v = $('create-custom-input').value.trim();
      if (!v) {
        showCreateError('Type an id, or use “New URL” for a random one');
        return;
      }
      if (!PATH_ID_RE.test(v)) {
        showCreateError('An id is 1 to 64 letters, digits, “_” or “-”');
        return;
      }
      createPath(v);
    });
    $('copy-url').addEventListener('click', (e) => copyText($('webhook-url').textContent, e.currentTarget));
    $('copy-curl').addEventListener('click', (e) => copyText($('curl-text').textContent, e.currentTarget));
    $('delete-path').addEventListener('click', deletePath);
    $('load-more').addEventListener('click', loadMore);
    $('close-detail').addEventListener('click', () => closeDetail(true));
    $('download-body').addEventListener('click', downloadWithToken);
    $('captures').addEventListener('click', onCaptureClick);
    $('captures').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        onCaptureClick(e);
      } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        const row = e.target.closest('.capture-row');
        const next = row && (e.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling);
        if (next) {
          e.preventDefault();
          next.focus();
          next.click();
        }
      }
    });
    for (const b of document.querySelectorAll('.tab')) {
      b.addEventListener('click', () => {
        state.tab = b.dataset.tab;
        selectTab(b.dataset.tab);
      });
    }
    window.addEventListener('hashchange', route);
    // Paths made elsewhere (another tab, the API) show up when the page is looked at again.
    let lastPathsLoad = Date.now();
    window.addEventListener('focus', () => {
      if (Date.now() - lastPathsLoad > 5000 && !tokenPrompt) {
        lastPathsLoad = Date.now();
        loadPaths();
      }
    });
    setInterval(refreshTimes, 15000);
    loadPaths().then(route);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
