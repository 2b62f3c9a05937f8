// Bytes: base64 both ways and the hex dump. Pure (no DOM), unit-tested in node.

export function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToBase64(bytes) {
  let bin = '';
  const chunk = 0x8000; // String.fromCharCode.apply has an argument limit
  for (let i = 0; i < bytes.length; i += chunk) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  }
  return btoa(bin);
}

export const utf8Lossy = new TextDecoder('utf-8', { fatal: false });

// The classic `hexdump -C` layout, first `limit` bytes only (a 16 MiB body
// would be a 70 MiB string).
export function hexDump(bytes, limit) {
  const n = Math.min(bytes.length, limit);
  const lines = [];
  for (let off = 0; off < n; off += 16) {
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += ' ';
      if (off + i < n) {
        const b = bytes[off + i];
        hex += b.toString(16).padStart(2, '0') + ' ';
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
      } else {
        hex += '   ';
      }
    }
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  if (bytes.length === 0) lines.push('(empty)');
  else if (bytes.length > n) {
    lines.push(`… ${bytes.length - n} more bytes not shown; use Download for the whole body`);
  } else lines.push(bytes.length.toString(16).padStart(8, '0'));
  return lines.join('\n');
}

// A header value as the API gives it: a string, or {base64} when not UTF-8.
export function headerValueBytes(v) {
  if (v && typeof v === 'object' && typeof v.base64 === 'string') return base64ToBytes(v.base64);
  return null;
}

// The body of a capture detail as bytes.
export function bodyBytesOf(d) {
  if (d.body_encoding === 'base64' && typeof d.body_base64 === 'string') {
    try {
      return base64ToBytes(d.body_base64);
    } catch (_) {
      return new Uint8Array(0);
    }
  }
  if (typeof d.body === 'string') return new TextEncoder().encode(d.body);
  return new Uint8Array(0);
}
