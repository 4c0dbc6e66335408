// Templates: the list, uploading a template or a new version (the page
// builds the tar itself), the import job's logs live and its parameters,
// versions with promotion, and the template's settings.

import { api, qs, stream } from '../api.js';
import {
  h, field, avatar, timeEl, duration, onSubmit, notice, noticeError, confirmDialog, statusBadge, errorBox,
} from '../dom.js';
import { tar } from '../tar.js';
import { paramLabel } from '../params.js';
import { DAYS } from '../schedule.js';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

function displayName(t) {
  return t.display_name || t.name;
}

export async function templatesPage(ctx) {
  const { session, root } = ctx;
  const templates = await api.get('/templates');
  if (!ctx.alive()) return;
  const rows = templates.map((t) => h('tr', { 'data-template': t.name },
    h('td', {}, h('div', { class: 'with-avatar' }, avatar(displayName(t), t.icon, 'icon'),
      h('div', {}, h('a', { href: `#/templates/${encodeURIComponent(t.name)}` }, displayName(t)),
        t.deprecated ? h('span', { class: 'badge status-warning' }, 'Deprecated') : null,
        t.description ? h('div', { class: 'muted small' }, t.description) : null))),
    h('td', { 'data-label': 'Organization' }, t.organization_display_name || t.organization_name),
    h('td', { 'data-label': 'Used by' }, `${t.active_user_count} developer${t.active_user_count === 1 ? '' : 's'}`),
    h('td', { 'data-label': 'Build time' }, t.build_time_stats.start.P50 ? duration(t.build_time_stats.start.P50) : 'Unknown'),
    h('td', { 'data-label': 'Updated' }, timeEl(t.updated_at)),
    h('td', { class: 'row-actions' }, t.deprecated ? null : h('a', { class: 'button small', href: `#/workspaces/new?template=${encodeURIComponent(t.name)}` }, 'Create workspace'))));
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Templates'),
      session.canManageTemplates ? h('a', { class: 'button primary', href: '#/templates/new', id: 'upload-template' }, 'Upload template') : null),
    templates.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'templates-table' },
        h('thead', {}, h('tr', {}, ['Name', 'Organization', 'Used by', 'Build time', 'Updated', ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows)))
      : h('div', { class: 'card' }, h('p', {}, 'No templates yet.'), session.canManageTemplates ? h('p', { class: 'muted' }, 'Upload the .tf files of a Coder template to get started.') : null));
  return undefined;
}

// ---- upload ----

async function readFiles(list) {
  const files = [...list];
  if (files.length === 1 && /\.(tar|zip)$/i.test(files[0].name)) {
    const type = /\.zip$/i.test(files[0].name) ? 'application/zip' : 'application/x-tar';
    return { bytes: new Uint8Array(await files[0].arrayBuffer()), type, names: [files[0].name] };
  }
  const entries = [];
  for (const f of files) {
    // From a folder, paths are relative to the chosen folder itself.
    const rel = f.webkitRelativePath ? f.webkitRelativePath.split('/').slice(1).join('/') : f.name;
    if (!rel || rel.split('/').some((p) => p.startsWith('.') && p !== '.')) continue;
    entries.push({ path: rel, data: new Uint8Array(await f.arrayBuffer()), mtime: Math.floor(f.lastModified / 1000) });
  }
  if (!entries.some((e) => /\.tf$/i.test(e.path))) {
    const err = new Error('No .tf file was chosen.');
    err.validations = [{ field: 'files', detail: 'Choose the .tf files of the template, its folder, or a .tar or .zip archive.' }];
    throw err;
  }
  entries.sort((a, b) => a.path.localeCompare(b.path));
  return { bytes: tar(entries), type: 'application/x-tar', names: entries.map((e) => e.path) };
}

function followImport(version, logList) {
  return new Promise((resolve) => {
    let stage = null;
    stream(`/templateversions/${version.id}/logs${qs({ follow: 'true' })}`, {
      onMessage(log) {
        if (!log || log.id === undefined) return;
        if (log.stage !== stage) {
          stage = log.stage;
          logList.append(h('li', { class: 'stage' }, log.stage));
        }
        logList.append(h('li', { class: `line ${log.log_level}` }, log.output));
        logList.dataset.count = String(Number(logList.dataset.count || 0) + 1);
        logList.parentElement.scrollTop = logList.parentElement.scrollHeight;
      },
      onClose() { resolve(); },
    });
  });
}

