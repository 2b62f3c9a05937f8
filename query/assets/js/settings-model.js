// The per-path settings form as data: form values to the PATCH body, and an
// API error to the field it is about. Pure, unit-tested in node. Validation
// stays the API's (one implementation); the page only places its message.

// "Name: value" lines into pairs; blank lines skipped. A line without a
// colon becomes a name with an empty value, which the API then judges.
export function parseHeaderLines(text) {
  const pairs = [];
  for (const line of String(text || '').split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const i = line.indexOf(':');
    if (i < 0) pairs.push([line.trim(), '']);
    else pairs.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return pairs;
}

export function headerPairsToLines(pairs) {
  return (pairs || []).map(([k, v]) => `${k}: ${v}`).join('\n');
}

// A whole number from a text field; '' is "not set" (null); anything else
// that is not a whole number is passed as a number anyway when it parses,
// or as the raw text, so the API's message (not ours) explains the problem.
function num(v) {
  const t = String(v ?? '').trim();
  if (t === '') return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

// values: {custom (bool), status, headers, body, delay_ms, max_requests, ttl_seconds, forward_url}
export function settingsPatch(values) {
  const patch = {};
  if (values.custom) {
    patch.response = {
      status: num(values.status) ?? 200,
      headers: parseHeaderLines(values.headers),
      body: String(values.body || ''),
      delay_ms: num(values.delay_ms) ?? 0,
    };
  } else {
    patch.response = null;
  }
  patch.max_requests = num(values.max_requests);
  patch.ttl_seconds = num(values.ttl_seconds);
  const fwd = String(values.forward_url || '').trim();
  patch.forward_url = fwd === '' ? null : fwd;
  return patch;
}

// The form values of a path as the API shows it.
export function settingsValues(path) {
  const r = path.response;
  return {
    custom: Boolean(r),
    status: r ? String(r.status) : '200',
    headers: r ? headerPairsToLines(r.headers) : '',
    body: r ? r.body || '' : '',
    delay_ms: r ? String(r.delay_ms || 0) : '0',
    max_requests: path.max_requests != null ? String(path.max_requests) : '',
    ttl_seconds: path.ttl_seconds != null ? String(path.ttl_seconds) : '',
    forward_url: path.forward_url || '',
  };
}

// Which field an API error belongs to (query/src/api/paths.rs and
// common/src/paths.rs CustomResponse::validate name them), or null.
export function errorField(code, message) {
  const m = String(message || '');
  switch (code) {
    case 'invalid_max_requests': return 'max_requests';
    case 'invalid_ttl': return 'ttl_seconds';
    case 'invalid_forward_url':
    case 'forward_not_allowed': return 'forward_url';
    case 'invalid_response':
      if (m.startsWith('response.status')) return 'status';
      if (m.startsWith('response.body')) return 'body';
      if (m.startsWith('response.delay_ms')) return 'delay_ms';
      if (/^response\.headers|^response header/.test(m)) return 'headers';
      return 'status';
    case 'invalid_json':
      // serde's type errors name the field: "response.status: invalid type..."
      for (const f of ['status', 'delay_ms', 'headers', 'body', 'max_requests', 'ttl_seconds', 'forward_url']) {
        if (m.includes(f)) return f;
      }
      return null;
    default:
      return null;
  }
}
