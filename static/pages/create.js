// Create a workspace: template, name, owner (when the signed-in user may
// create for others), preset, rich parameters, autostart and TTL.

import { api, qs } from '../api.js';
import { h, field, onSubmit, avatar, showErrors, formMessage } from '../dom.js';
import { paramField, paramValues, validateParams, watchParams, paramErrorToField } from '../params.js';
import { autostartFields, readAutostart, ttlField, readTtl } from '../schedule.js';

export async function createWorkspacePage(ctx) {
  const { session, root, query } = ctx;
  const templates = (await api.get('/templates')).filter((t) => !t.deprecated || t.name === query.get('template'));
  if (!ctx.alive()) return;
  if (!templates.length) {
    root.replaceChildren(h('h1', {}, 'New workspace'),
      h('div', { class: 'card' }, h('p', {}, 'There are no templates yet. A workspace is built from a template.'),
        session.canManageTemplates ? h('a', { class: 'button primary', href: '#/templates/new' }, 'Upload a template') : h('p', { class: 'muted' }, 'Ask a template administrator to add one.')));
    return undefined;
  }
  let owners = [];
  try {
    owners = await api.get(`/organizations/${session.org.id}/members/me/workspaces/available-users${qs({ limit: 100 })}`);
  } catch { owners = []; }

  const wanted = query.get('template');
  const picked = templates.find((t) => t.name === wanted) || templates[0];
  const templateSelect = h('select', { name: 'template_id', id: 'create-template' },
    templates.map((t) => h('option', { value: t.id, selected: t.id === picked.id }, t.display_name || t.name)));
  const ownerSelect = owners.length > 1
    ? h('select', { name: 'owner', id: 'create-owner' }, owners.map((u) => h('option', { value: u.id, selected: u.id === session.me.id }, u.name ? `${u.username} (${u.name})` : u.username)))
    : null;
  const nameInput = h('input', { name: 'name', id: 'create-name', required: true, autocomplete: 'off', spellcheck: 'false', maxlength: 32, pattern: '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?' });
  const about = h('div', { class: 'template-about' });
  const presetHolder = h('div');
  const paramsHolder = h('fieldset', { class: 'group', id: 'create-params' }, h('legend', {}, 'Parameters'));
  const scheduleHolder = h('div');
  const form = h('form', { class: 'card', id: 'create-form', novalidate: true },
    h('fieldset', { class: 'group' }, h('legend', {}, 'General'),
      field('Template', templateSelect),
      about,
      field('Workspace name', nameInput, 'Letters, digits and hyphens; up to 32 characters.'),
      ownerSelect ? field('Owner', ownerSelect, 'Create the workspace for another user.') : null),
    presetHolder, paramsHolder, scheduleHolder,
    h('div', { class: 'actions' },
      h('a', { class: 'button', href: '#/workspaces' }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary', id: 'create-submit' }, 'Create workspace')));
  root.replaceChildren(h('div', { class: 'page-head' }, h('h1', {}, 'New workspace')), form);

  let params = [];
  let presets = [];
  let template = picked;

  async function loadTemplate(t) {
    template = t;
    about.replaceChildren(h('div', { class: 'with-avatar' }, avatar(t.display_name || t.name, t.icon, 'icon'),
      h('div', {}, h('strong', {}, t.display_name || t.name), t.description ? h('p', { class: 'muted small' }, t.description) : null)));
    const [p, pr] = await Promise.all([
      api.get(`/templateversions/${t.active_version_id}/rich-parameters`),
      api.get(`/templateversions/${t.active_version_id}/presets`).catch(() => []),
    ]);
    if (!ctx.alive() || template !== t) return;
    params = p;
    presets = pr || [];
    renderPresets();
    renderParams({});
    scheduleHolder.replaceChildren(
      t.allow_user_autostart === false ? null : autostartFields(''),
      t.allow_user_autostop === false ? null : h('fieldset', { class: 'group' }, h('legend', {}, 'Autostop'), ttlField(t.default_ttl_ms)));
  }

  function renderPresets() {
    if (!presets.length) { presetHolder.replaceChildren(); return; }
    const select = h('select', { name: 'template_version_preset_id', id: 'create-preset' },
      h('option', { value: '' }, 'None'),
      presets.map((p) => h('option', { value: p.ID, selected: p.Default }, p.Description ? `${p.Name} — ${p.Description}` : p.Name)));
    select.addEventListener('change', () => applyPreset(select.value));
    presetHolder.replaceChildren(h('fieldset', { class: 'group' }, h('legend', {}, 'Preset'),
      field('Preset', select, 'A preset fills in a set of parameter values chosen by the template author.')));
    const def = presets.find((p) => p.Default);
    if (def) applyPreset(def.ID);
  }

  // Presets come with Coder's Go field names (`codersdk.Preset` has no JSON tags).
  function applyPreset(id) {
    const preset = presets.find((p) => p.ID === id);
    const fixed = {};
    if (preset) for (const kv of preset.Parameters || []) fixed[kv.Name] = kv.Value;
    renderParams(fixed);
  }

  function renderParams(fixed) {
    const visible = params;
    paramsHolder.replaceChildren(h('legend', {}, 'Parameters'));
    if (!visible.length) {
      paramsHolder.append(h('p', { class: 'muted' }, 'This template has no parameters.'));
      return;
    }
    for (const p of visible) {
      const locked = Object.prototype.hasOwnProperty.call(fixed, p.name);
      const value = locked ? fixed[p.name] : p.default_value;
      paramsHolder.append(paramField(p, value, { locked, lockedWhy: locked ? 'Set by the preset.' : '' }));
    }
  }

  templateSelect.addEventListener('change', () => {
    const t = templates.find((x) => x.id === templateSelect.value);
    if (t) loadTemplate(t).catch((err) => showErrors(form, err));
  });
  watchParams(form, () => params);

  onSubmit(form, async (data) => {
    // The template's own messages first, next to each parameter; then the
    // browser's checks of the other fields.
    if (!validateParams(form, params)) {
      formMessage(form, 'Some parameters have invalid values.');
      return;
    }
    if (!form.reportValidity()) return;
    const owner = ownerSelect ? ownerSelect.value : 'me';
    const body = {
      template_id: template.id,
      name: String(data.get('name') || '').trim(),
      rich_parameter_values: paramValues(form, params),
    };
    const preset = data.get('template_version_preset_id');
    if (preset) body.template_version_preset_id = preset;
    const schedule = form.querySelector('[name="autostart_enabled"]') ? readAutostart(form) : '';
    if (schedule) body.autostart_schedule = schedule;
    if (form.querySelector('[name="ttl_ms"]')) {
      const ttl = readTtl(form);
      if (ttl) body.ttl_ms = ttl;
    }
    let ws;
    try {
      ws = await api.post(`/organizations/${template.organization_id}/members/${owner}/workspaces`, body);
    } catch (err) {
      throw paramErrorToField(err);
    }
    location.hash = `#/@${encodeURIComponent(ws.owner_name)}/${encodeURIComponent(ws.name)}`;
  });

  await loadTemplate(picked);
  nameInput.focus();
  return undefined;
}
