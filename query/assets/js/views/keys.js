// Keyboard: j/k and the arrows move through the captures, `/` focuses the
// body search, Esc closes the open dialog (the browser does) or the detail,
// `?` shows the keys. Typing in a field is never intercepted.

import { $ } from '../dom.js';
import { app } from '../state.js';

function typing(t) {
  return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
}

export function initKeys({ select, close }) {
  $('help-button').addEventListener('click', () => $('help-dialog').showModal());
  $('help-close').addEventListener('click', () => $('help-dialog').close());
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (document.querySelector('dialog[open]')) return; // the dialog has the keyboard
    if (typing(e.target)) {
      if (e.key === 'Escape') e.target.blur();
      return;
    }
    if (!app.pathId) return;
    const rows = $('captures').children;
    switch (e.key) {
      case 'j':
      case 'ArrowDown':
      case 'k':
      case 'ArrowUp': {
        if (rows.length === 0) return;
        e.preventDefault();
        const down = e.key === 'j' || e.key === 'ArrowDown';
        let i = -1;
        for (let k = 0; k < rows.length; k++) if (rows[k].dataset.id === app.selectedId) i = k;
        const next = i < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, i + (down ? 1 : -1)));
        const row = rows[next];
        row.focus();
        row.scrollIntoView({ block: 'nearest' });
        select(row.dataset.id);
        break;
      }
      case 'Enter':
        if (e.target.classList && e.target.classList.contains('capture-row')) {
          e.preventDefault();
          select(e.target.dataset.id);
        }
        break;
      case '/':
        e.preventDefault();
        $('f-q').focus();
        $('f-q').select();
        break;
      case 'Escape':
        if (app.selectedId) {
          e.preventDefault();
          close();
        }
        break;
      case '?':
        $('help-dialog').showModal();
        break;
      default:
        break;
    }
  });
}
