// Side-by-side line diff of two texts (or two header lists). Pure,
// unit-tested in node.
//
// Longest common subsequence by dynamic programming: exact and simple. It
// costs rows x cols cells, so inputs are capped (MAX_LINES each); past that
// the rest is compared position by position and the result says so.

export const MAX_LINES = 3000;

export function splitLines(text) {
  if (text === '') return [];
  return String(text).split(/\r?\n/);
}

// Rows of {kind: 'same'|'change'|'del'|'add', left, right} (left/right may be null).
export function diffLines(a, b) {
  const truncated = a.length > MAX_LINES || b.length > MAX_LINES;
  const x = a.slice(0, MAX_LINES);
  const y = b.slice(0, MAX_LINES);
  const n = x.length;
  const m = y.length;
  // lcs[i][j] = LCS length of x[i..] and y[j..], one flat typed array.
  const w = m + 1;
  const lcs = new Uint16Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1
        : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const raw = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      raw.push({ kind: 'same', left: x[i++], right: y[j++] });
    } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
      raw.push({ kind: 'del', left: x[i++], right: null });
    } else {
      raw.push({ kind: 'add', left: null, right: y[j++] });
    }
  }
  while (i < n) raw.push({ kind: 'del', left: x[i++], right: null });
  while (j < m) raw.push({ kind: 'add', left: null, right: y[j++] });
  const rows = pairChanges(raw);
  // Past the cap: position by position.
  for (let k = MAX_LINES; k < Math.max(a.length, b.length); k++) {
    const l = k < a.length ? a[k] : null;
    const r = k < b.length ? b[k] : null;
    rows.push({ kind: l === r ? 'same' : l === null ? 'add' : r === null ? 'del' : 'change', left: l, right: r });
  }
  return { rows, truncated };
}

// A run of deletions followed by additions reads better as changed lines
// facing each other.
function pairChanges(raw) {
  const out = [];
  let k = 0;
  while (k < raw.length) {
    if (raw[k].kind !== 'del') {
      out.push(raw[k++]);
      continue;
    }
    const dels = [];
    while (k < raw.length && raw[k].kind === 'del') dels.push(raw[k++].left);
    const adds = [];
    while (k < raw.length && raw[k].kind === 'add') adds.push(raw[k++].right);
    const len = Math.max(dels.length, adds.length);
    for (let t = 0; t < len; t++) {
      const l = t < dels.length ? dels[t] : null;
      const r = t < adds.length ? adds[t] : null;
      out.push({ kind: l !== null && r !== null ? 'change' : l !== null ? 'del' : 'add', left: l, right: r });
    }
  }
  return out;
}

// Headers as "name: value" lines (non-UTF-8 values shown by their base64).
export function headerLines(headers) {
  return (headers || []).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : `[base64] ${v && v.base64}`}`);
}

// Bodies: pretty JSON when both parse, so key order or spacing alone shows
// as what it is; otherwise the text.
export function bodyLines(text) {
  if (typeof text !== 'string') return [];
  try {
    return splitLines(JSON.stringify(JSON.parse(text), null, 2));
  } catch (_) {
    return splitLines(text);
  }
}

export function countChanges(rows) {
  return rows.filter((r) => r.kind !== 'same').length;
}
