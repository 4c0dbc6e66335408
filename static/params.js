// Rich parameters: one control per parameter by its type and form type,
// client-side checks with the template's own messages (so mistakes show
// before submitting), and the values in the API's shape.

import { h } from './dom.js';

const controlName = (p) => `param:${p.name}`;

export function paramLabel(p) {
  return p.display_name || p.name;
}

function optionLabel(o) {
  return o.description ? `${o.name} — ${o.description}` : o.name;
}

// The control for one parameter, with `value` (a string) preselected.
// `locked` disables it (immutable after creation, or fixed by a preset).
export function paramField(p, value, { locked = false, lockedWhy = '' } = {}) {
  const name = controlName(p);
  const id = `p-${p.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const describedBy = `${id}-desc`;
  const desc = [p.description_plaintext || p.description || '', p.mutable ? '' : 'Immutable: cannot change after the workspace is created.', p.ephemeral ? 'Ephemeral: used for one build only.' : '', lockedWhy]
    .filter(Boolean).join(' ');
  const common = { name, id, disabled: locked, 'aria-describedby': describedBy, 'data-param': p.name };
  let control;
  const formType = p.form_type || '';
  if (p.type === 'bool') {
    control = h('label', { class: 'check' },
      h('input', { ...common, type: 'checkbox', checked: value === 'true' }), ' ', paramLabel(p));
    return h('div', { class: 'field param' }, control, h('p', { class: 'hint', id: describedBy }, desc));
  }
  if (p.type === 'list(string)') {
    let items = [];
    try { items = JSON.parse(value || '[]'); } catch { items = []; }
    if (p.options && p.options.length) {
      control = h('fieldset', { class: 'options', 'aria-describedby': describedBy },
        h('legend', { class: 'sr-only' }, paramLabel(p)),
        p.options.map((o) => h('label', { class: 'check' },
          h('input', { type: 'checkbox', name, value: o.value, checked: items.includes(o.value), disabled: locked, 'data-param': p.name }), ' ', optionLabel(o))));
    } else {
      control = h('textarea', { ...common, rows: 3, 'data-list': 'lines' }, items.join('\n'));
    }
  } else if (p.options && p.options.length) {
    const radio = formType === 'radio' || (formType !== 'dropdown' && p.options.length <= 4);
    if (radio) {
      control = h('fieldset', { class: 'options', role: 'radiogroup', 'aria-describedby': describedBy },
        h('legend', { class: 'sr-only' }, paramLabel(p)),
        p.options.map((o) => h('label', { class: 'check' },
          h('input', { type: 'radio', name, value: o.value, checked: o.value === value, disabled: locked, required: p.required, 'data-param': p.name }), ' ', optionLabel(o))));
    } else {
      control = h('select', { ...common, required: p.required },
        p.options.map((o) => h('option', { value: o.value, selected: o.value === value }, optionLabel(o))));
    }
  } else if (p.type === 'number') {
    control = h('input', {
      ...common, type: formType === 'slider' ? 'range' : 'number', value: value ?? '', step: 'any',
      min: p.validation_min ?? undefined, max: p.validation_max ?? undefined, required: p.required,
    });
  } else if (formType === 'textarea') {
    control = h('textarea', { ...common, rows: 4, required: p.required }, value ?? '');
  } else {
    control = h('input', { ...common, type: 'text', value: value ?? '', required: p.required, autocomplete: 'off' });
  }
  const labelFor = control.tagName === 'FIELDSET' ? null : id;
  return h('div', { class: 'field param' },
    labelFor ? h('label', { for: labelFor }, paramLabel(p), p.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null)
      : h('span', { class: 'label' }, paramLabel(p), p.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    control,
    h('p', { class: 'hint', id: describedBy }, desc));
}

// The value of a parameter's control(s) in `form`, as the API wants it.
export function readParam(form, p) {
  const name = controlName(p);
  const els = [...form.querySelectorAll(`[name="${CSS.escape(name)}"]`)];
  if (!els.length) return null;
  if (p.type === 'bool') return els[0].checked ? 'true' : 'false';
  if (p.type === 'list(string)') {
    if (els[0].type === 'checkbox') return JSON.stringify(els.filter((e) => e.checked).map((e) => e.value));
    return JSON.stringify(els[0].value.split('\n').map((s) => s.trim()).filter(Boolean));
  }
  if (els[0].type === 'radio') {
    const c = els.find((e) => e.checked);
    return c ? c.value : '';
  }
  return els[0].value;
}

function fill(template, p, value) {
  return template
    .replaceAll('{min}', p.validation_min ?? '')
    .replaceAll('{max}', p.validation_max ?? '')
    .replaceAll('{value}', value);
}

// The problem with `value`, in the template's words when it has them, or ''.
export function checkParam(p, value, previous) {
  if (value === '' || value === null) {
    if (p.required && !(p.default_value)) return `Parameter "${paramLabel(p)}" is required.`;
    return '';
  }
  if (p.type === 'number') {
    const n = Number(value);
    if (!Number.isFinite(n)) return `${value} is not a number`;
    if (p.validation_min !== undefined && p.validation_min !== null && n < p.validation_min) {
      return p.validation_error ? fill(p.validation_error, p, value) : `Value must be at least ${p.validation_min}.`;
    }
    if (p.validation_max !== undefined && p.validation_max !== null && n > p.validation_max) {
      return p.validation_error ? fill(p.validation_error, p, value) : `Value must be at most ${p.validation_max}.`;
    }
    if (previous !== undefined && previous !== null && previous !== '') {
      const prev = Number(previous);
      if (p.validation_monotonic === 'increasing' && n < prev) return `Value must be equal or greater than the previous value: ${prev}`;
      if (p.validation_monotonic === 'decreasing' && n > prev) return `Value must be equal or lower than the previous value: ${prev}`;
    }
  } else if (p.type === 'string' && p.validation_regex) {
    let re;
    try { re = new RegExp(p.validation_regex, 'u'); } catch { return ''; }
    if (!re.test(value)) return p.validation_error ? fill(p.validation_error, p, value) : `Value does not match ${p.validation_regex}`;
  }
  return '';
}

// Checks every parameter control of `form`, shows each problem next to its
// control, and answers whether all are fine.
export function validateParams(form, params, previous = {}) {
  let ok = true;
  for (const p of params) {
    const name = controlName(p);
    const el = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!el || el.disabled) continue;
    const holder = el.closest('.field');
    const old = holder.querySelector('.field-error.param-check');
    if (old) old.remove();
    const problem = checkParam(p, readParam(form, p), previous[p.name]);
    if (problem) {
      ok = false;
      const id = `${el.id || name}-check`;
      el.setAttribute('aria-invalid', 'true');
      holder.append(h('p', { class: 'field-error param-check', id }, problem));
    } else {
      el.removeAttribute('aria-invalid');
    }
  }
  return ok;
}

// Live checks as the user types.
export function watchParams(form, getParams, previous = {}) {
  form.addEventListener('input', (ev) => {
    const name = ev.target.dataset && ev.target.dataset.param;
    const p = name && getParams().find((x) => x.name === name);
    if (p) validateParams(form, [p], previous);
  });
}

export function paramValues(form, params) {
  const out = [];
  for (const p of params) {
    const v = readParam(form, p);
    if (v !== null) out.push({ name: p.name, value: v });
  }
  return out;
}

// `Unable to validate parameter "cpu"` names its field in the message:
// turn it into a validation so the detail lands next to that control.
export function paramErrorToField(err) {
  const m = /parameter "([^"]+)"/i.exec(err.message || '');
  if (m && (!err.validations || !err.validations.length)) {
    err.validations = [{ field: `param:${m[1]}`, detail: err.detail || err.message }];
  }
  return err;
}
