// The live feed of one path: an EventSource that resumes after the newest
// capture the page has (Last-Event-ID semantics, so no gap and no
// duplicate), reconnects with backoff, and says why when it cannot.

import { api, authParams, enc } from './api.js';

// Resume point for a feed opened on an empty list: every capture is newer.
export const BEFORE_ALL = '00000000-0000-7000-8000-000000000000';

export class LiveFeed {
  // onCapture(summary), onStatus('live'|'reconnecting'|'offline'), onGone(message)
  constructor(pathId, { onCapture, onStatus, onGone, resumeFrom }) {
    this.pathId = pathId;
    this.onCapture = onCapture;
    this.onStatus = onStatus;
    this.onGone = onGone;
    this.resumeFrom = resumeFrom; // () => newest id the page holds, or null
    this.es = null;
    this.timer = null;
    this.backoff = 1000;
    this.stopped = false;
  }

  url(resumeAfter) {
    const base = `/api/paths/${enc(this.pathId)}/stream`;
    const params = authParams(base, new URLSearchParams());
    if (resumeAfter) params.set('last_event_id', resumeAfter);
    const q = params.toString();
    return `${base}${q ? `?${q}` : ''}`;
  }

  start() {
    this.close();
    if (this.stopped) return;
    this.onStatus('reconnecting');
    let es;
    try {
      es = new EventSource(this.url(this.resumeFrom() || BEFORE_ALL));
    } catch (_) {
      this.schedule();
      return;
    }
    this.es = es;
    es.onopen = () => {
      if (this.es !== es) return;
      this.backoff = 1000;
      this.onStatus('live');
    };
    es.addEventListener('request', (ev) => {
      if (this.es !== es) return;
      let s;
      try {
        s = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      if (s && !s.id && ev.lastEventId) s.id = ev.lastEventId;
      if (s && (!s.path_id || s.path_id === this.pathId)) this.onCapture(s);
    });
    es.onerror = () => {
      if (this.es !== es) return;
      this.onStatus('reconnecting');
      // CONNECTING: the browser retries by itself, resending Last-Event-ID.
      // CLOSED: it gave up (an HTTP error); reconnect ourselves.
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        this.es = null;
        this.schedule();
      }
    };
  }

  schedule() {
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 30000);
    this.timer = setTimeout(async () => {
      if (this.stopped) return;
      // Find out why it failed: a 401 asks for the token (api() does), a
      // 404 means the path is gone.
      try {
        await api('GET', `/api/paths/${enc(this.pathId)}`);
      } catch (e) {
        if (this.stopped) return;
        if (e.status === 404) {
          this.onStatus('offline');
          this.onGone(`URL “${this.pathId}” no longer exists on this server`);
          return;
        }
        if (e.status === 401) {
          this.onStatus('offline');
          return;
        }
      }
      if (!this.stopped) this.start();
    }, delay);
  }

  close() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  stop() {
    this.stopped = true;
    this.close();
  }
}
