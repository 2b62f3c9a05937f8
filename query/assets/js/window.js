// The bounded list window: at most `max` capture summaries, newest first,
// whatever the path holds (100,000 captures, or a live feed that never
// stops). Pure (no DOM), unit-tested in node; views/list.js renders it.
//
// Scrolling down appends older pages and, past `max`, drops the newest end
// (`hasNewer` then says so and the view offers "show newest"). Live
// captures prepend only while the newest end is shown; past `max` they push
// the oldest out, and the cursor moves up so "load more" resumes right
// after the last kept row: nothing is skipped or shown twice.

// The logs API's cursor is the id of the last item shown (32 hex digits,
// common/src/cursor.rs); needed when rows are dropped from the old end.
export function cursorAfter(id) {
  return String(id).replace(/-/g, '').toLowerCase();
}

export class CaptureWindow {
  constructor(max) {
    this.max = max;
    this.items = []; // newest first
    this.ids = new Set();
    this.nextCursor = null; // older captures exist beyond the window
    this.hasNewer = false; // newer captures were dropped from the window
    this.missedLive = 0; // live captures not added while hasNewer
  }

  get size() {
    return this.items.length;
  }

  has(id) {
    return this.ids.has(id);
  }

  // An older page from the API; returns {added, dropped} (dropped from the top).
  appendPage(items, nextCursor) {
    const added = [];
    for (const s of items) {
      if (!s || typeof s.id !== 'string' || this.ids.has(s.id)) continue;
      this.items.push(s);
      this.ids.add(s.id);
      added.push(s);
    }
    this.nextCursor = nextCursor || null;
    const dropped = [];
    while (this.items.length > this.max) {
      const s = this.items.shift();
      this.ids.delete(s.id);
      dropped.push(s);
      this.hasNewer = true;
    }
    return { added, dropped };
  }

  // A live capture; returns {added: summary|null, dropped: [..]} (dropped from the bottom).
  addLive(s) {
    if (!s || typeof s.id !== 'string' || this.ids.has(s.id)) return { added: null, dropped: [] };
    if (this.hasNewer) {
      this.missedLive += 1;
      return { added: null, dropped: [] };
    }
    // Ids are UUIDv7: their text order is time order. Live ones are nearly
    // always the newest, but a batch can commit out of order.
    const id = s.id.toLowerCase();
    let at = 0;
    while (at < this.items.length && this.items[at].id.toLowerCase() > id) at++;
    this.items.splice(at, 0, s);
    this.ids.add(s.id);
    const dropped = [];
    while (this.items.length > this.max) {
      const old = this.items.pop();
      this.ids.delete(old.id);
      dropped.push(old);
    }
    if (dropped.length) this.nextCursor = cursorAfter(this.items[this.items.length - 1].id);
    return { added: s, dropped, index: at };
  }

  newestId() {
    return this.items.length ? this.items[0].id : null;
  }

  indexOf(id) {
    return this.items.findIndex((s) => s.id === id);
  }

  clear() {
    this.items = [];
    this.ids.clear();
    this.nextCursor = null;
    this.hasNewer = false;
    this.missedLive = 0;
  }
}
