// A path's routing document (response rules and forward targets) and a
// capture's recorded answer, as one line of text each. Pure, unit-tested
// in node. The shapes are the API's (GET /api/paths/{id}/routing).

const quote = (v) => JSON.stringify(v);

function field(kind, f) {
  if (!f || typeof f !== 'object') return `${kind} ?`;
  const name = `${kind} ${f.name}`;
  if (f.exists === false || f.present === false) return `${name} absent`;
  if (f.equals !== undefined && f.equals !== null) return `${name} = ${quote(f.equals)}`;
  if (typeof f.regex === 'string') return `${name} ~ /${f.regex}/`;
  return `${name} present`;
}

function jsonField(f) {
  if (!f || typeof f !== 'object') return 'json ?';
  const p = `json ${f.pointer}`;
  if (f.exists === false || f.present === false) return `${p} absent`;
  if (f.equals !== undefined) return `${p} = ${quote(f.equals)}`;
  if (typeof f.regex === 'string') return `${p} ~ /${f.regex}/`;
  return `${p} present`;
}

// One condition (a one-key object) as text: `POST and header x-event = "push"`.
// `nested` wraps a combination in parentheses.
export function describeCondition(c, nested = false) {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return quote(c);
  const [kind, v] = Object.entries(c)[0] || [];
  switch (kind) {
    case 'method':
      return Array.isArray(v) ? v.map(String).join('|') : String(v);
    case 'subpath':
      return `subpath ${v}`;
    case 'query':
    case 'header':
      return field(kind, v);
    case 'json':
      return jsonField(v);
    case 'all':
    case 'any': {
      const list = Array.isArray(v) ? v : [];
      if (list.length === 0) return kind === 'all' ? 'always' : 'never';
      if (list.length === 1) return describeCondition(list[0], nested);
      const text = list.map((x) => describeCondition(x, true)).join(kind === 'all' ? ' and ' : ' or ');
      return nested ? `(${text})` : text;
    }
    case 'not':
      return `not ${describeCondition(v, true)}`;
    default:
      return quote(c);
  }
}

export function describeSequence(s) {
  if (!s || typeof s !== 'object') return '';
  let text;
  if (s.first != null) text = `first ${s.first}`;
  else if (s.from != null && s.to != null) text = `requests ${s.from}–${s.to}`;
  else if (s.from != null) text = `from request ${s.from} on`;
  else if (s.to != null) text = `first ${s.to}`;
  else text = 'every request';
  return s.count === 'path' ? `${text} of the path` : text;
}

// "1. fail first three — first 3 → 500" (index is 0-based, shown from 1).
export function ruleSummary(rule, index) {
  const r = rule && typeof rule === 'object' ? rule : {};
  const parts = [];
  if (r.when !== undefined && r.when !== null) parts.push(describeCondition(r.when));
  if (r.sequence) parts.push(describeSequence(r.sequence));
  const res = r.response && typeof r.response === 'object' ? r.response : {};
  let answer = `→ ${res.status ?? '?'}`;
  if (typeof res.body_template === 'string') answer += ' (template)';
  if (res.delay_ms) answer += ` after ${res.delay_ms} ms`;
  const name = typeof r.name === 'string' && r.name !== '' ? `${r.name} — ` : '';
  return `${index + 1}. ${name}${parts.join(', ') || 'every request'} ${answer}`;
}

// "billing → http://127.0.0.1:9000/hook (filtered, transformed)".
export function targetSummary(target) {
  const t = target && typeof target === 'object' ? target : {};
  const flags = [];
  if (t.when !== undefined && t.when !== null) flags.push('filtered');
  if (t.transform) flags.push('transformed');
  if (t.retry && t.retry.max_attempts != null) flags.push(`${t.retry.max_attempts} tries`);
  return `${t.name ?? '?'} → ${t.url ?? '?'}${flags.length ? ` (${flags.join(', ')})` : ''}`;
}

// A capture's recorded answer (detail.response): "Answered 500 by rule 1
// (fail first three) after 10 ms", or "Answered 200, no rule matched".
export function answerSummary(r) {
  if (!r || typeof r !== 'object') return '';
  let text = `Answered ${r.status}`;
  if (r.rule !== undefined && r.rule !== null) {
    text += ` by rule ${Number(r.rule) + 1}`;
    if (r.rule_name) text += ` (${r.rule_name})`;
  } else {
    text += ', no rule matched';
  }
  if (r.delay_ms) text += ` after ${r.delay_ms} ms`;
  return text;
}

// A capture summary's answer (answer_status, answer_rule) for its list row:
// "503 · rule 1", "200"; '' when the path had no rules.
export function answerTag(s) {
  if (!s || s.answer_status === undefined || s.answer_status === null) return '';
  return s.answer_rule !== undefined && s.answer_rule !== null
    ? `${s.answer_status} · rule ${Number(s.answer_rule) + 1}`
    : String(s.answer_status);
}
