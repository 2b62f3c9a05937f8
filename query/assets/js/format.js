// Formatting and body pretty-printers that need no DOM. Pure, unit-tested in node.

export function humanSize(n) {
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

export function relativeTime(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (isNaN(t)) return String(iso || '');
  const s = Math.round((now - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  const d = new Date(t);
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ' ' +
    d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function fullTime(iso) {
  const t = Date.parse(iso);
  if (isNaN(t)) return String(iso || '');
  return `${new Date(t).toLocaleString()} (${iso})`;
}

export const METHOD_CLASSES = {
  GET: 'm-get', POST: 'm-post', PUT: 'm-put', PATCH: 'm-patch',
  DELETE: 'm-delete', HEAD: 'm-head', OPTIONS: 'm-options',
};

export function pathAndQuery(c) {
  const sub = c.subpath || '';
  const q = c.query_string ? `?${c.query_string}` : '';
  return (sub || '/') + q;
}

export function mediaType(ct) {
  return String(ct || '').split(';')[0].trim().toLowerCase();
}

export function isJsonType(mt) {
  return mt === 'application/json' || mt.endsWith('+json') || mt === 'text/json';
}

export function isXmlType(mt) {
  return mt === 'application/xml' || mt === 'text/xml' || mt.endsWith('+xml');
}

export function tryJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch (_) {
    return null;
  }
}

export function escapeXmlText(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeXmlAttr(s) {
  return escapeXmlText(s).replace(/"/g, '&quot;');
}

// application/x-www-form-urlencoded into ordered pairs, duplicates kept.
export function parseForm(text) {
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

export function formDecode(s) {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch (_) {
    return plus;
  }
}
