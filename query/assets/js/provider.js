// What a capture says it is: the sender (GitHub, Stripe, Slack, Shopify,
// Standard Webhooks) and its event type. Pure, unit-tested in node.

function header(headers, name) {
  for (const [k, v] of headers || []) {
    if (String(k).toLowerCase() === name) return typeof v === 'string' ? v : null;
  }
  return null;
}

function json(d) {
  if (typeof d.body !== 'string' || d.body.length === 0 || d.body.length > 1 << 20) return null;
  const t = d.body.trimStart();
  if (t[0] !== '{') return null;
  try {
    return JSON.parse(t);
  } catch (_) {
    return null;
  }
}

function str(v) {
  return typeof v === 'string' && v !== '' ? v : null;
}

// From a summary alone (the list has no headers): the User-Agent senders use.
export function providerFromSummary(s) {
  const ua = String(s.user_agent || '');
  if (/^GitHub-Hookshot\//i.test(ua)) return 'GitHub';
  if (/^Stripe\//i.test(ua)) return 'Stripe';
  if (/Slackbot/i.test(ua)) return 'Slack';
  if (/^Shopify/i.test(ua)) return 'Shopify';
  return null;
}

// From a whole capture: {provider, event} or null.
export function detectProvider(d) {
  const h = d.headers || [];
  const gh = header(h, 'x-github-event');
  if (gh !== null) {
    const body = json(d);
    const action = body && str(body.action);
    return { provider: 'GitHub', event: action ? `${gh}.${action}` : gh };
  }
  const topic = header(h, 'x-shopify-topic');
  if (topic !== null) return { provider: 'Shopify', event: topic };
  if (header(h, 'stripe-signature') !== null || /^Stripe\//i.test(String(d.user_agent || ''))) {
    const body = json(d);
    return { provider: 'Stripe', event: (body && str(body.type)) || null };
  }
  if (header(h, 'x-slack-signature') !== null || /Slackbot/i.test(String(d.user_agent || ''))) {
    const body = json(d);
    let event = null;
    if (body) event = (body.event && str(body.event.type)) || str(body.type) || str(body.command);
    return { provider: 'Slack', event };
  }
  if (header(h, 'webhook-id') !== null && header(h, 'webhook-signature') !== null) {
    const body = json(d);
    return { provider: 'Standard Webhooks', event: (body && str(body.type)) || null };
  }
  const p = providerFromSummary(d);
  return p ? { provider: p, event: null } : null;
}

export function badgeText(b) {
  if (!b) return '';
  return b.event ? `${b.provider} · ${b.event}` : b.provider;
}
