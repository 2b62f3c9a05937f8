// The list filters: what the URL carries, what the API is asked, and what
// can be decided on a capture summary alone. Pure, unit-tested in node.
//
// Meanings are the API's (GET /api/paths/{id}/logs): method exact; header
// `name` or `name:value` (exact value); q = body text, ASCII
// case-insensitive; since inclusive, until exclusive (RFC 3339); signature
// a verdict. The page never re-implements header or body matching: for live
// captures under such a filter it asks the API (see views/list.js).

export const FILTER_KEYS = ['method', 'header', 'q', 'since', 'until', 'signature'];
export const VERDICTS = ['valid', 'invalid', 'stale', 'missing'];

// From a query string (the part of the hash after `?`), unknown keys ignored.
export function parseFilters(query) {
  const p = new URLSearchParams(query || '');
  const f = {};
  for (const k of FILTER_KEYS) {
    const v = p.get(k);
    if (v !== null && v.trim() !== '') f[k] = k === 'method' ? v.trim().toUpperCase() : v;
  }
  return f;
}

// Back to a query string, keys in a fixed order so equal filters give equal URLs.
export function filtersToQuery(f) {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) if (f && f[k]) p.set(k, f[k]);
  return p.toString();
}

export function hasFilters(f) {
  return FILTER_KEYS.some((k) => f && f[k]);
}

export function sameFilters(a, b) {
  return filtersToQuery(a) === filtersToQuery(b);
}

// The same filters as the replay API's `filter` object.
export function replayFilter(f) {
  const out = {};
  for (const k of FILTER_KEYS) if (f && f[k]) out[k] = f[k];
  return out;
}

// Whether a summary can be decided without the API: true / false, or null
// when a header or body filter needs the server's answer.
export function matchesSummary(f, s) {
  if (!f) return true;
  if (f.method && String(s.method) !== f.method) return false;
  const t = Date.parse(s.received_at);
  if (f.since && !(t >= Date.parse(f.since))) return false;
  if (f.until && !(t < Date.parse(f.until))) return false;
  if (f.signature && s.signature !== f.signature) return false;
  if (f.header || f.q) return null;
  return true;
}

// <input type="datetime-local"> value (local time, no zone) <-> RFC 3339 UTC.
export function localInputToIso(v) {
  if (!v) return '';
  const t = new Date(v); // a zone-less date-time string is local time
  return isNaN(t.getTime()) ? '' : t.toISOString();
}

export function isoToLocalInput(iso) {
  const t = new Date(iso);
  if (!iso || isNaN(t.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
}

// A short human description for the empty state ("no POST with header x").
export function describeFilters(f) {
  const parts = [];
  if (f.method) parts.push(`method ${f.method}`);
  if (f.header) parts.push(`header ${f.header}`);
  if (f.q) parts.push(`body containing “${f.q}”`);
  if (f.since) parts.push(`since ${f.since}`);
  if (f.until) parts.push(`until ${f.until}`);
  if (f.signature) parts.push(`signature ${f.signature}`);
  return parts.join(', ');
}
