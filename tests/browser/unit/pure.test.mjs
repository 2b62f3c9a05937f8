// Unit tests of the page's pure modules (query/assets/js), in node: no
// browser, no server. Run with the browser tests (node --test tests/browser/).

import { test } from 'node:test';
import assert from 'node:assert/strict';

const js = (m) => new URL(`../../../query/assets/js/${m}`, import.meta.url).href;
const { hexDump, base64ToBytes, bytesToBase64, bodyBytesOf } = await import(js('bytes.js'));
const { humanSize, parseForm, tryJson, pathAndQuery, mediaType } = await import(js('format.js'));
const F = await import(js('filters.js'));
const { CaptureWindow, cursorAfter } = await import(js('window.js'));
const { detectProvider, providerFromSummary, badgeText } = await import(js('provider.js'));
const { diffLines, headerLines, bodyLines, countChanges } = await import(js('diff.js'));
const S = await import(js('settings-model.js'));

test('hexDump: layout, empty, limit', () => {
  const bytes = new TextEncoder().encode('{"event":"push",');
  assert.equal(hexDump(bytes, 1024),
    '00000000  7b 22 65 76 65 6e 74 22  3a 22 70 75 73 68 22 2c  |{"event":"push",|\n00000010');
  assert.equal(hexDump(new Uint8Array(0), 10), '(empty)');
  const long = hexDump(new Uint8Array(40), 16);
  assert.match(long, /… 24 more bytes not shown/);
});

test('base64 round trip, including bytes over 0x7f and long input', () => {
  const b = new Uint8Array(70000).map((_, i) => (i * 31) & 0xff);
  assert.deepEqual(base64ToBytes(bytesToBase64(b)), b);
  assert.deepEqual(bodyBytesOf({ body_encoding: 'base64', body_base64: 'AP8=' }), new Uint8Array([0, 255]));
  assert.deepEqual(bodyBytesOf({ body_encoding: 'utf8', body: 'é' }), new Uint8Array([0xc3, 0xa9]));
});

test('format helpers', () => {
  assert.equal(humanSize(512), '512 B');
  assert.equal(humanSize(2048), '2.0 KiB');
  assert.equal(humanSize(200 * 1024), '200 KiB');
  assert.deepEqual(parseForm('a=1&b=x+y&a=%40&c'), [['a', '1'], ['b', 'x y'], ['a', '@'], ['c', '']]);
  assert.equal(tryJson('{"a":1}'), '{\n  "a": 1\n}');
  assert.equal(tryJson('{'), null);
  assert.equal(pathAndQuery({ subpath: '', query_string: 'x=1' }), '/?x=1');
  assert.equal(mediaType('Application/JSON; charset=utf-8'), 'application/json');
});

test('filters: URL round trip in a fixed order, API and replay shapes', () => {
  const f = F.parseFilters('q=hello%20world&method=post&header=x-a%3A1&junk=1&since=');
  assert.deepEqual(f, { method: 'POST', header: 'x-a:1', q: 'hello world' });
  assert.equal(F.filtersToQuery(f), 'method=POST&header=x-a%3A1&q=hello+world');
  assert.deepEqual(F.parseFilters(F.filtersToQuery(f)), f);
  assert.ok(F.hasFilters(f));
  assert.ok(!F.hasFilters({}));
  assert.deepEqual(F.replayFilter(f), f);
  assert.match(F.describeFilters(f), /method POST, header x-a:1, body containing “hello world”/);
});

test('filters: what a summary decides alone, and what needs the API', () => {
  const s = { method: 'POST', received_at: '2026-01-01T12:00:00Z', signature: 'valid' };
  assert.equal(F.matchesSummary({}, s), true);
  assert.equal(F.matchesSummary({ method: 'GET' }, s), false);
  assert.equal(F.matchesSummary({ method: 'POST' }, s), true);
  assert.equal(F.matchesSummary({ since: '2026-01-01T12:00:00Z' }, s), true, 'since is inclusive');
  assert.equal(F.matchesSummary({ until: '2026-01-01T12:00:00Z' }, s), false, 'until is exclusive');
  assert.equal(F.matchesSummary({ signature: 'invalid' }, s), false);
  assert.equal(F.matchesSummary({ method: 'POST', q: 'x' }, s), null);
  assert.equal(F.matchesSummary({ method: 'GET', header: 'x' }, s), false, 'a summary miss needs no API call');
  const iso = F.localInputToIso(F.isoToLocalInput('2026-03-04T05:06:07.000Z'));
  assert.equal(iso, '2026-03-04T05:06:07.000Z');
});

