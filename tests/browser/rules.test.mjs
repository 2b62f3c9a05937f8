// Browser tests of response rules and routing (issue 20) in the page: the
// routing document typed in Settings and saved with the other settings in
// one PATCH, what each capture was answered in its detail, a bad document
// shown at its field with nothing changed, export and import, and a path
// whose custom response is a template keeping it.
//
// Run: node --test tests/browser/   (or tests/browser/run.sh)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BASE, INGEST, api, newPath, launch, openPage, waitLive } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

async function openSettings(page) {
  await page.click('#open-settings');
  await page.locator('#settings-dialog').waitFor({ state: 'visible' });
}

async function saved(page) {
  await page.waitForFunction(() => document.getElementById('toast').textContent === 'Settings saved');
}

// A rules change reaches ingest within about a second: poll with GET,
// which only the probe rule takes (the counted rule's `when` is POST, so
// probes do not count towards its sequence).
async function waitRulesLive(pathId) {
  for (let i = 0; i < 50; i++) {
    const r = await fetch(`${INGEST}/webhook/${pathId}/probe`, { method: 'GET' });
    await r.arrayBuffer();
    if (r.status === 204) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.fail('the rules never became live');
}

async function openDetail(page, pathId, id) {
  await page.goto(`${BASE}/#/p/${pathId}/r/${id}`);
  await page.waitForFunction((x) => document.getElementById('detail-meta').textContent.includes(x), id);
}

test('rules: typed in Settings, saved in one PATCH, each capture shows what it was answered and by which rule', async () => {
  const pathId = await newPath('rul');
  const mirror = await newPath('mir');
  const { context, page, problems } = await openPage(browser);
  try {
    await page.goto(`${BASE}/#/p/${pathId}`);
    await waitLive(page);
    await openSettings(page);
    assert.match(await page.textContent('#routing-rules'), /No rules/);
    assert.deepEqual(JSON.parse(await page.inputValue('#s-routing')), { rules: [], targets: [] });

    const doc = {
      rules: [
        {
          name: 'fail first two',
          when: { method: 'POST' },
          sequence: { first: 2 },
          response: {
            status: 503,
            headers: [['Content-Type', 'application/json'], ['Retry-After', '1']],
            body_template: '{"failed":"{{ request.id }}","n":"{{ request.query.n }}"}',
          },
        },
        { name: 'probe', when: { method: 'GET' }, response: { status: 204 } },
      ],
      targets: [{ name: 'mirror', url: `${INGEST}/webhook/${mirror}`, when: { method: 'POST' } }],
    };
    await page.fill('#s-routing', JSON.stringify(doc, null, 2));
    // The summary follows the field before it is saved.
    await page.waitForFunction(() => /Changed/.test(document.getElementById('routing-note').textContent));
    assert.match(await page.textContent('#routing-rules'), /1\. fail first two — POST, first 2 → 503 \(template\)/);
    assert.match(await page.textContent('#routing-targets'), new RegExp(`mirror → ${INGEST}/webhook/${mirror} \\(filtered\\)`));
    // Saved with another setting, in the same request.
    await page.fill('#s-max_requests', '40');
    const patch = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith(`/api/paths/${pathId}`));
    await page.click('#settings-save');
    const sent = JSON.parse((await patch).postData());
    assert.equal(sent.max_requests, 40);
    assert.equal(sent.rules.length, 2);
    assert.equal(sent.targets[0].name, 'mirror');
    await saved(page);
    assert.equal(await page.locator('#routing-note').isVisible(), false, 'saved: nothing pending');
    await page.click('#settings-cancel');
    const stored = (await api('GET', `/api/paths/${pathId}`)).json;
    assert.equal(stored.max_requests, 40);
    assert.equal(stored.rules[0].name, 'fail first two');
    assert.equal(stored.targets[0].url, `${INGEST}/webhook/${mirror}`);

    await waitRulesLive(pathId);
    const answers = [];
    for (let n = 1; n <= 3; n++) {
      const res = await fetch(`${INGEST}/webhook/${pathId}/order?n=${n}`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"n":${n}}`,
      });
      answers.push({ status: res.status, body: JSON.parse(await res.text()) });
    }
    assert.deepEqual(answers.map((a) => a.status), [503, 503, 200]);
    const [first, , third] = [answers[0].body.failed, answers[1].body.failed, answers[2].body.request_id];
    assert.equal(answers[0].body.n, '1');

    // The list says what each was answered (the probes were answered by rule 2).
    await page.waitForFunction((ids) => ids.every((id) => document.querySelector(`.capture-row[data-id="${id}"]`)), [first, third]);
    const tag = (id) => page.textContent(`.capture-row[data-id="${id}"] .answer-tag`);
    assert.equal(await tag(first), '503 · rule 1');
    assert.equal(await tag(third), '200');

    // First: answered by the rule, its headers and body as sent.
    await openDetail(page, pathId, first);
    await page.locator('#answer').waitFor({ state: 'visible' });
    assert.equal(await page.textContent('#answer-summary'), 'Answered 503 by rule 1 (fail first two)');
    assert.match(await page.textContent('#answer-headers'), /Retry-After\s*1/i);
    assert.equal(await page.textContent('#answer-body'), `{"failed":"${first}","n":"1"}`);
    assert.equal(await page.locator('#answer-error').isVisible(), false);
    // Third: no rule matched, the default receipt.
    await openDetail(page, pathId, third);
    await page.waitForFunction(() => /no rule matched/.test(document.getElementById('answer-summary').textContent));
    assert.equal(await page.textContent('#answer-summary'), 'Answered 200, no rule matched');
    assert.match(await page.textContent('#answer-body'), new RegExp(third));

    // The target's attempts carry its name, and can be picked by it.
    await openSettings(page);
    await page.locator('#forward-log-box summary').click();
    await page.waitForFunction(async () => {
      document.getElementById('forward-refresh').click();
      await new Promise((r) => setTimeout(r, 300));
      return document.querySelectorAll('#forward-log tbody tr.ok').length >= 3;
    }, undefined, { timeout: 15000, polling: 500 });
    const cells = await page.$$eval('#forward-log tbody tr', (rows) => rows.map((r) => r.cells[1].textContent));
    assert.ok(cells.every((c) => c === 'mirror'), cells.join());
    await page.selectOption('#forward-target', 'mirror');
    await page.waitForFunction(() => document.querySelectorAll('#forward-log tbody tr.ok').length >= 3);
    await page.click('#settings-cancel');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
    await api('DELETE', `/api/paths/${mirror}`);
  }
});

test('rules: a bad document is shown at the routing field and changes nothing; export and import', async () => {
  const pathId = await newPath('rbad');
  const before = { rules: [{ name: 'teapot', response: { status: 418 } }] };
  assert.equal((await api('PUT', `/api/paths/${pathId}/routing`, before)).status, 200);
  const routingBefore = (await api('GET', `/api/paths/${pathId}/routing`)).json;
  const { context, page, problems } = await openPage(browser);
  try {
    await page.goto(`${BASE}/#/p/${pathId}`);
    await waitLive(page);
    await openSettings(page);
    assert.equal(await page.textContent('#routing-rules'), '1. teapot — every request → 418');
    assert.match(await page.textContent('#routing-targets'), /No forward targets/);

    // The API's message, at the field; nothing stored, not even the
    // other setting saved with it.
    const bad = {
      rules: [
        { response: { status: 200 } },
        { when: { header: { name: 'x-event', regex: '(' } }, response: { status: 500 } },
      ],
    };
    await page.fill('#s-routing', JSON.stringify(bad));
    await page.fill('#s-ttl_seconds', '120');
    await page.click('#settings-save');
    const err = page.locator('#s-routing-error');
    await err.waitFor({ state: 'visible' });
    assert.match(await err.textContent(), /^rules\[1\]\.when\.header\.regex: .*regex/);
    assert.equal(await page.getAttribute('#s-routing', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 's-routing');
    assert.deepEqual((await api('GET', `/api/paths/${pathId}/routing`)).json, routingBefore);
    assert.equal((await api('GET', `/api/paths/${pathId}`)).json.ttl_seconds, undefined);

    // Not JSON: said at the field, no request made.
    let patched = 0;
    page.on('request', (r) => { if (r.method() === 'PATCH') patched++; });
    await page.fill('#s-routing', '{"rules": [');
    await page.click('#settings-save');
    await page.waitForFunction(() => /not valid JSON/.test(document.getElementById('s-routing-error').textContent));
    assert.match(await page.textContent('#routing-note'), /not valid yet/);
    assert.equal(patched, 0);
    assert.equal(await page.textContent('#routing-rules'), '1. teapot — every request → 418', 'the saved rules still listed');

    // Export downloads the field's document.
    await page.fill('#s-routing', JSON.stringify(routingBefore));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#routing-export')]);
    assert.equal(download.suggestedFilename(), `${pathId}-routing.json`);
    const exported = JSON.parse(await readFile(await download.path(), 'utf8'));
    assert.deepEqual(exported, { rules: routingBefore.rules, targets: [] });

    // Import loads a file into the field for review; Save applies it.
    const next = { rules: [{ name: 'created', when: { method: 'PUT' }, response: { status: 201 } }] };
    await page.setInputFiles('#routing-file', {
      name: 'next-routing.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(next)),
    });
    await page.waitForFunction(() => /created/.test(document.getElementById('s-routing').value));
    assert.deepEqual(JSON.parse(await page.inputValue('#s-routing')), next);
    assert.equal(await page.textContent('#routing-rules'), '1. created — PUT → 201');
    assert.deepEqual((await api('GET', `/api/paths/${pathId}/routing`)).json, routingBefore, 'not applied yet');
    await page.fill('#s-ttl_seconds', '');
    await page.click('#settings-save');
    await saved(page);
    const after = (await api('GET', `/api/paths/${pathId}/routing`)).json;
    assert.equal(after.rules.length, 1);
    assert.equal(after.rules[0].name, 'created');
    assert.deepEqual(after.targets, []);
    // A file that is not JSON is refused at the field.
    await page.setInputFiles('#routing-file', { name: 'x.json', mimeType: 'application/json', buffer: Buffer.from('nope') });
    await page.waitForFunction(() => /x\.json is not valid JSON/.test(document.getElementById('s-routing-error').textContent));
    await page.click('#settings-cancel');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
  }
});

test('rules: a custom response whose body is a template keeps it through Settings', async () => {
  const pathId = await newPath('rtpl');
  const template = '{"seen":"{{ request.method }} {{ pointer(\'/order/id\') }}"}';
  const r = await api('PATCH', `/api/paths/${pathId}`, {
    response: { status: 202, headers: [['Content-Type', 'application/json']], body_template: template },
  });
  assert.equal(r.status, 200, r.text);
  const { context, page, problems } = await openPage(browser);
  try {
    await page.goto(`${BASE}/#/p/${pathId}`);
    await waitLive(page);
    await openSettings(page);
    assert.equal(await page.isChecked('#s-body-template'), true);
    assert.equal(await page.inputValue('#s-body'), template);
    // Saving another setting keeps the template, and no routing is sent.
    await page.fill('#s-delay_ms', '10');
    const patch = page.waitForRequest((q) => q.method() === 'PATCH');
    await page.click('#settings-save');
    const sent = JSON.parse((await patch).postData());
    assert.ok(!('rules' in sent) && !('targets' in sent), 'an unchanged document is not sent');
    await saved(page);
    let p = (await api('GET', `/api/paths/${pathId}`)).json;
    assert.equal(p.response.body_template, template);
    assert.equal(p.response.body, '');
    assert.equal(p.response.delay_ms, 10);
    // A template that does not compile: the API's message, at the body.
    await page.fill('#s-body', '{{ oops ');
    await page.click('#settings-save');
    await page.locator('#s-body-error').waitFor({ state: 'visible' });
    assert.match(await page.textContent('#s-body-error'), /template/);
    assert.equal(await page.getAttribute('#s-body', 'aria-invalid'), 'true');
    // Unchecked, the same text is a plain body.
    await page.fill('#s-body', 'plain {{ x }}');
    await page.setChecked('#s-body-template', false);
    await page.click('#settings-save');
    await saved(page);
    p = (await api('GET', `/api/paths/${pathId}`)).json;
    assert.equal(p.response.body, 'plain {{ x }}');
    assert.equal(p.response.body_template, undefined);
    await page.click('#settings-cancel');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await api('DELETE', `/api/paths/${pathId}`);
  }
});
