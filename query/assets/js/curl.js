// A curl command from a capture detail. The service's own
// GET /api/paths/{id}/logs/{request_id}/curl is the one implementation the
// page shows; this builder is only the fallback for a server that does not
// have that endpoint yet, and follows the same rules. Pure, unit-tested.

import { bytesToBase64, headerValueBytes } from './bytes.js';

// Hop-by-hop headers (RFC 9110 7.6.1) describe one connection, not the
// request; replaying `Transfer-Encoding: chunked` with an empty body makes
// curl announce a body it never sends. Content-Length curl computes itself.
export const HOP_BY_HOP = new Set([
  'connection', 'transfer-encoding', 'keep-alive', 'te', 'trailer', 'upgrade',
  'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'content-length', 'host',
]);

export function isHopByHop(name) {
  const lower = String(name).toLowerCase();
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-');
}

// Bodies above this go through a here-document rather than one argument
// (Linux refuses a single argument over 128 KiB: "Argument list too long").
export const INLINE_BODY_LIMIT = 64 * 1024;

export function shq(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

// bash ANSI-C quoting for byte strings that are not valid text.
export function ansiC(bytes) {
  let s = "$'";
  for (const b of bytes) {
    if (b === 0x27) s += "\\'";
    else if (b === 0x5c) s += '\\\\';
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${s}'`;
}

// base64 wrapped at 76 columns, for a here-document.
function wrap(b64) {
  const out = [];
  for (let i = 0; i < b64.length; i += 76) out.push(b64.slice(i, i + 76));
  return out.join('\n');
}

export function buildCurl(d, bodyBytes, url) {
  const method = String(d.method || 'GET');
  const methodArg = /^[A-Za-z0-9_-]+$/.test(method) ? method : shq(method);
  const args = [method === 'HEAD' ? '-I' : `-X ${methodArg}`, shq(url)];
  const present = new Set();
  for (const [name, value] of d.headers || []) {
    const lower = String(name).toLowerCase();
    present.add(lower);
    if (isHopByHop(lower)) continue;
    const raw = headerValueBytes(value);
    if (raw) {
      const nameBytes = new TextEncoder().encode(`${name}: `);
      const all = new Uint8Array(nameBytes.length + raw.length);
      all.set(nameBytes);
      all.set(raw, nameBytes.length);
      args.push(`-H ${ansiC(all)}`);
    } else if (String(value) === '') {
      // `Name:` would make curl drop the header; `Name;` sends it empty.
      args.push(`-H ${shq(`${name};`)}`);
    } else {
      args.push(`-H ${shq(`${name}: ${value}`)}`);
    }
  }
  const hasBody = bodyBytes.length > 0;
  // Keep curl from adding headers the original request did not carry.
  if (!present.has('user-agent')) args.push(`-H ${shq('User-Agent:')}`);
  if (!present.has('accept')) args.push(`-H ${shq('Accept:')}`);
  if (hasBody && !present.has('content-type')) args.push(`-H ${shq('Content-Type:')}`);

  let prefix = '';
  let suffix = '';
  if (hasBody) {
    const text = d.body_encoding === 'utf8' && typeof d.body === 'string' ? d.body : null;
    if (text !== null && !text.includes('\0') && bodyBytes.length <= INLINE_BODY_LIMIT) {
      // --data-binary would read a file for a leading '@'; --data-raw never does.
      args.push(`${text.startsWith('@') ? '--data-raw' : '--data-binary'} ${shq(text)}`);
    } else if (bodyBytes.length <= 1024) {
      prefix = `echo ${shq(bytesToBase64(bodyBytes))} | base64 -d | `;
      args.push('--data-binary @-');
    } else {
      // A quoted here-document is not an argument, so no size limit applies.
      prefix = 'base64 -d <<\'CL_BODY\' | ';
      args.push('--data-binary @-');
      suffix = `\n${wrap(bytesToBase64(bodyBytes))}\nCL_BODY`;
    }
  }
  const lines = [`${prefix}curl ${args[0]} ${args[1]}`];
  for (const a of args.slice(2)) lines.push(`  ${a}`);
  return lines.join(' \\\n') + suffix;
}
