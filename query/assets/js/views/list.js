// The capture list: first page, "load more" and infinite scroll, the live
// feed flowing into the (possibly filtered) view, provider badges, and the
// DOM kept to the bounded window (window.js) whatever the path holds.

import { $, el, clear, show, toast } from '../dom.js';
import { api, enc } from '../api.js';
import { app, PAGE_SIZE } from '../state.js';
import { LiveFeed } from '../live.js';
import { filtersToQuery, hasFilters, matchesSummary, describeFilters } from '../filters.js';
import { humanSize, relativeTime, fullTime, mediaType, pathAndQuery, METHOD_CLASSES } from '../format.js';
import { providerFromSummary, detectProvider, badgeText } from '../provider.js';
import { answerTag } from '../routing.js';

export function methodBadge(method) {
  const m = String(method || '?');
  return el('span', { class: `badge ${METHOD_CLASSES[m] || 'm-other'}`, text: m, title: m });
}

export function verdictBadge(v) {
  if (!v) return null;
  return el('span', { class: `verdict verdict-${v}`, text: `sig ${v}`, title: `signature ${v}` });
}

// What a path with rules answered this capture, and by which rule.
function answerBadge(s) {
  const text = answerTag(s);
  if (!text) return null;
  const ok = s.answer_status < 400;
  return el('span', {
    class: `verdict answer-tag ${ok ? 'verdict-valid' : 'verdict-invalid'}`,
    text,
    title: s.answer_rule != null ? `answered ${s.answer_status} by rule ${s.answer_rule + 1}` : `answered ${s.answer_status}, no rule matched`,
  });
}

function logsUrl(pathId, params) {
  const q = new URLSearchParams(filtersToQuery(app.filters));
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, v);
  return `/api/paths/${enc(pathId)}/logs?${q}`;
}

let onStatus = () => {};
let onGone = () => {};
let lastSeenId = null; // newest capture the feed has accounted for, matching or not

export function initList(hooks) {
  onStatus = hooks.onStatus;
  onGone = hooks.onGone;
  $('load-more').addEventListener('click', () => loadMore());
  $('show-newest').addEventListener('click', () => loadList());
  // Infinite scroll: the sentinel under the rows coming into view loads the next page.
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { root: document.querySelector('.list-pane'), rootMargin: '300px' });
  io.observe($('list-sentinel'));
  setInterval(refreshTimes, 15000);
}

export function stopFeed() {
  if (app.feed) app.feed.stop();
  app.feed = null;
}

// (Re)loads the list of the selected path under the current filters.
export async function loadList() {
  stopFeed();
  const gen = ++app.generation;
  const pathId = app.pathId;
  app.window.clear();
  pending = [];
  lastSeenId = null;
  clear($('captures'));
  showListError('');
  updateCount();
  show($('load-more'), false);
  show($('show-newest'), false);
  let page;
  try {
    // With filters the first page can be old; the feed resumes after the
    // newest capture of the path, so it does not replay what was skipped.
    if (hasFilters(app.filters)) {
      const head = await api('GET', `/api/paths/${enc(pathId)}/logs?limit=1`);
      lastSeenId = head && head.items && head.items[0] ? head.items[0].id : null;
    }
    page = await api('GET', logsUrl(pathId, { limit: PAGE_SIZE }));
  } catch (e) {
    if (gen !== app.generation) return;
    if (e.status === 404) onGone(`No URL “${pathId}” on this server (deleted?)`);
    else if (e.status === 400) showListError(e.message, true);
    else showListError(`Could not load the requests: ${e.message}`);
    onStatus('offline');
    return;
  }
  if (gen !== app.generation) return;
  const items = (page && page.items) || [];
  if (!hasFilters(app.filters) && items[0]) lastSeenId = items[0].id;
  app.window.appendPage(items, page && page.next_cursor);
  renderAll();
  app.feed = new LiveFeed(pathId, {
    onCapture: (s) => onLive(s, gen),
    onStatus: (s) => gen === app.generation && onStatus(s),
    onGone: (m) => gen === app.generation && onGone(m),
    resumeFrom: () => lastSeenId,
  });
  app.feed.start();
}

let loading = false;

