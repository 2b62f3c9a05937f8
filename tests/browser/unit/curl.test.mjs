// The page's fallback curl builder (query/assets/js/curl.js), checked the
// only way that counts: each command is run with bash against a local
// server that records what arrives, and compared with the capture.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const { buildCurl, isHopByHop } = await import(new URL('../../../query/assets/js/curl.js', import.meta.url).href);

let server;
let base;
let last;

before(async () => {
  server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      last = { method: req.method, url: req.url, headers: req.rawHeaders, body: Buffer.concat(chunks) };
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

// The command goes to bash on stdin, as a paste into a terminal would: as
// an argument, a 200 KiB script would itself be "Argument list too long".
function run(cmd) {
  return new Promise((resolve, reject) => {
    const child = execFile('bash', ['-s'], { maxBuffer: 1 << 24, timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout);
    });
    child.stdin.end(`set -e -o pipefail\n${cmd}\n`);
  });
}

function detail(method, headers, body) {
  const isText = (() => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(body);
      return true;
    } catch (_) {
      return false;
    }
  })();
  return isText
    ? { method, headers, body_encoding: 'utf8', body: body.toString('utf8') }
    : { method, headers, body_encoding: 'base64', body_base64: body.toString('base64') };
}

async function roundTrip(d, body, suffix = '/sub/path?a=1&a=2&b=%20') {
  const cmd = buildCurl(d, new Uint8Array(body), `${base}${suffix}`);
  await run(cmd);
  assert.equal(last.method, d.method);
  assert.equal(last.url, suffix);
  assert.ok(last.body.equals(body), `body differs: got ${last.body.length} bytes, want ${body.length}`);
  const got = [];
  for (let i = 0; i < last.headers.length; i += 2) got.push([last.headers[i].toLowerCase(), last.headers[i + 1]]);
  for (const [k, v] of d.headers) {
    if (isHopByHop(k)) continue;
    assert.ok(got.some(([gk, gv]) => gk === k.toLowerCase() && gv === v), `header ${k}: ${v} missing in ${JSON.stringify(got)}`);
  }
  // Nothing hop-by-hop was announced by the command itself.
  assert.ok(!got.some(([k, v]) => k === 'transfer-encoding' && v === 'chunked' && body.length === 0));
  return cmd;
}

test('curl: a chunked request with an empty body', async () => {
  const cmd = await roundTrip(detail('POST', [['Transfer-Encoding', 'chunked'], ['Connection', 'keep-alive'], ['X-A', '1']], Buffer.alloc(0)), Buffer.alloc(0));
  assert.doesNotMatch(cmd, /transfer-encoding/i);
});

test('curl: a 200 KiB JSON body (over the argument limit)', async () => {
  const obj = { items: Array.from({ length: 8000 }, (_, i) => ({ i, s: `value-${i}-'quoted'` })) };
  const text = JSON.stringify(obj);
  assert.ok(text.length > 200 * 1024);
  const body = Buffer.from(text); // valid JSON, over 200 KiB
  const cmd = await roundTrip(detail('PUT', [['Content-Type', 'application/json']], body), body);
  assert.match(cmd, /<<'CL_BODY'/);
});

test('curl: a binary body', async () => {
  const body = randomBytes(5000);
  body[0] = 0xff;
  await roundTrip(detail('POST', [['Content-Type', 'application/octet-stream']], body), body);
  const small = Buffer.from([0x1f, 0x8b, 0x00, 0xff]);
  await roundTrip(detail('PATCH', [], small), small);
});

test('curl: a body starting with @ and odd headers', async () => {
  const body = Buffer.from('@/etc/passwd');
  await roundTrip(detail('POST', [['Content-Type', 'text/plain'], ['X-Empty', ''], ['X-Quote', "it's"]], body), body);
});
