// Retakes docs/screenshot.png (the README's) from the real page, with
// realistic captures sent to a running service from here, so their Host
// header is the service's own:
//
//   CL_BASE_URL=http://127.0.0.1:8080 node tests/browser/screenshot.mjs
//
// Not a test (node --test only runs *.test.mjs).

import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createHmac, randomUUID } from 'node:crypto';
import { BASE, api, sendWebhook, launch, openPage, uniqueId } from './lib.mjs';

const pathId = uniqueId('github-demo').slice(0, 24);
const r = await api('POST', '/api/paths', { path_id: pathId });
if (r.status !== 201) throw new Error(r.text);

const sign = (secret, body) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const push = JSON.stringify({
  ref: 'refs/heads/main',
  before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
  after: '59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5',
  repository: { id: 1296269, full_name: 'octo-org/webshop', private: false },
  pusher: { name: 'mona', email: 'mona@example.com' },
  commits: [{ id: '59b20b8d', message: 'Fix checkout rounding', author: { name: 'Mona' }, modified: ['src/cart.rs'] }],
});
await sendWebhook(pathId, '/shopify', {
  method: 'POST',
  headers: {
    'Content-Type': 'application/json', 'User-Agent': 'Shopify-Captain-Hook', 'X-Shopify-Topic': 'orders/create',
    'X-Shopify-Shop-Domain': 'webshop.myshopify.com', 'X-Shopify-Hmac-Sha256': 'XWmrwMey6OsLMeiZKwP4FppHH3cmAiiJJAweH5Jo4bM=',
  },
  body: JSON.stringify({ id: 820982911946154500, total_price: '199.00', currency: 'EUR' }),
});
await sendWebhook(pathId, '/slack/events', {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', 'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)', 'X-Slack-Request-Timestamp': String(Math.floor(Date.now() / 1000)), 'X-Slack-Signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503' },
  body: JSON.stringify({ type: 'event_callback', event: { type: 'app_mention', text: '<@U0LAN0Z89> deploy?' } }),
});
await sendWebhook(pathId, '/billing?account=acct_1Mx', {
  method: 'POST',
  headers: { 'Content-Type': 'application/json; charset=utf-8', 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)', 'Stripe-Signature': `t=${Math.floor(Date.now() / 1000)},v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd` },
  body: JSON.stringify({ id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy', type: 'invoice.paid', data: { object: { id: 'in_1NG8Dt', amount_paid: 19900 } } }),
});
await sendWebhook(pathId, '/form', {
  method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'curl/8.5.0' },
  body: 'name=Jane+Doe&plan=pro&seats=5',
});
const pushId = await sendWebhook(pathId, '/github?delivery=retry', {
  method: 'POST',
  headers: {
    'Content-Type': 'application/json', 'User-Agent': 'GitHub-Hookshot/2f1e7b1', 'X-GitHub-Event': 'push',
    'X-GitHub-Delivery': randomUUID(), 'X-GitHub-Hook-ID': '292430182', 'X-Hub-Signature-256': sign('demo-secret', push),
  },
  body: push,
});

const browser = await launch();
try {
  const { context, page } = await openPage(browser);
  await page.goto(`${BASE}/#/p/${pathId}/r/${pushId}`);
  await page.waitForFunction(() => document.querySelectorAll('#captures .capture-row').length === 5);
  await page.waitForFunction(() => /curl/.test(document.getElementById('curl-text').textContent));
  await page.waitForFunction(() => document.querySelectorAll('#captures .provider:not([hidden])').length >= 4);
  await page.waitForTimeout(1500);
  const dir = fileURLToPath(new URL('../../docs/', import.meta.url));
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: `${dir}screenshot.png` });
  await context.close();
  console.log(`docs/screenshot.png written (path ${pathId})`);
} finally {
  await browser.close();
}
