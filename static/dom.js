// Small DOM helpers: element building, time formatting, form errors,
// confirmation dialogs and notices. No inline styles and no HTML strings:
// every text goes in through textContent.

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'indeterminate') {
      el[k] = v;
    } else if (k === 'style') {
      throw new Error('inline styles are not allowed');
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === '') continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// ---- time ----

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const UNITS = [
  ['year', 365 * 86400], ['month', 30 * 86400], ['week', 7 * 86400],
  ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1],
];

export function relative(iso) {
  if (!iso) return '';
  const diff = (new Date(iso).getTime() - Date.now()) / 1000;
  for (const [unit, secs] of UNITS) {
    if (Math.abs(diff) >= secs || unit === 'second') {
      if (unit === 'second' && Math.abs(diff) < 45) return diff >= 0 ? 'in a few seconds' : 'just now';
      return rtf.format(Math.round(diff / secs), unit);
    }
  }
  return '';
}

export function datetime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function timeEl(iso, text) {
  return h('time', { datetime: iso, title: datetime(iso) }, text ?? relative(iso));
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${m % 60} min`;
  return `${Math.round(hrs / 24)} days`;
}

// ---- avatars and icons ----

// Icons are only shown when bundled (data: URLs or /static/); Coder's
// `/icon/…` paths and outside URLs would reach for files warren does not
// serve or for other hosts, so they fall back to a lettered tile.
export function avatar(name, icon, kind = 'user') {
  const label = String(name || '?');
  if (icon && (icon.startsWith('data:image/') || icon.startsWith('/static/'))) {
    return h('img', { class: `avatar ${kind}`, src: icon, alt: '', width: 32, height: 32 });
  }
  let hash = 0;
  for (const ch of label) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return h('span', { class: `avatar ${kind} hue-${hash % 8}`, 'aria-hidden': 'true' },
    label.slice(0, 1).toUpperCase());
}

// ---- status ----

const STATUS = {
  pending: ['Pending', 'active'], starting: ['Starting', 'active'], running: ['Running', 'success'],
  stopping: ['Stopping', 'inactive'], stopped: ['Stopped', 'inactive'], failed: ['Failed', 'error'],
  canceling: ['Canceling', 'warning'], canceled: ['Canceled', 'inactive'],
  deleting: ['Deleting', 'danger'], deleted: ['Deleted', 'danger'],
  // Provisioner job states, for template imports.
  succeeded: ['Succeeded', 'success'],
};

export function statusBadge(status, job) {
  let [text, kind] = STATUS[status] || [status || 'Unknown', 'inactive'];
  if (status === 'pending' && job && job.queue_position > 0) {
    text = `Queued (${job.queue_position}/${job.queue_size})`;
  }
  return h('span', { class: `badge status-${kind}`, 'data-status': status || '' },
    h('span', { class: 'dot', 'aria-hidden': 'true' }), text);
}

// ---- forms and errors ----

function fieldErrorId(form, field) {
  if (!form.id) form.id = 'f' + Math.random().toString(36).slice(2, 8);
  return `${form.id}-${field}-error`;
}

export function clearErrors(form) {
  for (const el of $$('.field-error', form)) el.remove();
  for (const el of $$('[aria-invalid]', form)) el.removeAttribute('aria-invalid');
  const box = $('.form-error', form);
  if (box) { box.replaceChildren(); box.hidden = true; }
}

// Puts an API error on a form: each validation next to the control whose
// name it names, the message (and whatever validations matched no control)
// in the form's error box.
export function showErrors(form, err) {
  clearErrors(form);
  let box = $('.form-error', form);
  if (!box) {
    box = h('div', { class: 'form-error', role: 'alert' });
    form.prepend(box);
  }
  const unmatched = [];
  for (const v of err.validations || []) {
    const control = form.querySelector(`[name="${CSS.escape(v.field)}"]`);
    if (!control) { unmatched.push(v); continue; }
    const id = fieldErrorId(form, v.field);
    control.setAttribute('aria-invalid', 'true');
    const described = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    if (!described.includes(id)) control.setAttribute('aria-describedby', [...described, id].join(' '));
    const holder = control.closest('.field') || control.parentElement;
    holder.append(h('p', { class: 'field-error', id }, v.detail));
  }
  box.append(h('strong', {}, err.message || String(err)));
  if (err.detail) box.append(h('p', { class: 'detail' }, err.detail));
  if (unmatched.length) {
    box.append(h('ul', {}, unmatched.map((v) => h('li', {}, h('code', {}, v.field), ': ', v.detail))));
  }
  box.hidden = false;
  const first = form.querySelector('[aria-invalid="true"]');
  (first || box).focus?.();
}

// A message in the form's error box that leaves field errors in place.
export function formMessage(form, text) {
  let box = $('.form-error', form);
  if (!box) {
    box = h('div', { class: 'form-error', role: 'alert' });
    form.prepend(box);
  }
  box.replaceChildren(h('strong', {}, text));
  box.hidden = false;
}

export function errorBox(err) {
  return h('div', { class: 'form-error', role: 'alert' },
    h('strong', {}, err.message || String(err)),
    err.detail ? h('p', { class: 'detail' }, err.detail) : null,
    (err.validations || []).length
      ? h('ul', {}, err.validations.map((v) => h('li', {}, h('code', {}, v.field), ': ', v.detail)))
      : null);
}

// A labelled control in a `.field` wrapper.
export function field(label, control, hint) {
  if (!control.id) control.id = 'c' + Math.random().toString(36).slice(2, 9);
  const hintEl = hint ? h('p', { class: 'hint', id: control.id + '-hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

// Runs `action` for a form submit, disabling its buttons meanwhile and
// showing any error on the form.
export function onSubmit(form, action) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const buttons = $$('button', form);
    buttons.forEach((b) => { b.disabled = true; });
    form.setAttribute('aria-busy', 'true');
    try {
      await action(new FormData(form), form);
    } catch (err) {
      showErrors(form, err);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

// ---- dialogs and notices ----

// A modal confirmation. With `typeToConfirm`, the user must type that text
// (Coder asks for the workspace name before deleting). Resolves to the
// form's data when confirmed, or null.
export function confirmDialog({ title, body, confirm = 'Confirm', danger = false, typeToConfirm, extra }) {
  return new Promise((resolve) => {
    const input = typeToConfirm
      ? h('input', { name: 'confirm', autocomplete: 'off', required: true })
      : null;
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, confirm);
    const form = h('form', { method: 'dialog' },
      h('h2', {}, title),
      h('div', { class: 'dialog-body' }, body),
      extra || null,
      input ? field(`Type “${typeToConfirm}” to confirm`, input) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', value: 'cancel', onclick: () => dlg.close('cancel') }, 'Cancel'),
        ok));
    const dlg = h('dialog', { class: 'dialog', 'aria-label': title }, form);
    if (input) {
      ok.disabled = true;
      input.addEventListener('input', () => { ok.disabled = input.value !== typeToConfirm; });
    }
    let data = null;
    form.addEventListener('submit', () => { data = new FormData(form); });
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(dlg.returnValue === 'cancel' ? null : data);
    });
    document.body.append(dlg);
    dlg.showModal();
    (input || ok).focus();
  });
}

let noticeTimer;
export function notice(text, kind = 'info') {
  const banner = document.getElementById('banner');
  banner.className = `banner ${kind}`;
  banner.replaceChildren(h('span', {}, text),
    h('button', { type: 'button', class: 'ghost', 'aria-label': 'Dismiss', onclick: () => { banner.hidden = true; } }, '×'));
  banner.hidden = false;
  clearTimeout(noticeTimer);
  if (kind !== 'error') noticeTimer = setTimeout(() => { banner.hidden = true; }, 6000);
}

export function noticeError(err) {
  const text = err.validations && err.validations.length
    ? `${err.message} ${err.validations.map((v) => `${v.field}: ${v.detail}`).join('; ')}`
    : err.detail ? `${err.message} ${err.detail}` : (err.message || String(err));
  notice(text, 'error');
}

export function copyButton(text, label = 'Copy') {
  return h('button', {
    type: 'button', class: 'ghost small', 'aria-label': `${label}: ${text}`,
    onclick: async (ev) => {
      try { await navigator.clipboard.writeText(text); ev.target.textContent = 'Copied'; } catch { /* not allowed */ }
    },
  }, label);
}
