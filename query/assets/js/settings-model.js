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

// A problem the page finds before any request (the routing field's JSON),
// placed at its field like the API's errors.
export class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// The routing document a path has, as the settings field shows it.
export function routingText(path) {
  const p = path || {};
  return JSON.stringify({ rules: p.rules || [], targets: p.targets || [] }, null, 2);
}

// The routing field's text as `{rules, targets}` (null: none; a blank field
// is an empty document). Not JSON, not an object, or a key the document
// does not have is a FieldError: PATCH would otherwise drop the key
// silently. Everything inside is the API's to judge.
export function parseRouting(text) {
  const t = String(text ?? '').trim();
  if (t === '') return { rules: null, targets: null };
  let doc;
  try {
    doc = JSON.parse(t);
  } catch (e) {
    throw new FieldError('routing', `document: not valid JSON (${e.message})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new FieldError('routing', 'document: must be a JSON object with "rules" and "targets"');
  }
  const extra = Object.keys(doc).find((k) => k !== 'rules' && k !== 'targets');
  if (extra !== undefined) {
    throw new FieldError('routing', `document: unknown field ${JSON.stringify(extra)}, expected "rules" or "targets"`);
  }
  return { rules: doc.rules ?? null, targets: doc.targets ?? null };
}

// JSON with object keys sorted, to compare documents however keys were typed.
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

// Whether a parsed document is the one a path already has.
export function sameRouting(doc, path) {
  const norm = (d) => canonical({ rules: (d && d.rules) || [], targets: (d && d.targets) || [] });
  return norm(doc) === norm(path);
}

// values: {custom (bool), status, headers, body, body_template (bool),
// delay_ms, max_requests, ttl_seconds, forward_url, routing (text)}.
// `previous` is the path as loaded: a routing document equal to its own is
// not sent, since replacing it starts every rule's sequence count again.
// Throws a FieldError when the routing field is not a document at all.
export function settingsPatch(values, previous) {
  const patch = {};
  if (values.custom) {
    const body = String(values.body || '');
    patch.response = {
      status: num(values.status) ?? 200,
      headers: parseHeaderLines(values.headers),
      ...(values.body_template ? { body_template: body } : { body }),
      delay_ms: num(values.delay_ms) ?? 0,
    };
  } else {
    patch.response = null;
  }
  patch.max_requests = num(values.max_requests);
  patch.ttl_seconds = num(values.ttl_seconds);
  const fwd = String(values.forward_url || '').trim();
  patch.forward_url = fwd === '' ? null : fwd;
  if (values.routing !== undefined) {
    const doc = parseRouting(values.routing);
    if (!previous || !sameRouting(doc, previous)) {
      patch.rules = doc.rules;
      patch.targets = doc.targets;
    }
  }
  return patch;
}

// The form values of a path as the API shows it.
export function settingsValues(path) {
  const r = path.response;
  const template = Boolean(r) && typeof r.body_template === 'string';
  return {
    custom: Boolean(r),
    status: r ? String(r.status) : '200',
    headers: r ? headerPairsToLines(r.headers) : '',
    body: template ? r.body_template : r ? r.body || '' : '',
    body_template: template,
    delay_ms: r ? String(r.delay_ms || 0) : '0',
    max_requests: path.max_requests != null ? String(path.max_requests) : '',
    ttl_seconds: path.ttl_seconds != null ? String(path.ttl_seconds) : '',
    forward_url: path.forward_url || '',
    routing: routingText(path),
  };
}

// Which field an API error belongs to (query/src/api/paths.rs,
// common/src/paths.rs CustomResponse::validate and common/src/rules name
// them), or null.
export function errorField(code, message) {
  const m = String(message || '');
  switch (code) {
    case 'invalid_max_requests': return 'max_requests';
    case 'invalid_ttl': return 'ttl_seconds';
    case 'invalid_forward_url':
    case 'forward_not_allowed': return 'forward_url';
    case 'invalid_response':
      if (m.startsWith('response.status')) return 'status';
      if (m.startsWith('response.body') || m.startsWith('give response.body')) return 'body';
      if (m.startsWith('response.delay_ms')) return 'delay_ms';
      if (/^response\.headers|^response header/.test(m)) return 'headers';
      return 'status';
    case 'invalid_routing':
      // "rules[1].when.header.regex: invalid regex ...", "targets[0].url: ...",
      // "document: ...": always about the routing document.
      return 'routing';
    case 'invalid_json': {
      // serde's type errors name the field: "response.status: invalid type...",
      // after the API's "invalid JSON body: " (whose "body" is not the field).
      const rest = m.replace(/^invalid JSON body:\s*/, '');
      // A body template that does not compile fails as the body is read.
      if (/\btemplate\b/.test(rest)) return 'body';
      for (const f of ['status', 'delay_ms', 'headers', 'body', 'max_requests', 'ttl_seconds', 'forward_url']) {
        if (rest.includes(f)) return f;
      }
      return null;
    }
    default:
      return null;
  }
}