export async function loadMore() {
  const w = app.window;
  if (loading || !w.nextCursor || !app.pathId) return;
  loading = true;
  const gen = app.generation;
  const btn = $('load-more');
  btn.disabled = true;
  try {
    const page = await api('GET', logsUrl(app.pathId, { limit: PAGE_SIZE, cursor: w.nextCursor }));
    if (gen !== app.generation) return;
    const { added, dropped } = w.appendPage((page && page.items) || [], page && page.next_cursor);
    const list = $('captures');
    const pane = list.closest('.list-pane');
    // Rows leaving the top would make the view jump; keep what is on screen still.
    let removed = 0;
    for (const s of dropped) {
      const row = rowOf(s.id);
      if (row) {
        removed += row.offsetHeight;
        row.remove();
      }
    }
    for (const s of added) list.appendChild(renderRow(s));
    if (removed) pane.scrollTop -= removed;
    afterChange();
  } catch (e) {
    toast(`Could not load more: ${e.message}`, true);
  } finally {
    loading = false;
    btn.disabled = false;
  }
}

function rowOf(id) {
  return $('captures').querySelector(`.capture-row[data-id="${CSS.escape(id)}"]`);
}

function renderAll() {
  const list = $('captures');
  clear(list);
  for (const s of app.window.items) list.appendChild(renderRow(s));
  afterChange();
}

function afterChange() {
  const w = app.window;
  show($('load-more'), Boolean(w.nextCursor));
  const newest = $('show-newest');
  show(newest, w.hasNewer);
  newest.textContent = w.missedLive ? `Show newest (${w.missedLive} new)` : 'Show newest';
  updateCount();
  markSelected();
  queueBadges();
}

function updateCount() {
  const n = app.window.size;
  const filtered = hasFilters(app.filters);
  $('capture-count').textContent = n ? `${n}${app.window.nextCursor || app.window.hasNewer ? '+' : ''}${filtered ? ' matching' : ''}` : '';
  $('list-title').textContent = filtered ? 'Requests (filtered)' : 'Requests';
  const empty = $('captures-empty');
  empty.textContent = filtered
    ? `No request matches ${describeFilters(app.filters)}. New ones that do will appear here.`
    : 'Waiting for the first request… Send one to the URL above.';
  show(empty, Boolean(app.pathId) && n === 0 && $('list-error').hidden);
}

export function showListError(msg) {
  const e = $('list-error');
  e.textContent = msg || '';
  show(e, Boolean(msg));
  updateCount();
}

// ---------------------------------------------------------------- live

let pending = []; // live captures waiting for the API to say whether they match
let recheckTimer = null;

function onLive(s, gen) {
  if (gen !== app.generation || !s || typeof s.id !== 'string') return;
  if (!lastSeenId || s.id.toLowerCase() > lastSeenId.toLowerCase()) lastSeenId = s.id;
  const m = matchesSummary(app.filters, s);
  if (m === false) return;
  if (m === true) {
    addLive(s);
    return;
  }
  // Header and body filters are the API's to decide (one implementation):
  // ask it, batched, for the matching captures among those just received.
  pending.push(s);
  if (pending.length > 2000) pending.splice(0, pending.length - 2000); // bounded while live
  if (!recheckTimer) recheckTimer = setTimeout(() => recheck(gen), 250);
}

async function recheck(gen) {
  recheckTimer = null;
  const batch = pending;
  pending = [];
  if (gen !== app.generation || batch.length === 0) return;
  const want = new Set(batch.map((s) => s.id));
  let since = batch.reduce((m, s) => (s.received_at < m ? s.received_at : m), batch[0].received_at);
  if (app.filters.since && app.filters.since > since) since = app.filters.since;
  let cursor = null;
  const found = [];
  try {
    for (let i = 0; i < 10 && want.size > 0; i++) {
      const page = await api('GET', logsUrl(app.pathId, { limit: 500, since, cursor }));
      if (gen !== app.generation) return;
      for (const s of page.items || []) if (want.has(s.id)) found.push(s);
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
  } catch (e) {
    toast(`Could not check new requests against the filter: ${e.message}`, true);
    return;
  }
  found.sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const s of found) addLive(s);
}

function addLive(s) {
  const { added, dropped, index } = app.window.addLive(s);
  if (!added) {
    afterChange();
    return;
  }
  const list = $('captures');
  for (const d of dropped) {
    const row = rowOf(d.id);
    if (row) row.remove();
  }
  const row = renderRow(s);
  row.classList.add('fresh');
  list.insertBefore(row, list.children[index] || null);
  afterChange();
}

// ---------------------------------------------------------------- rows