const sum = (n) => ({ id: `01900000-0000-7000-8000-${String(n).padStart(12, '0')}`, received_at: '' });

test('window: bounded while paging down; cursor and "newer" flags', () => {
  const w = new CaptureWindow(250);
  for (let p = 0; p < 5; p++) {
    const page = [];
    for (let i = 0; i < 100; i++) page.push(sum(100000 - p * 100 - i));
    w.appendPage(page, `c${p}`);
    assert.ok(w.size <= 250);
  }
  assert.equal(w.size, 250);
  assert.equal(w.hasNewer, true);
  assert.equal(w.nextCursor, 'c4');
  // Newest first, contiguous.
  assert.equal(w.items[0].id, sum(100000 - 250).id);
  // A live capture while the newest end is not shown: counted, not added.
  assert.equal(w.addLive(sum(200000)).added, null);
  assert.equal(w.missedLive, 1);
});

test('window: live captures at the top push the oldest out and move the cursor', () => {
  const w = new CaptureWindow(3);
  w.appendPage([sum(5), sum(4), sum(3)], null);
  const r = w.addLive(sum(6));
  assert.equal(r.index, 0);
  assert.deepEqual(r.dropped.map((s) => s.id), [sum(3).id]);
  assert.deepEqual(w.items.map((s) => s.id), [sum(6).id, sum(5).id, sum(4).id]);
  assert.equal(w.nextCursor, cursorAfter(sum(4).id));
  assert.equal(cursorAfter(sum(4).id).length, 32);
  // Duplicates are ignored; an out-of-order one lands in its place.
  assert.equal(w.addLive(sum(5)).added, null);
  const late = w.addLive({ id: sum(5).id.replace(/5$/, '4') + '' });
  assert.equal(late.added, null, 'equal id already present');
  const mid = new CaptureWindow(10);
  mid.appendPage([sum(9), sum(7)], null);
  assert.equal(mid.addLive(sum(8)).index, 1);
});