function paramsTable(params) {
  if (!params.length) return h('p', { class: 'muted' }, 'This version has no parameters.');
  return h('table', { class: 'table compact', id: 'import-params' },
    h('thead', {}, h('tr', {}, ['Parameter', 'Type', 'Default', 'Mutable'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, params.map((p) => h('tr', {},
      h('td', {}, paramLabel(p), p.description_plaintext ? h('div', { class: 'muted small' }, p.description_plaintext) : null),
      h('td', {}, p.type, p.options && p.options.length ? ` (${p.options.length} options)` : ''),
      h('td', {}, p.default_value || '—'),
      h('td', {}, p.mutable ? 'yes' : 'no')))));
}

export async function uploadTemplatePage(ctx) {
  const { session, root, query } = ctx;
  const existingName = query.get('template');
  const existing = existingName ? await api.get(`/organizations/${session.org.id}/templates/${encodeURIComponent(existingName)}`) : null;
  if (!ctx.alive()) return undefined;
  const files = h('input', { type: 'file', name: 'files', id: 'upload-files', multiple: true, accept: '.tf,.tfvars,.md,.tar,.zip,.sh,.json,.yaml,.yml,.txt' });
  const folder = h('input', { type: 'file', name: 'folder', id: 'upload-folder', webkitdirectory: true, multiple: true });
  const chosen = h('p', { class: 'muted small', id: 'upload-chosen', 'aria-live': 'polite' });
  const showChosen = () => {
    const list = [...files.files, ...folder.files];
    chosen.textContent = list.length ? `${list.length} file${list.length === 1 ? '' : 's'}: ${list.map((f) => f.webkitRelativePath || f.name).join(', ')}` : '';
  };
  files.addEventListener('change', showChosen);
  folder.addEventListener('change', showChosen);
  const meta = existing
    ? [field('Version name (optional)', h('input', { name: 'version_name', autocomplete: 'off' }), 'A random name is chosen when left empty.'),
      field('Message (optional)', h('input', { name: 'message', autocomplete: 'off' })),
      h('div', { class: 'field' }, h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'promote', checked: true }), ' Promote to the active version'))]
    : [field('Template name', h('input', { name: 'name', id: 'upload-name', required: true, autocomplete: 'off', spellcheck: 'false' }), 'Lowercase letters, digits and hyphens, as in Coder.'),
      field('Display name (optional)', h('input', { name: 'display_name', autocomplete: 'off' })),
      field('Description (optional)', h('textarea', { name: 'description', rows: 2 }))];
  const logList = h('ol', { class: 'logs', id: 'import-logs', 'data-count': '0' });
  const progress = h('section', { class: 'card', id: 'import-progress', hidden: true, 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title' }, 'Import'), h('p', { id: 'import-status', class: 'muted' }), h('div', { class: 'log-scroll' }, logList), h('div', { id: 'import-result' }));
  const form = h('form', { class: 'card', id: 'upload-form' },
    h('fieldset', { class: 'group' }, h('legend', {}, 'Template source'),
      h('div', { class: 'field' }, h('label', { for: 'upload-files' }, 'Files (.tf files, or one .tar or .zip)'), files),
      h('div', { class: 'field' }, h('label', { for: 'upload-folder' }, 'Or a folder'), folder),
      chosen),
    h('fieldset', { class: 'group' }, h('legend', {}, existing ? `New version of ${displayName(existing)}` : 'Template'), meta),
    h('div', { class: 'actions' },
      h('a', { class: 'button', href: existing ? `#/templates/${encodeURIComponent(existing.name)}` : '#/templates' }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary', id: 'upload-submit' }, existing ? 'Upload version' : 'Create template')));
  root.replaceChildren(h('div', { class: 'page-head' }, h('h1', {}, existing ? `Upload a new version of ${displayName(existing)}` : 'Upload a template')), form, progress);

  onSubmit(form, async (data) => {
    const list = folder.files.length ? folder.files : files.files;
    if (!list.length) {
      const err = new Error('Choose the template\'s files first.');
      err.validations = [{ field: 'files', detail: 'Choose the .tf files of the template, its folder, or a .tar or .zip archive.' }];
      throw err;
    }
    if (!existing && !form.reportValidity()) return;
    const archive = await readFiles(list);
    const status = progress.querySelector('#import-status');
    const result = progress.querySelector('#import-result');
    progress.hidden = false;
    logList.replaceChildren();
    logList.dataset.count = '0';
    result.replaceChildren();
    status.textContent = `Uploading ${archive.names.join(', ')}…`;
    progress.scrollIntoView({ block: 'start' });
    const file = await api.upload('/files', archive.bytes, archive.type);
    const body = { storage_method: 'file', file_id: file.hash, provisioner: 'terraform' };
    if (existing) {
      body.template_id = existing.id;
      if (data.get('version_name')) body.name = String(data.get('version_name'));
      if (data.get('message')) body.message = String(data.get('message'));
    }
    const version = await api.post(`/organizations/${existing ? existing.organization_id : session.org.id}/templateversions`, body);
    status.replaceChildren('Importing version ', h('strong', {}, version.name), '…');
    await followImport(version, logList);
    const done = await api.get(`/templateversions/${version.id}`);
    if (done.job.status !== 'succeeded') {
      status.replaceChildren(statusBadge(done.job.status), ' ', done.job.error || 'The import did not succeed.');
      const err = new Error(`The import ${done.job.status}.`);
      err.detail = done.job.error || '';
      throw err;
    }
    const params = await api.get(`/templateversions/${version.id}/rich-parameters`);
    let template = existing;
    if (existing) {
      if (data.get('promote') === 'on') await api.patch(`/templates/${existing.id}/versions`, { id: version.id });
    } else {
      template = await api.post(`/organizations/${session.org.id}/templates`, {
        name: String(data.get('name')).trim(),
        display_name: String(data.get('display_name') || ''),
        description: String(data.get('description') || ''),
        template_version_id: version.id,
      });
    }
    status.replaceChildren(statusBadge('succeeded'), ' ', existing ? `Version ${version.name} imported.` : `Template ${displayName(template)} created.`);
    result.replaceChildren(h('h3', {}, 'Parameters'), paramsTable(params),
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: `#/templates/${encodeURIComponent(template.name)}` }, 'View template'),
        h('a', { class: 'button primary', id: 'upload-create-workspace', href: `#/workspaces/new?template=${encodeURIComponent(template.name)}` }, 'Create workspace')));
    notice(existing ? `Version ${version.name} uploaded` : `Template ${template.name} created`);
  });
  return undefined;
}

// ---- one template ----

function msField(label, name, value, unit, hint) {
  const factor = unit === 'days' ? DAY : HOUR;
  const v = value ? Math.round((value / factor) * 100) / 100 : 0;
  return field(`${label} (${unit})`, h('input', { type: 'number', name, min: 0, step: 1, value: v, inputmode: 'numeric', 'data-factor': factor }), hint);
}

function daysField(legend, name, selected) {
  return h('fieldset', { class: 'days field' }, h('legend', {}, legend),
    WEEKDAYS.map((d) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: `${name}:day`, value: d, checked: selected.includes(d) }), ' ', DAYS[(WEEKDAYS.indexOf(d) + 1) % 7].slice(0, 3))),
    h('input', { type: 'hidden', name }));
}

