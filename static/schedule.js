// Autostart schedules in Coder's form, `CRON_TZ=<zone> <min> <hour> * * <days>`,
// and the controls that edit them (days, time of day, time zone) and a TTL.

import { h, field } from './dom.js';

export const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function localZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

function zones() {
  try { return Intl.supportedValuesOf('timeZone'); } catch { return [localZone(), 'UTC']; }
}

function expandDays(spec) {
  if (spec === '*') return [0, 1, 2, 3, 4, 5, 6];
  const out = new Set();
  for (const part of spec.split(',')) {
    const [a, b] = part.split('-').map((x) => parseInt(x, 10) % 7);
    if (Number.isNaN(a)) continue;
    if (b === undefined || Number.isNaN(b)) out.add(a);
    else {
      let d = a;
      for (let i = 0; i < 7; i++) {
        out.add(d);
        if (d === b) break;
        d = (d + 1) % 7;
      }
    }
  }
  return [...out].sort();
}

export function parseSchedule(s) {
  const m = /^CRON_TZ=(\S+)\s+(\d{1,2})\s+(\d{1,2})\s+\*\s+\*\s+(\S+)$/.exec(s || '');
  if (!m) return null;
  return { zone: m[1], minute: +m[2], hour: +m[3], days: expandDays(m[4]) };
}

export function formatSchedule({ zone, hour, minute, days }) {
  const list = [...days].sort();
  const spec = list.length === 7 ? '*' : list.join(',');
  return `CRON_TZ=${zone} ${minute} ${hour} * * ${spec}`;
}

export function describeSchedule(s) {
  const p = parseSchedule(s);
  if (!p) return s || 'Manual';
  const t = `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
  const d = p.days.length === 7 ? 'every day' : p.days.length === 5 && !p.days.includes(0) && !p.days.includes(6)
    ? 'Monday to Friday' : p.days.map((x) => DAYS[x].slice(0, 3)).join(', ');
  return `${t} ${d} (${p.zone})`;
}

// The autostart controls. `name` of the hidden input lets an API
// validation for `schedule`/`autostart_schedule` land next to them.
export function autostartFields(schedule, hiddenName = 'autostart_schedule') {
  const p = parseSchedule(schedule) || { zone: localZone(), hour: 9, minute: 30, days: [1, 2, 3, 4, 5] };
  const enabled = h('input', { type: 'checkbox', name: 'autostart_enabled', checked: !!schedule });
  const time = h('input', { type: 'time', name: 'autostart_time', value: `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}` });
  const zone = h('select', { name: 'autostart_zone' }, zones().map((z) => h('option', { value: z, selected: z === p.zone }, z)));
  if (![...zone.options].some((o) => o.value === p.zone)) zone.prepend(h('option', { value: p.zone, selected: true }, p.zone));
  const days = h('fieldset', { class: 'days' }, h('legend', {}, 'Days'),
    DAYS.map((d, i) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'autostart_day', value: String(i), checked: p.days.includes(i) }), ' ', d.slice(0, 3))));
  const inner = h('div', { class: 'autostart-inner' }, days, field('Start time', time), field('Time zone', zone));
  const sync = () => { inner.hidden = !enabled.checked; };
  enabled.addEventListener('change', sync);
  sync();
  return h('fieldset', { class: 'group' },
    h('legend', {}, 'Autostart'),
    h('div', { class: 'field' },
      h('label', { class: 'check' }, enabled, ' Start this workspace automatically'),
      h('input', { type: 'hidden', name: hiddenName })),
    inner);
}

export function readAutostart(form) {
  const data = new FormData(form);
  if (data.get('autostart_enabled') !== 'on') return '';
  const [hh, mm] = String(data.get('autostart_time') || '09:30').split(':').map((x) => parseInt(x, 10));
  const days = data.getAll('autostart_day').map((x) => parseInt(x, 10));
  if (!days.length) {
    const err = new Error('Select at least one day.');
    err.validations = [{ field: 'autostart_day', detail: 'Select at least one day to start on.' }];
    throw err;
  }
  return formatSchedule({ zone: String(data.get('autostart_zone') || localZone()), hour: hh, minute: mm, days });
}

// TTL in hours, named like the API field so its validation lands here.
export function ttlField(ttlMs, name = 'ttl_ms') {
  const hours = ttlMs ? Math.round((ttlMs / 3600000) * 100) / 100 : '';
  return field('Autostop after (hours)',
    h('input', { type: 'number', name, min: 0, step: 'any', value: hours, inputmode: 'decimal' }),
    'Stop the workspace this long after it starts; leave empty to stop it by hand.');
}

export function readTtl(form, name = 'ttl_ms') {
  const v = new FormData(form).get(name);
  if (v === null || v === '') return 0;
  return Math.round(parseFloat(v) * 3600000);
}