test('provider and event badges', () => {
  const gh = detectProvider({ headers: [['X-GitHub-Event', 'pull_request']], body: '{"action":"opened"}' });
  assert.deepEqual(gh, { provider: 'GitHub', event: 'pull_request.opened' });
  assert.equal(badgeText(gh), 'GitHub · pull_request.opened');
  assert.deepEqual(detectProvider({ headers: [['Stripe-Signature', 't=1,v1=x']], body: '{"type":"invoice.paid"}' }),
    { provider: 'Stripe', event: 'invoice.paid' });
  assert.deepEqual(detectProvider({ headers: [['X-Shopify-Topic', 'orders/create']], body: '' }),
    { provider: 'Shopify', event: 'orders/create' });
  assert.deepEqual(detectProvider({ headers: [['X-Slack-Signature', 'v0=1']], body: '{"type":"event_callback","event":{"type":"app_mention"}}' }),
    { provider: 'Slack', event: 'app_mention' });
  assert.deepEqual(detectProvider({ headers: [['webhook-id', 'msg_1'], ['webhook-signature', 'v1,x']], body: '{"type":"user.created"}' }),
    { provider: 'Standard Webhooks', event: 'user.created' });
  assert.equal(detectProvider({ headers: [['content-type', 'text/plain']], body: 'x' }), null);
  assert.equal(providerFromSummary({ user_agent: 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' }), 'Stripe');
});

test('diff: same, changed, added, removed lines; JSON compared pretty', () => {
  const { rows } = diffLines(['a', 'b', 'c', 'd'], ['a', 'B', 'c', 'e', 'f']);
  assert.deepEqual(rows.map((r) => r.kind), ['same', 'change', 'same', 'change', 'add']);
  assert.equal(countChanges(rows), 3);
  assert.deepEqual(bodyLines('{"a":1,"b":2}'), ['{', '  "a": 1,', '  "b": 2', '}']);
  assert.equal(countChanges(diffLines(bodyLines('{"a":1}'), bodyLines('{ "a" : 1 }')).rows), 0);
  assert.deepEqual(headerLines([['a', 'x'], ['b', { base64: 'AP8=' }]]), ['a: x', 'b: [base64] AP8=']);
  const big = Array.from({ length: 3100 }, (_, i) => String(i));
  const r = diffLines(big, big.slice(0, 3050));
  assert.equal(r.truncated, true);
  assert.equal(countChanges(r.rows), 50);
});

test('settings: form values to PATCH, and API errors to their field', () => {
  const patch = S.settingsPatch({
    custom: true, status: '418', headers: 'X-A: 1\n\nX-B:two:parts', body: 'hi', delay_ms: '',
    max_requests: '', ttl_seconds: '3600', forward_url: ' ',
  });
  assert.deepEqual(patch, {
    response: { status: 418, headers: [['X-A', '1'], ['X-B', 'two:parts']], body: 'hi', delay_ms: 0 },
    max_requests: null, ttl_seconds: 3600, forward_url: null,
  });
  assert.equal(S.settingsPatch({ custom: false }).response, null);
  assert.equal(S.settingsPatch({ custom: true, status: 'abc' }).response.status, 'abc', 'the API judges it');
  assert.equal(S.errorField('invalid_response', 'response.status must be between 100 and 599'), 'status');
  assert.equal(S.errorField('invalid_response', 'response.delay_ms must be at most 30000'), 'delay_ms');
  assert.equal(S.errorField('invalid_response', 'response header "Content-Length" is not allowed'), 'headers');
  assert.equal(S.errorField('invalid_max_requests', ''), 'max_requests');
  assert.equal(S.errorField('invalid_ttl', ''), 'ttl_seconds');
  assert.equal(S.errorField('forward_not_allowed', ''), 'forward_url');
  assert.equal(S.errorField('invalid_json', 'invalid JSON body: response.status: invalid type'), 'status');
  const v = S.settingsValues({ response: { status: 201, headers: [['a', 'b']], body: '', delay_ms: 5 }, ttl_seconds: 60 });
  assert.equal(v.headers, 'a: b');
  assert.equal(v.ttl_seconds, '60');
  assert.equal(v.max_requests, '');
});

test('settings: a template body round trips as body_template, without body', () => {
  const path = { response: { status: 200, headers: [], body: '', body_template: '{"id":"{{ request.id }}"}', delay_ms: 0 } };
  const v = S.settingsValues(path);
  assert.equal(v.body_template, true);
  assert.equal(v.body, '{"id":"{{ request.id }}"}');
  const patch = S.settingsPatch({ ...v, routing: undefined });
  assert.deepEqual(patch.response, { status: 200, headers: [], body_template: '{"id":"{{ request.id }}"}', delay_ms: 0 });
  assert.ok(!('body' in patch.response), 'body is omitted');
  // Unchecked: the same text is a plain body again.
  const plain = S.settingsPatch({ ...v, body_template: false, routing: undefined });
  assert.deepEqual(plain.response, { status: 200, headers: [], body: '{"id":"{{ request.id }}"}', delay_ms: 0 });
  assert.equal(S.settingsValues({ response: { status: 201, headers: [], body: 'x', delay_ms: 0 } }).body_template, false);
  assert.equal(S.errorField('invalid_response', 'response.body_template: syntax error: unexpected end'), 'body');
  assert.equal(S.errorField('invalid_response', 'give response.body or response.body_template, not both'), 'body');
  assert.equal(S.errorField('invalid_json', 'invalid JSON body: invalid template: syntax error: unexpected end of input'), 'body');
  assert.equal(S.errorField('invalid_json', 'invalid JSON body: max_requests: invalid type: string'), 'max_requests',
    'the prefix\'s "body" is not the field');
});

test('settings: the routing document goes into the same PATCH, only when changed', () => {
  const rules = [{ name: 'fail first three', sequence: { count: 'rule', first: 3 }, response: { status: 500, headers: [], body: '', delay_ms: 0 } }];
  const targets = [{ name: 'billing', url: 'http://127.0.0.1:9000/hook', when: { method: 'POST' } }];
  const path = { rules, targets, max_requests: 5 };
  const v = S.settingsValues(path);
  assert.deepEqual(JSON.parse(v.routing), { rules, targets });
  assert.equal(v.routing, JSON.stringify({ rules, targets }, null, 2), 'pretty-printed');
  assert.equal(S.settingsValues({}).routing, JSON.stringify({ rules: [], targets: [] }, null, 2));

  // Unchanged (even with its keys in another order): not sent, so the
  // sequence counts go on.
  const same = S.settingsPatch(v, path);
  assert.ok(!('rules' in same) && !('targets' in same));
  const reordered = JSON.stringify({ targets, rules: [{ response: rules[0].response, sequence: { first: 3, count: 'rule' }, name: 'fail first three' }] });
  assert.ok(!('rules' in S.settingsPatch({ ...v, routing: reordered }, path)));

  // Changed: both sent with the other settings; a missing key clears it.
  const edited = S.settingsPatch({ ...v, routing: '{"rules": [{"response": {"status": 503}}]}' }, path);
  assert.deepEqual(edited.rules, [{ response: { status: 503 } }]);
  assert.equal(edited.targets, null);
  assert.equal(edited.max_requests, 5);
  // Blank or {} clears both; no previous path: always sent.
  assert.deepEqual(pick(S.settingsPatch({ ...v, routing: '  ' }, path)), { rules: null, targets: null });
  assert.deepEqual(pick(S.settingsPatch({ ...v, routing: '{}' }, path)), { rules: null, targets: null });
  assert.deepEqual(pick(S.settingsPatch({ ...v, routing: v.routing })), { rules, targets });
  // Inside the document, the API judges (a wrong type is passed on).
  assert.equal(S.settingsPatch({ ...v, routing: '{"rules": {"x": 1}}' }, path).rules.x, 1);
});

function pick(p) {
  return { rules: p.rules, targets: p.targets };
}

test('settings: a routing field that is not a document is a FieldError at routing, before any request', () => {
  const bad = ['{"rules": [', '[]', '"x"', 'null', '{"rules": [], "target": []}'];
  for (const text of bad) {
    assert.throws(() => S.settingsPatch({ custom: false, routing: text }), (e) => {
      assert.ok(e instanceof S.FieldError, text);
      assert.equal(e.field, 'routing');
      assert.match(e.message, /^document: /);
      return true;
    }, text);
  }
  assert.throws(() => S.parseRouting('{"rules": [}'), /document: not valid JSON/);
  assert.throws(() => S.parseRouting('{"x": 1}'), /unknown field "x"/);
});

test('settings: invalid_routing errors belong to the routing field', () => {
  for (const m of [
    'rules[1].when.header.regex: invalid regex: regex parse error',
    'targets[0].url: not allowed by the replay allowlist',
    'rules: at most 100 rules per path',
    'targets: at most 20 targets per path',
    'document: unknown field `x`',
  ]) assert.equal(S.errorField('invalid_routing', m), 'routing', m);
  assert.equal(S.errorField('invalid_response', 'response.status must be between 100 and 599'), 'status');
});

test('routing: one line per rule and target, and the recorded answer', async () => {
  const R = await import(js('routing.js'));
  assert.equal(R.ruleSummary({ name: 'fail first three', sequence: { count: 'rule', first: 3 }, response: { status: 500 } }, 0),
    '1. fail first three — first 3 → 500');
  assert.equal(R.ruleSummary({ response: { status: 201 } }, 1), '2. every request → 201');
  assert.equal(R.ruleSummary({
    when: { all: [{ method: ['POST', 'PUT'] }, { header: { name: 'x-event', equals: 'push' } }] },
    sequence: { count: 'path', from: 4, to: 6 },
    response: { status: 202, body_template: '{{ request.id }}', delay_ms: 10 },
  }, 2), '3. POST|PUT and header x-event = "push", requests 4–6 of the path → 202 (template) after 10 ms');
  assert.equal(R.describeCondition({ any: [{ subpath: '/a/**' }, { not: { query: { name: 'tag', exists: false } } }] }),
    'subpath /a/** or not query tag absent');
  assert.equal(R.describeCondition({ not: { all: [{ json: { pointer: '/type', equals: 'invoice.paid' } }, { header: { name: 'x', regex: '^a' } }] } }),
    'not (json /type = "invoice.paid" and header x ~ /^a/)');
  assert.equal(R.describeCondition({ json: { pointer: '/order/id' } }), 'json /order/id present');
  assert.equal(R.describeSequence({ from: 4 }), 'from request 4 on');
  assert.equal(R.targetSummary({ name: 'billing', url: 'http://x/h', when: { method: 'POST' } }), 'billing → http://x/h (filtered)');
  assert.equal(R.targetSummary({ name: 'audit', url: 'http://y', transform: {}, retry: { max_attempts: 3, backoff_ms: 10 } }),
    'audit → http://y (transformed, 3 tries)');
  assert.equal(R.targetSummary({ name: 'plain', url: 'http://z' }), 'plain → http://z');
  assert.equal(R.answerSummary({ rule: 0, rule_name: 'fail first three', status: 500, headers: [], body: '', delay_ms: 10 }),
    'Answered 500 by rule 1 (fail first three) after 10 ms');
  assert.equal(R.answerSummary({ rule: 2, status: 201, headers: [], body: '', delay_ms: 0 }), 'Answered 201 by rule 3');
  assert.equal(R.answerSummary({ status: 200, headers: [], body: '{}', delay_ms: 0 }), 'Answered 200, no rule matched');
  assert.equal(R.answerSummary(null), '');
  assert.equal(R.answerTag({ answer_status: 503, answer_rule: 0 }), '503 · rule 1');
  assert.equal(R.answerTag({ answer_status: 200 }), '200');
  assert.equal(R.answerTag({ method: 'POST' }), '');
});