function renderRow(s) {
  const hint = badges.has(s.id) ? badges.get(s.id) : (() => {
    const p = providerFromSummary(s);
    return p ? { provider: p, event: null } : null;
  })();
  const li = el('li', {
    class: 'capture-row',
    dataset: { id: s.id },
    tabIndex: -1,
    role: 'option',
    'aria-selected': 'false',
    title: `${s.method} ${pathAndQuery(s)}\nfrom ${s.ip || '?'}\n${fullTime(s.received_at)}`,
  },
  methodBadge(s.method),
  el('span', { class: 'row-main' },
    el('span', { class: 'row-path', text: pathAndQuery(s) }),
    el('span', { class: 'row-sub muted' },
      el('span', { class: 'provider', text: badgeText(hint), hidden: !hint }),
      verdictBadge(s.signature),
      answerBadge(s),
      el('span', { text: [s.content_type ? mediaType(s.content_type) : 'no body type', s.ip || ''].filter(Boolean).join(' · ') }))),
  el('span', { class: 'row-side' },
    el('span', { class: 'row-size', text: humanSize(s.body_size) }),
    el('time', { class: 'row-time muted', text: relativeTime(s.received_at), dataset: { ts: s.received_at || '' } })));
  return li;
}

export function markSelected() {
  for (const r of $('captures').children) {
    const on = r.dataset.id === app.selectedId;
    r.classList.toggle('selected', on);
    r.setAttribute('aria-selected', String(on));
    r.tabIndex = on ? 0 : -1;
  }
  // Roving focus: with nothing selected, the first row takes Tab.
  if (!app.selectedId && $('captures').firstElementChild) $('captures').firstElementChild.tabIndex = 0;
}

function refreshTimes() {
  for (const t of document.querySelectorAll('[data-ts]')) {
    if (t.dataset.ts) t.textContent = relativeTime(t.dataset.ts);
  }
}

// ---------------------------------------------------------------- badges
//
// The list's summaries carry no headers or body, so the event type (GitHub's
// x-github-event, Stripe's body `type`, ...) needs the capture itself: it is
// fetched for the rows on screen only, a few at a time, and only the badge
// (a short string) is kept, in a bounded cache.

const BADGE_CACHE = 2000;
const BADGE_MAX_BODY = 256 * 1024;
const badges = new Map(); // id -> {provider, event} | null
let badgeBusy = 0;

export function rememberBadge(id, b) {
  badges.delete(id);
  badges.set(id, b);
  while (badges.size > BADGE_CACHE) badges.delete(badges.keys().next().value);
}

function queueBadges() {
  while (badgeBusy < 3) {
    const next = nextBadgeRow();
    if (!next) return;
    badgeBusy++;
    fetchBadge(next).finally(() => {
      badgeBusy--;
      queueBadges();
    });
  }
}

const inFlight = new Set();

function nextBadgeRow() {
  const pane = document.querySelector('.list-pane');
  const top = pane.scrollTop;
  const bottom = top + pane.clientHeight + 400;
  for (const r of $('captures').children) {
    if (r.offsetTop > bottom) break;
    const id = r.dataset.id;
    if (r.offsetTop + r.offsetHeight < top - 400 || badges.has(id) || inFlight.has(id)) continue;
    const s = app.window.items[app.window.indexOf(id)];
    if (!s || s.body_size > BADGE_MAX_BODY) {
      rememberBadge(id, s ? (providerFromSummary(s) ? { provider: providerFromSummary(s), event: null } : null) : null);
      continue;
    }
    return { id, pathId: app.pathId, gen: app.generation };
  }
  return null;
}

async function fetchBadge({ id, pathId, gen }) {
  inFlight.add(id);
  try {
    const d = await api('GET', `/api/paths/${enc(pathId)}/logs/${enc(id)}`);
    const b = detectProvider(d);
    rememberBadge(id, b);
    if (gen === app.generation) setRowBadge(id, b);
  } catch (_) {
    rememberBadge(id, null);
  } finally {
    inFlight.delete(id);
  }
}

export function setRowBadge(id, b) {
  const row = rowOf(id);
  const span = row && row.querySelector('.provider');
  if (!span) return;
  span.textContent = badgeText(b);
  span.hidden = !b;
}

export function initBadgeScroll() {
  let t = null;
  document.querySelector('.list-pane').addEventListener('scroll', () => {
    clearTimeout(t);
    t = setTimeout(queueBadges, 120);
  }, { passive: true });
}
