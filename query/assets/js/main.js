// CallbackListener web inspector: native ES modules, no build step, no
// framework. This module wires the views to the URL (state.js) and starts.

import { $, show } from './dom.js';
import { promptOpen } from './api.js';
import { app, PATH_ID_RE, parseHash, setHash } from './state.js';
import { localInputToIso, isoToLocalInput, sameFilters } from './filters.js';
import { initPaths, loadPaths, renderPaths } from './views/paths.js';
import { initList, initBadgeScroll, loadList, stopFeed } from './views/list.js';
import { initDetail, openCapture, closeDetail, showDetail, webhookBase, onClose } from './views/detail.js';
import { initSettings } from './views/settings.js';
import { initReplay } from './views/replay.js';
import { initDiff, syncDiffButtons } from './views/diff.js';
import { initKeys } from './views/keys.js';
import { initSession, refreshIdentity } from './views/session.js';
import { initWorkspace } from './views/workspace.js';

// Neutral when no path is open: "offline" would say something is wrong.
function setStatus(s) {
  const st = $('status');
  const text = { live: 'live', reconnecting: 'reconnecting…', offline: 'offline', idle: 'no URL selected' }[s] || s;
  st.textContent = text;
  st.className = `status status-${s}`;
}

// A path that cannot be shown (unknown, invalid, deleted): only the message.
function showPathError(msg) {
  const e = $('path-error');
  e.textContent = msg || '';
  show(e, Boolean(msg));
  show($('urlbar'), !msg);
  show($('panes'), !msg);
  show($('filters'), !msg);
}

// ---------------------------------------------------------------- filters

function fillFilterForm(f) {
  $('f-method').value = f.method || '';
  $('f-header').value = f.header || '';
  $('f-q').value = f.q || '';
  $('f-since').value = isoToLocalInput(f.since);
  $('f-until').value = isoToLocalInput(f.until);
  $('f-signature').value = f.signature || '';
}

function readFilterForm() {
  const f = {};
  const method = $('f-method').value.trim().toUpperCase();
  if (method) f.method = method;
  const header = $('f-header').value.trim();
  if (header) f.header = header;
  const q = $('f-q').value;
  if (q.trim()) f.q = q;
  const since = localInputToIso($('f-since').value);
  if (since) f.since = since;
  const until = localInputToIso($('f-until').value);
  if (until) f.until = until;
  if ($('f-signature').value) f.signature = $('f-signature').value;
  return f;
}

function initFilters() {
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    setHash(app.pathId, null, readFilterForm());
  });
  $('f-reset').addEventListener('click', () => {
    fillFilterForm({});
    setHash(app.pathId, null, {});
  });
  // A changed select applies at once; text fields apply on Enter / Filter.
  $('f-signature').addEventListener('change', () => setHash(app.pathId, null, readFilterForm()));
}

// ---------------------------------------------------------------- routing

async function selectPath(pathId, filters) {
  stopFeed();
  app.pathId = pathId;
  app.path = app.paths.get(pathId) || null;
  app.filters = filters;
  app.selectedId = null;
  app.detail = null;
  app.generation++;
  showDetail(false);
  showPathError('');
  show($('filter-error'), false);
  renderPaths();
  show($('welcome'), !pathId);
  show($('path-view'), Boolean(pathId));
  if (!pathId) {
    setStatus('idle');
    document.title = 'CallbackListener';
    return;
  }
  // The read token is shown once, for the path just created; not elsewhere.
  if ($('read-token-once').dataset.pathId !== pathId) show($('read-token-once'), false);
  document.title = `${pathId} · CallbackListener`;
  $('webhook-url').textContent = webhookBase(pathId);
  fillFilterForm(filters);
  if (!PATH_ID_RE.test(pathId)) {
    showPathError(`“${pathId}” is not a valid path id`);
    setStatus('offline');
    return;
  }
  await loadList();
}

async function route() {
  const { pathId, requestId, filters } = parseHash();
  if (pathId !== app.pathId) {
    await selectPath(pathId, filters);
  } else if (!sameFilters(filters, app.filters)) {
    app.filters = filters;
    fillFilterForm(filters);
    app.selectedId = null;
    showDetail(false);
    await loadList();
  }
  if (pathId && requestId && requestId !== app.selectedId) await openCapture(requestId);
  if (pathId && !requestId && app.selectedId) closeDetail(false);
  syncDiffButtons();
}

function selectCapture(id) {
  setHash(app.pathId, id);
  openCapture(id).then(syncDiffButtons);
}

function init() {
  setStatus('idle');
  initPaths({ reloadList: () => loadList() });
  initList({
    onStatus: setStatus,
    onGone: (msg) => {
      showPathError(msg);
      setStatus('offline');
    },
  });
  initBadgeScroll();
  initDetail();
  onClose(() => {
    setHash(app.pathId, null);
    syncDiffButtons();
  });
  initSettings({
    onSaved: () => {
      $('webhook-url').textContent = webhookBase(app.pathId);
    },
  });
  initReplay();
  initDiff();
  initFilters();
  initKeys({ select: selectCapture, close: () => closeDetail(true) });
  initSession({ reload: () => loadPaths().then(refreshIdentity) });
  initWorkspace();
  $('captures').addEventListener('click', (e) => {
    const row = e.target.closest('.capture-row');
    if (row) selectCapture(row.dataset.id);
  });
  window.addEventListener('hashchange', route);
  // Paths made elsewhere (another tab, the API) show up when the page is looked at again.
  let lastPathsLoad = Date.now();
  window.addEventListener('focus', () => {
    if (Date.now() - lastPathsLoad > 5000 && !promptOpen()) {
      lastPathsLoad = Date.now();
      loadPaths();
    }
  });
  loadPaths().then(() => {
    refreshIdentity();
    return route();
  });
}

init();
