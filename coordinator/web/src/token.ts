/**
 * The token, asked for once: from the URL's fragment (`#token=…`, which `ratchet up` prints
 * and browsers never send to the server), else from this browser's storage, else from the
 * person at the screen.
 */
import { h } from './dom.ts';

const KEY = 'ratchet.token';

export function initialToken(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    const t = decodeURIComponent(m[1]!);
    localStorage.setItem(KEY, t);
    history.replaceState(null, '', location.pathname + location.search);
    return t;
  }
  return localStorage.getItem(KEY);
}

export function forgetToken() {
  localStorage.removeItem(KEY);
}

/** Show the token form; resolves with what was entered. */
export function askToken(root: HTMLElement, problem: string | null): Promise<string> {
  return new Promise((resolve) => {
    const input = h('input', {
      id: 'token-input',
      type: 'password',
      autocomplete: 'off',
      placeholder: 'rt_viewer_…',
      'aria-label': 'token',
    });
    const form = h(
      'form',
      { class: 'token-form', id: 'token-form' },
      h('h2', null, 'Token'),
      h(
        'p',
        null,
        'A ratchet token of any role; a read-only one: ',
        h('code', null, 'ratchet token create --role viewer'),
      ),
      problem ? h('p', { class: 'refused', id: 'token-refused' }, `Refused: ${problem}`) : null,
      input,
      h('button', { type: 'submit' }, 'Open'),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      localStorage.setItem(KEY, t);
      form.remove();
      resolve(t);
    });
    root.prepend(form);
    input.focus();
  });
}
