// The sidebar (paths, create) and the URL bar's path actions: copy, delete,
// clear captures, and a private path's read token shown once.

import { $, el, clear, show, toast, copyText, confirmDialog } from '../dom.js';
import { api, enc, privatePaths, setReadToken } from '../api.js';
import { app, PATH_ID_RE, setHash } from '../state.js';
import { relativeTime, fullTime } from '../format.js';
import { webhookBase } from './detail.js';

let reload = () => {};

export function initPaths(hooks) {
  reload = hooks.reloadList;
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
  $('delete-path').addEventListener('click', deletePath);
  $('clear-captures').addEventListener('click', clearCaptures);
  $('copy-read-token').addEventListener('click', (e) => copyText($('read-token-value').textContent, e.currentTarget));
  $('dismiss-read-token').addEventListener('click', () => {
    $('read-token-value').textContent = '';
    show($('read-token-once'), false);
  });
}

export async function loadPaths() {
  try {
    const data = await api('GET', '/api/paths');
    app.paths.clear();
    for (const item of (data && data.items) || []) {
      const p = typeof item === 'string' ? { path_id: item } : item;
      if (p && typeof p.path_id === 'string') app.paths.set(p.path_id, p);
    }
    // Private paths are never listed; show the ones this browser can read.
    for (const id of privatePaths()) {
      if (!app.paths.has(id)) app.paths.set(id, { path_id: id, private: true, webhook_url: `${location.origin}/webhook/${id}` });
    }
    renderPaths();
  } catch (e) {
    showCreateError(`Could not list URLs: ${e.message}`);
  }
}

export function renderPaths() {
  const list = $('path-list');
  clear(list);
  for (const p of app.paths.values()) {
    const a = el('a', {
      class: 'path-link',
      href: `#/p/${enc(p.path_id)}`,
      title: p.created_at ? `created ${fullTime(p.created_at)}` : p.path_id,
    }, el('span', { class: 'path-id', text: p.path_id }));
    if (p.private) a.appendChild(el('span', { class: 'tag', text: 'private' }));
    if (p.created_at) a.appendChild(el('span', { class: 'path-time muted', text: relativeTime(p.created_at), dataset: { ts: p.created_at } }));
    const li = el('li', { class: 'path-item', dataset: { pathId: p.path_id } }, a);
    if (p.path_id === app.pathId) {
      li.classList.add('selected');
      a.setAttribute('aria-current', 'page');
    }
    list.appendChild(li);
  }
  show($('path-empty'), app.paths.size === 0);
  if (app.pathId) $('webhook-url').textContent = webhookBase(app.pathId);
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
  const isPrivate = $('create-private').checked;
  try {
    const body = pathId ? { path_id: pathId } : {};
    if (isPrivate) body.private = true;
    const p = await api('POST', '/api/paths', body);
    if (p && p.path_id) {
      if (p.read_token) {
        // Shown this once (the server keeps only its digest); kept here so
        // this browser can read the path.
        setReadToken(p.path_id, p.read_token);
        $('read-token-value').textContent = p.read_token;
        $('read-token-once').dataset.pathId = p.path_id;
        show($('read-token-once'), true);
      }
      $('create-custom-input').value = '';
      $('create-private').checked = false;
      await loadPaths();
      app.paths.set(p.path_id, { ...p, read_token: undefined });
      renderPaths();
      setHash(p.path_id, null, {});
    }
  } catch (e) {
    showCreateError(e.message);
  } finally {
    btns.forEach((b) => { b.disabled = false; });
  }
}

async function deletePath() {
  const id = app.pathId;
  if (!id) return;
  const ok = await confirmDialog('Delete this URL?',
    `“${id}” and every request captured on it will be deleted. Senders will get 404.`);
  if (!ok) return;
  try {
    await api('DELETE', `/api/paths/${enc(id)}`);
  } catch (e) {
    if (e.status !== 404) {
      toast(`Could not delete: ${e.message}`, true);
      return;
    }
  }
  app.paths.delete(id);
  setReadToken(id, null);
  setHash(null);
  await loadPaths();
  toast(`Deleted ${id}`);
}

async function clearCaptures() {
  const id = app.pathId;
  if (!id) return;
  const ok = await confirmDialog('Clear the captures?',
    `Every request captured on “${id}” will be deleted. The URL stays and keeps capturing.`, 'Clear');
  if (!ok) return;
  try {
    await api('DELETE', `/api/paths/${enc(id)}/logs`);
  } catch (e) {
    toast(`Could not clear: ${e.message}`, true);
    return;
  }
  toast('Captures cleared');
  reload();
}