function settingsForm(t, onSaved) {
  const check = (name, label, checked, hint) => h('div', { class: 'field' },
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name, checked }), ' ', label), hint ? h('p', { class: 'hint' }, hint) : null);
  const form = h('form', { class: 'stack', id: 'template-settings', novalidate: true },
    h('fieldset', { class: 'group' }, h('legend', {}, 'General'),
      field('Display name', h('input', { name: 'display_name', value: t.display_name, autocomplete: 'off' })),
      field('Description', h('textarea', { name: 'description', rows: 2 }, t.description)),
      field('Icon', h('input', { name: 'icon', value: t.icon, autocomplete: 'off' }), 'A path such as /icon/docker.png; the dashboard shows a lettered tile for icons it does not bundle.'),
      field('Deprecation message', h('input', { name: 'deprecation_message', value: t.deprecation_message, autocomplete: 'off' }), 'Deprecated templates cannot be used for new workspaces.'),
      check('require_active_version', 'Require workspaces to use the active version', t.require_active_version),
      check('allow_user_cancel_workspace_jobs', 'Allow users to cancel in-progress workspace jobs', t.allow_user_cancel_workspace_jobs)),
    h('fieldset', { class: 'group' }, h('legend', {}, 'Schedule'),
      msField('Default autostop', 'default_ttl_ms', t.default_ttl_ms, 'hours', 'How long a workspace runs after it starts; 0 means no autostop.'),
      msField('Activity bump', 'activity_bump_ms', t.activity_bump_ms, 'hours', 'How far a deadline moves when the workspace is used.'),
      check('allow_user_autostart', 'Allow users to autostart workspaces on a schedule', t.allow_user_autostart),
      check('allow_user_autostop', 'Allow users to customize autostop duration', t.allow_user_autostop),
      daysField('Days workspaces may autostart', 'autostart_requirement.days_of_week', t.autostart_requirement.days_of_week),
      daysField('Days workspaces must stop (autostop requirement)', 'autostop_requirement.days_of_week', t.autostop_requirement.days_of_week),
      field('Autostop requirement every N weeks', h('input', { type: 'number', name: 'autostop_requirement.weeks', min: 1, max: 16, value: t.autostop_requirement.weeks || 1 }))),
    h('fieldset', { class: 'group' }, h('legend', {}, 'Cleanup'),
      msField('Failure cleanup', 'failure_ttl_ms', t.failure_ttl_ms, 'days', 'Stop failed workspaces after this long; 0 disables.'),
      msField('Dormancy threshold', 'time_til_dormant_ms', t.time_til_dormant_ms, 'days', 'Mark unused workspaces dormant after this long; 0 disables.'),
      msField('Dormancy auto-deletion', 'time_til_dormant_autodelete_ms', t.time_til_dormant_autodelete_ms, 'days', 'Delete dormant workspaces after this long; 0 disables.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'template-save' }, 'Save settings')));
  onSubmit(form, async (data) => {
    // Coder's own checks and words, before asking the server.
    const bad = [];
    const num = (name) => Number(data.get(name) || '0');
    const rule = (name, what, max, maxText) => {
      const v = num(name);
      if (!Number.isInteger(v)) bad.push({ field: name, detail: `${what} must be an integer.` });
      else if (v < 0) bad.push({ field: name, detail: `${what} must not be less than 0.` });
      else if (max && v > max) bad.push({ field: name, detail: maxText });
    };
    rule('default_ttl_ms', 'Default time until autostop', 720, 'Please enter a limit that is less than or equal to 720 hours (30 days).');
    rule('activity_bump_ms', 'Activity bump', 720, 'Please enter an activity bump duration that is less than or equal to 720 hours (30 days).');
    rule('failure_ttl_ms', 'Failure cleanup days');
    rule('time_til_dormant_ms', 'Dormancy threshold');
    rule('time_til_dormant_autodelete_ms', 'Dormancy auto-deletion days');
    const weeks = num('autostop_requirement.weeks');
    if (!Number.isInteger(weeks) || weeks < 1 || weeks > 16) bad.push({ field: 'autostop_requirement.weeks', detail: 'Must be between 1 and 16.' });
    if (bad.length) {
      const err = new Error('Some settings are invalid.');
      err.validations = bad;
      throw err;
    }
    const ms = (name) => {
      const input = form.querySelector(`[name="${name}"]`);
      const v = parseFloat(data.get(name) || '0');
      return Math.round((Number.isFinite(v) ? v : 0) * Number(input.dataset.factor));
    };
    const body = {
      display_name: String(data.get('display_name') || ''),
      description: String(data.get('description') || ''),
      icon: String(data.get('icon') || ''),
      deprecation_message: String(data.get('deprecation_message') || ''),
      require_active_version: data.get('require_active_version') === 'on',
      allow_user_cancel_workspace_jobs: data.get('allow_user_cancel_workspace_jobs') === 'on',
      allow_user_autostart: data.get('allow_user_autostart') === 'on',
      allow_user_autostop: data.get('allow_user_autostop') === 'on',
      default_ttl_ms: ms('default_ttl_ms'),
      activity_bump_ms: ms('activity_bump_ms'),
      failure_ttl_ms: ms('failure_ttl_ms'),
      time_til_dormant_ms: ms('time_til_dormant_ms'),
      time_til_dormant_autodelete_ms: ms('time_til_dormant_autodelete_ms'),
      autostart_requirement: { days_of_week: data.getAll('autostart_requirement.days_of_week:day') },
      autostop_requirement: { days_of_week: data.getAll('autostop_requirement.days_of_week:day'), weeks: parseInt(data.get('autostop_requirement.weeks') || '1', 10) },
    };
    const updated = await api.patch(`/templates/${t.id}`, body);
    notice('Template settings saved');
    if (updated) onSaved(updated);
  });
  return form;
}

export async function templatePage(ctx) {
  const { session, root, params } = ctx;
  let t = await api.get(`/organizations/${session.org.id}/templates/${encodeURIComponent(params[0])}`);
  if (!ctx.alive()) return undefined;
  const versionsBox = h('div', { id: 'template-versions' });
  const settingsBox = h('div', { id: 'template-settings-box' });
  const summary = h('div');

  function renderSummary() {
    summary.replaceChildren(h('div', { class: 'page-head' },
      h('div', { class: 'with-avatar' }, avatar(displayName(t), t.icon, 'icon'),
        h('div', {}, h('h1', {}, displayName(t)), h('p', { class: 'muted' }, t.description || t.name))),
      h('div', { class: 'actions' },
        t.deprecated ? h('span', { class: 'badge status-warning' }, 'Deprecated') : h('a', { class: 'button primary', href: `#/workspaces/new?template=${encodeURIComponent(t.name)}` }, 'Create workspace'),
        session.canManageTemplates ? h('a', { class: 'button', href: `#/templates/new?template=${encodeURIComponent(t.name)}` }, 'Upload version') : null,
        session.canManageTemplates ? h('button', { type: 'button', class: 'danger-ghost', onclick: del }, 'Delete…') : null)),
    h('dl', { class: 'stats' },
      h('div', {}, h('dt', {}, 'Used by'), h('dd', {}, `${t.active_user_count} developer${t.active_user_count === 1 ? '' : 's'}`)),
      h('div', {}, h('dt', {}, 'Build time'), h('dd', {}, t.build_time_stats.start.P50 ? duration(t.build_time_stats.start.P50) : 'Unknown')),
      h('div', {}, h('dt', {}, 'Default autostop'), h('dd', {}, t.default_ttl_ms ? duration(t.default_ttl_ms) : 'None')),
      h('div', {}, h('dt', {}, 'Created by'), h('dd', {}, t.created_by_name)),
      h('div', {}, h('dt', {}, 'Last updated'), h('dd', {}, timeEl(t.updated_at)))));
  }

  async function del() {
    const ok = await confirmDialog({ title: 'Delete template', body: h('p', {}, `Delete ${displayName(t)}? Templates with workspaces cannot be deleted.`), confirm: 'Delete', danger: true, typeToConfirm: t.name });
    if (!ok) return;
    try {
      await api.del(`/templates/${t.id}`);
      notice(`Template ${t.name} deleted`);
      location.hash = '#/templates';
    } catch (err) { noticeError(err); }
  }

  async function renderVersions() {
    const versions = await api.get(`/templates/${t.id}/versions${qs({ limit: 50 })}`);
    if (!ctx.alive()) return;
    versions.sort((a, b) => new Date(b.created_at) - new Date(a.created_at));
    versionsBox.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { class: 'table compact', id: 'versions-table' },
      h('thead', {}, h('tr', {}, ['Version', 'Created by', 'Created', 'Import', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, versions.map((v) => h('tr', { 'data-version': v.name },
        h('td', {}, v.name, v.id === t.active_version_id ? h('span', { class: 'badge status-success' }, 'Active') : null, v.message ? h('div', { class: 'muted small' }, v.message) : null),
        h('td', {}, v.created_by.username),
        h('td', {}, timeEl(v.created_at)),
        h('td', {}, statusBadge(v.job.status, v.job)),
        h('td', {}, session.canManageTemplates && v.id !== t.active_version_id && v.job.status === 'succeeded'
          ? h('button', {
            type: 'button', class: 'small', 'aria-label': `Promote ${v.name}`,
            onclick: async () => {
              try {
                await api.patch(`/templates/${t.id}/versions`, { id: v.id });
                t = await api.get(`/templates/${t.id}`);
                notice(`${v.name} is now the active version`);
                renderSummary();
                await renderVersions();
              } catch (err) { noticeError(err); }
            },
          }, 'Promote') : null)))))));
  }

  renderSummary();
  root.replaceChildren(summary,
    h('section', { class: 'card', 'aria-labelledby': 'versions-title' }, h('h2', { id: 'versions-title' }, 'Versions'), versionsBox),
    session.canManageTemplates ? h('section', { class: 'card', 'aria-labelledby': 'settings-title' }, h('h2', { id: 'settings-title' }, 'Settings'), settingsBox) : null);
  if (session.canManageTemplates) {
    settingsBox.replaceChildren(settingsForm(t, (u) => { t = u; renderSummary(); }));
  }
  await renderVersions().catch((err) => versionsBox.replaceChildren(errorBox(err)));
  return undefined;
}
