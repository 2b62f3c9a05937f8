// A small client for CallbackListener's API and live feeds, for frontends
// (any origin the service lists in CL_CORS_ORIGINS) and node >= 20. Types:
// src/index.d.ts, over the generated src/openapi.d.ts.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

const enc = encodeURIComponent;

export function createClient({ baseUrl, token, readToken, fetch: fetchImpl = globalThis.fetch } = {}) {
  if (!baseUrl) throw new TypeError('baseUrl is required');
  const base = String(baseUrl).replace(/\/+$/, '');

  function headers(extra = {}) {
    const h = { ...extra };
    if (token) h.authorization = `Bearer ${token}`;
    if (readToken) h['x-read-token'] = readToken;
    return h;
  }

  function url(path, query) {
    const u = new URL(base + path);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null) u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  // Every error the API gives is {"error":{"code","message"}}.
  async function request(method, path, { query, body, as = 'json', signal } = {}) {
    const init = { method, headers: headers(), signal };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetchImpl(url(path, query), init);
    if (!res.ok) {
      let code = 'http_error';
      let message = `${method} ${path} answered ${res.status}`;
      try {
        const e = (await res.json()).error;
        if (e) ({ code, message } = e);
      } catch { /* not JSON */ }
      throw new ApiError(res.status, code, message);
    }
    if (res.status === 204) return undefined;
    return as === 'text' ? res.text() : res.json();
  }

  return {
    request,
    createPath: (body = {}) => request('POST', '/api/paths', { body }),
    listPaths: () => request('GET', '/api/paths'),
    getPath: (id) => request('GET', `/api/paths/${enc(id)}`),
    deletePath: (id) => request('DELETE', `/api/paths/${enc(id)}`),
    listLogs: (id, query) => request('GET', `/api/paths/${enc(id)}/logs`, { query }),
    getLog: (id, requestId) => request('GET', `/api/paths/${enc(id)}/logs/${enc(requestId)}`),
    copyAs: (id, requestId, kind = 'curl', query) =>
      request('GET', `/api/paths/${enc(id)}/logs/${enc(requestId)}/${kind}`, { query, as: 'text' }),
    follow: (pathId, options) => follow({ base, headers, fetchImpl }, pathId, options),
  };
}

// Follows a live feed (one path's, or every path's when pathId is null),
// calling onEvent(summary, id) for each capture. On a dropped connection it
// reconnects after the server's `retry:` with `Last-Event-ID` set to the last
// id seen, so nothing is missed and nothing repeats (the server guarantees
// both). Fetch-based rather than EventSource so it runs in node and can send
// the Authorization header; resolves when `signal` aborts.
async function follow({ base, headers, fetchImpl }, pathId, { onEvent, onOpen, onError, lastEventId, signal } = {}) {
  const path = pathId == null ? '/api/stream' : `/api/paths/${enc(pathId)}/stream`;
  let last = lastEventId;
  let retry = 2000;
  while (!signal?.aborted) {
    try {
      const h = headers({ accept: 'text/event-stream' });
      if (last) h['last-event-id'] = last;
      const res = await fetchImpl(base + path, { headers: h, signal });
      if (!res.ok) {
        let e = { code: 'http_error', message: `stream answered ${res.status}` };
        try { e = (await res.json()).error || e; } catch { /* not JSON */ }
        // 4xx will not get better by retrying.
        if (res.status < 500) throw new ApiError(res.status, e.code, e.message);
        throw new Error(e.message);
      }
      onOpen?.();
      for await (const ev of events(res.body)) {
        if (ev.retry) retry = ev.retry;
        if (ev.id) last = ev.id;
        if (ev.event === 'request' && ev.data) onEvent?.(JSON.parse(ev.data), ev.id);
      }
    } catch (e) {
      if (signal?.aborted) break;
      if (e instanceof ApiError) throw e;
      onError?.(e);
    }
    await new Promise((r) => setTimeout(r, retry));
  }
  return last;
}

// Server-sent events from a byte stream (the WHATWG parsing rules).
export async function* events(body) {
  const decoder = new TextDecoder();
  let buf = '';
  let ev = { data: [] };
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (ev.data.length || ev.id || ev.retry) {
          yield { ...ev, data: ev.data.join('\n') };
        }
        ev = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') ev.data.push(value);
      else if (field === 'id') ev.id = value;
      else if (field === 'event') ev.event = value;
      else if (field === 'retry' && /^\d+$/.test(value)) ev.retry = Number(value);
    }
  }
}
