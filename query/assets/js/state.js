// The page's shared state and its URL. One object, read and changed by the
// views; the URL hash is the source of truth for what is shown:
//   #/p/{path_id}[/r/{request_id}][?method=&header=&q=&since=&until=&signature=]
// so a filtered view (or one capture in it) can be shared and reloaded.

import { CaptureWindow } from './window.js';
import { filtersToQuery, parseFilters } from './filters.js';

// Rows held (and rendered) at most, whatever the path holds.
export const MAX_ROWS = 500;
export const PAGE_SIZE = 100;
export const PATH_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export const app = {
  paths: new Map(), // path_id -> path view from the API
  pathId: null,
  path: null, // the selected path's view (settings), when loaded
  filters: {},
  window: new CaptureWindow(MAX_ROWS),
  selectedId: null,
  detail: null,
  feed: null,
  generation: 0, // bumped on every path or filter change; stale answers are dropped
  diffMark: null, // a capture detail marked for the diff
};

const enc = encodeURIComponent;

export function parseHash(hash = location.hash) {
  const m = /^#\/p\/([^/?]+)(?:\/r\/([^/?]+))?\/?(?:\?(.*))?$/.exec(hash);
  if (!m) return { pathId: null, requestId: null, filters: {} };
  try {
    return {
      pathId: decodeURIComponent(m[1]),
      requestId: m[2] ? decodeURIComponent(m[2]) : null,
      filters: parseFilters(m[3] || ''),
    };
  } catch (_) {
    return { pathId: null, requestId: null, filters: {} };
  }
}

export function hashFor(pathId, requestId, filters) {
  if (!pathId) return '#/';
  let h = `#/p/${enc(pathId)}`;
  if (requestId) h += `/r/${enc(requestId)}`;
  const q = filtersToQuery(filters || {});
  if (q) h += `?${q}`;
  return h;
}

// Opening a capture replaces the history entry (j/k would otherwise fill
// the back button); changing path or filters adds one.
export function setHash(pathId, requestId, filters = app.filters) {
  const h = hashFor(pathId, requestId, filters);
  if (location.hash === h) return;
  const cur = parseHash();
  if (cur.pathId === pathId && filtersToQuery(cur.filters) === filtersToQuery(filters)) {
    history.replaceState(null, '', h);
  } else {
    location.hash = h;
  }
}
