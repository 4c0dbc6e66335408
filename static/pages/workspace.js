// One workspace, live over `/workspaces/{id}/watch-ws`: header and actions,
// the current build's logs as they arrive, resources, agents and apps,
// build history, parameters, deadline and schedule, dormancy, sharing and
// the timings chart. Nothing polls: every section follows the stream.

import { api, qs, stream } from '../api.js';
import {
  h, field, avatar, statusBadge, timeEl, datetime, duration, onSubmit, notice, noticeError,
  formMessage, errorBox,
} from '../dom.js';
import * as act from '../actions.js';
import { timingsChart } from '../timings.js';
import { paramField, paramValues, validateParams, watchParams, paramErrorToField, paramLabel } from '../params.js';
import { autostartFields, readAutostart, ttlField, readTtl, describeSchedule } from '../schedule.js';

const HOUR = 3600 * 1000;
const DONE = new Set(['succeeded', 'failed', 'canceled']);

function section(id, title, ...children) {
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), ...children);
}

export async function workspacePage(ctx) {
  const { session, root, params } = ctx;
  const [owner, name] = params;
  let ws = await api.get(`/users/${encodeURIComponent(owner)}/workspace/${encodeURIComponent(name)}`);
  if (!ctx.alive()) return undefined;

  const head = h('div', { class: 'ws-head' });
  const alerts = h('div', { class: 'ws-alerts' });
  const deadlineBox = h('div', { class: 'deadline', id: 'ws-deadline' });
  const resources = h('div', { id: 'ws-resources' });
  const logList = h('ol', { class: 'logs', id: 'build-logs', 'aria-live': 'off', 'data-count': '0' });
  const logTitle = h('p', { class: 'muted small', id: 'build-logs-title' });
  const logWrap = h('div', { class: 'log-scroll', tabindex: '0', 'aria-label': 'Build logs' }, logList);
  const timingsBox = h('div', { id: 'ws-timings' }, h('p', { class: 'muted' }, 'Timings appear when the build is over.'));
  const buildsBox = h('div', { id: 'ws-builds' });
  const paramsBox = h('div', { id: 'ws-params' });
  const scheduleBox = h('div', { id: 'ws-schedule' });
  const whyBox = h('div', { id: 'ws-why' });
  const sharingBox = h('div', { id: 'ws-sharing' });
  const gone = h('div', { id: 'ws-gone', hidden: true, role: 'alert', class: 'form-error' });

  root.replaceChildren(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/workspaces' }, 'Workspaces'), ' / ', h('span', {}, `${ws.owner_name} / ${ws.name}`)),
    gone, head, alerts,
    h('div', { class: 'ws-grid' },
      h('div', { class: 'ws-main' },
        section('ws-resources-section', 'Resources', resources),
        section('ws-logs-section', 'Build logs', logTitle, logWrap),
        section('ws-timings-section', 'Build timings', timingsBox),
        section('ws-builds-section', 'Build history', buildsBox)),
      h('div', { class: 'ws-side' },
        section('ws-deadline-section', 'Schedule', deadlineBox, scheduleBox),
        section('ws-why-section', 'Why it is on or off', whyBox),
        section('ws-params-section', 'Parameters', paramsBox),
        section('ws-sharing-section', 'Sharing', sharingBox))));

  // ---- header ----
  function renderHead() {
    const b = ws.latest_build;
    const a = act.abilities(ws, session);
    const run = (label, fn) => async () => {
      try {
        const r = await fn(ws);
        if (r) notice(`${label}: ${ws.name}`);
      } catch (err) { noticeError(err); }
    };
    const btn = (k, label, fn, cls = '') => (a.has(k) ? h('button', { type: 'button', class: cls, id: `ws-${k}`, onclick: run(label, fn) }, label) : null);
    head.replaceChildren(
      h('div', { class: 'ws-title' },
        avatar(ws.template_display_name || ws.template_name, ws.template_icon, 'icon'),
        h('div', {},
          h('h1', {}, ws.name, ws.favorite ? h('span', { class: 'star', 'aria-label': 'Favorite' }, ' ★') : null),
          h('p', { class: 'muted' },
            `${ws.owner_name} · ${ws.template_display_name || ws.template_name} · version ${b.template_version_name}`,
            ws.outdated ? h('span', { class: 'badge status-warning outdated' }, 'Outdated') : null)),
        h('span', { id: 'ws-status' }, statusBadge(b.status, b.job))),
      h('div', { class: 'ws-actions', role: 'toolbar', 'aria-label': 'Workspace actions' },
        btn('start', 'Start', act.start, 'primary'),
        btn('stop', 'Stop', act.stop),
        btn('restart', 'Restart', act.confirmRestart),
        btn('update', 'Update', act.confirmUpdate),
        btn('retry', 'Retry', act.retry),
        btn('cancel', 'Cancel', act.cancel),
        btn('activate', 'Activate', act.activate, 'primary'),
        ws.owner_id === session.me.id
          ? h('button', { type: 'button', id: 'ws-favorite', 'aria-pressed': ws.favorite ? 'true' : 'false', onclick: run(ws.favorite ? 'Removed from favorites' : 'Added to favorites', (x) => act.favorite(x, !x.favorite).then(() => true)) }, ws.favorite ? '★ Unfavorite' : '☆ Favorite')
          : null,
        btn('delete', 'Delete…', (x) => act.confirmDelete(x, session), 'danger-ghost')));
    const notes = [];
    if (ws.dormant_at) {
      notes.push(h('div', { class: 'note warning', id: 'ws-dormant' },
        h('strong', {}, 'This workspace is dormant. '),
        `It became dormant ${datetime(ws.dormant_at)}`,
        ws.deleting_at ? [' and will be deleted ', timeEl(ws.deleting_at), ' unless it is activated.'] : '. Activate it to use it again.'));
    }
    if (b.status === 'failed' && b.job.error) {
      notes.push(h('div', { class: 'note error' }, h('strong', {}, 'The last build failed: '), b.job.error));
    }
    if (ws.outdated && !ws.dormant_at) {
      notes.push(h('div', { class: 'note info' }, 'A newer version of the template is active. Update to use it.'));
    }
    if (b.status === 'running' && !ws.health.healthy) {
      notes.push(h('div', { class: 'note warning' }, 'Your workspace is running but some agents are unhealthy.'));
    }
    alerts.replaceChildren(...notes);
  }

  // ---- deadline (± hours) ----
  const deadlineError = h('p', { class: 'field-error', role: 'alert', id: 'ws-deadline-error', hidden: true });
  function renderDeadline() {
    const b = ws.latest_build;
    const lines = [];
    if (b.status === 'running' && b.deadline) {
      const canChange = DONE.has(b.job.status) && act.canUpdate(ws, session);
      const move = (delta) => async () => {
        deadlineError.hidden = true;
        const next = new Date(new Date(ws.latest_build.deadline).getTime() + delta);
        try {
          await api.put(`/workspaces/${ws.id}/extend`, { deadline: next.toISOString().replace(/\.\d{3}Z$/, 'Z') });
          notice(`Deadline moved to ${datetime(next.toISOString())}`);
        } catch (err) {
          deadlineError.replaceChildren(err.message, err.detail ? ` ${err.detail}` : '');
          deadlineError.hidden = false;
        }
      };
      lines.push(h('div', { class: 'deadline-row' },
        h('span', {}, 'Stops ', h('strong', { id: 'ws-deadline-value', 'data-deadline': b.deadline }, timeEl(b.deadline)), h('span', { class: 'muted small' }, ` (${datetime(b.deadline)})`)),
        h('span', { class: 'pm' },
          h('button', { type: 'button', class: 'small', id: 'ws-deadline-minus', disabled: !canChange, 'aria-label': 'Subtract one hour from the deadline', onclick: move(-HOUR) }, '−1 h'),
          h('button', { type: 'button', class: 'small', id: 'ws-deadline-plus', disabled: !canChange, 'aria-label': 'Add one hour to the deadline', onclick: move(HOUR) }, '+1 h'))));
      if (b.max_deadline) lines.push(h('p', { class: 'muted small' }, 'At the latest ', timeEl(b.max_deadline)));
    } else if (b.status === 'running') {
      lines.push(h('p', {}, 'Stops manually (no autostop).'));
    }
    lines.push(h('p', {}, 'Autostart: ', h('strong', {}, ws.autostart_schedule ? describeSchedule(ws.autostart_schedule) : 'off'),
      ws.next_start_at ? [' · next start ', timeEl(ws.next_start_at)] : null));
    lines.push(h('p', {}, 'Autostop: ', h('strong', {}, ws.ttl_ms ? `${duration(ws.ttl_ms)} after start` : 'off')));
    deadlineBox.replaceChildren(...lines, deadlineError);
  }

  // ---- schedule editor ----
  let scheduleShownFor = null;
  function renderSchedule() {
    const key = `${ws.autostart_schedule}|${ws.ttl_ms}|${act.canUpdate(ws, session)}`;
    if (scheduleShownFor === key) return;
    scheduleShownFor = key;
    if (!act.canUpdate(ws, session)) { scheduleBox.replaceChildren(); return; }
    const form = h('form', { class: 'stack', id: 'schedule-form' },
      autostartFields(ws.autostart_schedule || '', 'schedule'),
      h('fieldset', { class: 'group' }, h('legend', {}, 'Autostop'), ttlField(ws.ttl_ms)),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save schedule')));
    onSubmit(form, async () => {
      const schedule = readAutostart(form);
      const ttl = readTtl(form);
      await api.put(`/workspaces/${ws.id}/autostart`, { schedule });
      await api.put(`/workspaces/${ws.id}/ttl`, { ttl_ms: ttl || null });
      notice('Schedule saved');
      ws = await api.get(`/workspaces/${ws.id}`);
      renderAll();
    });
    const details = h('details', { class: 'editor' }, h('summary', {}, 'Edit schedule'), form);
    const wasOpen = scheduleBox.querySelector('details')?.open;
    details.open = !!wasOpen;
    scheduleBox.replaceChildren(details);
  }

  // ---- why it is on or off (the server's explanation) ----
  let whyKey = null;
  async function refreshWhy() {
    const b = ws.latest_build;
    const key = [b.id, b.status, b.deadline, ws.dormant_at, ws.autostart_schedule, ws.ttl_ms, ws.last_used_at].join('|');
    if (key === whyKey) return;
    whyKey = key;
    const e = await api.get(`/workspaces/${ws.id}/schedule`);
    if (!ctx.alive() || whyKey !== key) return;
    const part = (id, title, next, detail) => h('div', { class: 'why', id },
      h('h3', {}, title, next ? [' · ', timeEl(next.at)] : null),
      h('p', {}, detail));
    const actions = e.recent_actions.length
      ? h('ol', { class: 'why-actions', id: 'ws-why-actions' }, e.recent_actions.map((a) => h('li', {},
        h('strong', {}, a.action), ' ', timeEl(a.at),
        a.build_number ? h('span', { class: 'muted small' }, ` build #${a.build_number}`) : null,
        h('p', { class: 'muted small' }, a.detail))))
      : h('p', { class: 'muted small', id: 'ws-why-actions' }, 'No automatic action yet.');
    whyBox.replaceChildren(
      part('ws-why-autostart', 'Next start', e.autostart.next, e.autostart.detail),
      part('ws-why-autostop', 'Next stop', e.autostop.next, e.autostop.detail),
      part('ws-why-dormancy', 'Dormancy', e.dormancy.next_dormancy || e.dormancy.next_deletion, e.dormancy.detail),
      h('h3', {}, 'Recent automatic actions'), actions);
  }

  // ---- resources, agents and apps ----
  function renderResources() {
    const list = (ws.latest_build.resources || []).filter((r) => !r.hide);
    if (!list.length) {
      resources.replaceChildren(h('p', { class: 'muted' }, ws.latest_build.status === 'running' ? 'No resources.' : 'No resources while the workspace is not running.'));
      return;
    }
    resources.replaceChildren(...list.map((r) => h('article', { class: 'resource' },
      h('h3', {}, r.name, ' ', h('span', { class: 'muted small' }, r.type)),
      (r.metadata || []).length ? h('dl', { class: 'meta' }, r.metadata.flatMap((m) => [h('dt', {}, m.key), h('dd', {}, m.sensitive ? '••••••' : m.value)])) : null,
      (r.agents || []).map((ag) => h('div', { class: 'agent', 'data-agent': ag.name },
        h('div', { class: 'agent-head' },
          h('strong', {}, ag.name),
          h('span', { class: `badge agent-${ag.status}` }, ag.status),
          h('span', { class: 'badge lifecycle' }, ag.lifecycle_state),
          h('span', { class: 'muted small' }, `${ag.operating_system}/${ag.architecture}${ag.version ? ` · v${ag.version}` : ''}`)),
        ag.health && !ag.health.healthy && ag.health.reason ? h('p', { class: 'field-error' }, ag.health.reason) : null,
        (ag.apps || []).length ? h('ul', { class: 'apps', 'aria-label': `Apps of ${ag.name}` }, ag.apps.filter((x) => !x.hidden).map((app) => h('li', { class: `app health-${app.health}` },
          avatar(app.display_name || app.slug, app.icon, 'icon small'),
          h('span', {}, app.display_name || app.slug),
          h('span', { class: 'muted small' }, app.external ? 'external' : app.health)))) : null,
        ag.display_apps && ag.display_apps.length ? h('p', { class: 'muted small' }, 'Built-in: ', ag.display_apps.join(', ')) : null)))));
  }

  // ---- logs ----
  let logStream = null;
  let logBuild = null;
  let logStage = null;
  function followLogs(build) {
    if (logBuild === build.id) return;
    logBuild = build.id;
    logStage = null;
    if (logStream) logStream.close();
    logList.replaceChildren();
    logList.dataset.count = '0';
    logList.dataset.build = build.id;
    logTitle.textContent = `Build #${build.build_number} (${build.transition})`;
    logStream = stream(`/workspacebuilds/${build.id}/logs${qs({ follow: 'true' })}`, {
      onMessage(log) {
        if (!log || log.id === undefined) return;
        const atBottom = logWrap.scrollHeight - logWrap.scrollTop - logWrap.clientHeight < 24;
        if (log.stage !== logStage) {
          logStage = log.stage;
          logList.append(h('li', { class: 'stage' }, log.stage));
        }
        logList.append(h('li', { class: `line ${log.log_level}` },
          h('time', { datetime: log.created_at }, new Date(log.created_at).toLocaleTimeString()), ' ', log.output));
        logList.dataset.count = String(Number(logList.dataset.count) + 1);
        if (atBottom) logWrap.scrollTop = logWrap.scrollHeight;
      },
      onClose() { logList.dataset.done = 'true'; },
    });
    delete logList.dataset.done;
  }

  // ---- timings ----
  let timingsKey = null;
  async function refreshTimings() {
    const b = ws.latest_build;
    const agents = (b.resources || []).flatMap((r) => r.agents || []);
    const key = `${b.id}:${b.job.status}:${agents.map((x) => x.lifecycle_state).join(',')}`;
    if (key === timingsKey || !DONE.has(b.job.status)) return;
    timingsKey = key;
    try {
      const t = await api.get(`/workspaces/${ws.id}/timings`);
      if (timingsKey === key && ctx.alive()) timingsBox.replaceChildren(timingsChart(t));
    } catch (err) {
      timingsBox.replaceChildren(errorBox(err));
    }
  }

  // ---- builds ----
  let buildsKey = null;
  async function refreshBuilds() {
    const b = ws.latest_build;
    const key = `${b.id}:${b.status}`;
    if (key === buildsKey) return;
    buildsKey = key;
    const builds = await api.get(`/workspaces/${ws.id}/builds${qs({ limit: 25 })}`);
    if (!ctx.alive() || buildsKey !== key) return;
    buildsBox.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { class: 'table compact', id: 'builds-table' },
      h('thead', {}, h('tr', {}, ['#', 'Action', 'Status', 'By', 'Reason', 'Started', 'Took', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, builds.map((x) => h('tr', {},
        h('td', {}, String(x.build_number)),
        h('td', {}, x.transition),
        h('td', {}, statusBadge(x.status, x.job)),
        h('td', {}, x.initiator_name),
        h('td', {}, x.reason),
        h('td', {}, timeEl(x.created_at)),
        h('td', {}, x.job.started_at && x.job.completed_at ? duration(new Date(x.job.completed_at) - new Date(x.job.started_at)) : '—'),
        h('td', {}, h('button', { type: 'button', class: 'small ghost', 'aria-label': `Show the logs of build ${x.build_number}`, onclick: () => { followLogs(x); document.getElementById('ws-logs-section').scrollIntoView(); } }, 'Logs'))))))));
  }

  // ---- parameters ----
  let paramsKey = null;
  async function refreshParams() {
    const b = ws.latest_build;
    if (paramsKey === b.id) return;
    paramsKey = b.id;
    const [values, defs] = await Promise.all([
      api.get(`/workspacebuilds/${b.id}/parameters`),
      api.get(`/templateversions/${b.template_version_id}/rich-parameters`).catch(() => []),
    ]);
    if (!ctx.alive() || paramsKey !== b.id) return;
    const current = Object.fromEntries(values.map((v) => [v.name, v.value]));
    if (!defs.length) { paramsBox.replaceChildren(h('p', { class: 'muted' }, 'This workspace has no parameters.')); return; }
    const table = h('dl', { class: 'meta', id: 'ws-param-values' }, defs.flatMap((p) => [h('dt', {}, paramLabel(p)), h('dd', {}, current[p.name] ?? '—')]));
    const editable = act.canUpdate(ws, session) ? defs.filter((p) => p.mutable) : [];
    const form = h('form', { class: 'stack', id: 'params-form', novalidate: true },
      editable.map((p) => paramField(p, current[p.name] ?? p.default_value)),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Update and restart')));
    watchParams(form, () => editable, current);
    onSubmit(form, async () => {
      if (!validateParams(form, editable, current)) { formMessage(form, 'Some parameters have invalid values.'); return; }
      try {
        await api.post(`/workspaces/${ws.id}/builds`, { transition: 'start', rich_parameter_values: paramValues(form, editable) });
      } catch (err) { throw paramErrorToField(err); }
      notice('Building with the new parameters');
    });
    paramsBox.replaceChildren(table, editable.length ? h('details', { class: 'editor' }, h('summary', {}, 'Change parameters'), form) : null);
  }

  // ---- sharing ----
  let sharingLoaded = false;
  async function refreshSharing() {
    let acl;
    try {
      acl = await api.get(`/workspaces/${ws.id}/acl`);
    } catch (err) {
      if (err.status === 403 || err.status === 404) {
        sharingBox.replaceChildren(h('p', { class: 'muted' }, 'Only the owner and admins of this workspace can change who it is shared with.'));
        return;
      }
      throw err;
    }
    if (!ctx.alive()) return;
    sharingLoaded = true;
    const patch = async (body) => {
      try {
        await api.patch(`/workspaces/${ws.id}/acl`, body);
        await refreshSharing();
      } catch (err) { noticeError(err); }
    };
    const roleSelect = (current, onChange, label) => {
      const s = h('select', { 'aria-label': label }, ['use', 'admin'].map((r) => h('option', { value: r, selected: r === current }, r)));
      s.addEventListener('change', () => onChange(s.value));
      return s;
    };
    const rows = [
      ...acl.users.map((u) => h('li', { 'data-user': u.username },
        avatar(u.username, u.avatar_url), h('span', { class: 'grow' }, u.username, u.name ? h('span', { class: 'muted small' }, ` ${u.name}`) : null),
        roleSelect(u.role, (r) => patch({ user_roles: { [u.id]: r } }), `Role of ${u.username}`),
        h('button', { type: 'button', class: 'small danger-ghost', 'aria-label': `Stop sharing with ${u.username}`, onclick: () => patch({ user_roles: { [u.id]: '' } }) }, 'Remove'))),
      ...acl.group.map((g) => h('li', { 'data-group': g.name },
        avatar(g.name, g.avatar_url, 'icon'), h('span', { class: 'grow' }, g.display_name || g.name, h('span', { class: 'muted small' }, ` group · ${g.total_member_count} members`)),
        roleSelect(g.role, (r) => patch({ group_roles: { [g.id]: r } }), `Role of group ${g.name}`),
        h('button', { type: 'button', class: 'small danger-ghost', 'aria-label': `Stop sharing with group ${g.name}`, onclick: () => patch({ group_roles: { [g.id]: '' } }) }, 'Remove'))),
    ];
    const [members, groups] = await Promise.all([
      api.get(`/organizations/${ws.organization_id}/members`).catch(() => []),
      api.get(`/organizations/${ws.organization_id}/groups`).catch(() => []),
    ]);
    if (!ctx.alive()) return;
    const taken = new Set([ws.owner_id, ...acl.users.map((u) => u.id), ...acl.group.map((g) => g.id)]);
    const who = h('select', { name: 'who', id: 'share-who', required: true },
      h('option', { value: '' }, 'Choose a user or group…'),
      h('optgroup', { label: 'Users' }, members.filter((m) => !taken.has(m.user_id)).map((m) => h('option', { value: `user:${m.user_id}` }, m.name ? `${m.username} (${m.name})` : m.username))),
      h('optgroup', { label: 'Groups' }, groups.filter((g) => !taken.has(g.id)).map((g) => h('option', { value: `group:${g.id}` }, g.display_name || g.name))));
    const role = h('select', { name: 'role', id: 'share-role' }, h('option', { value: 'use' }, 'use'), h('option', { value: 'admin' }, 'admin'));
    const form = h('form', { class: 'share-form', id: 'share-form' },
      field('Share with', who), field('Role', role, 'use: connect, start and stop. admin: also change settings and share.'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'share-submit' }, 'Share')));
    onSubmit(form, async (data) => {
      const [kind, id] = String(data.get('who')).split(':');
      const r = String(data.get('role'));
      try {
        await api.patch(`/workspaces/${ws.id}/acl`, kind === 'group' ? { group_roles: { [id]: r } } : { user_roles: { [id]: r } });
      } catch (err) {
        if (err.validations) err.validations = err.validations.map((v) => ({ ...v, field: v.field === 'user_roles' || v.field === 'group_roles' ? 'who' : v.field }));
        throw err;
      }
      notice('Sharing updated');
      await refreshSharing();
    });
    sharingBox.replaceChildren(
      rows.length ? h('ul', { class: 'acl', id: 'acl-list' }, rows) : h('p', { class: 'muted', id: 'acl-empty' }, 'Not shared with anyone.'),
      form);
  }

  function renderAll() {
    // Re-rendering replaces buttons: keep the keyboard focus where it was.
    const focusedId = document.activeElement && document.activeElement.id;
    renderHead();
    renderDeadline();
    renderSchedule();
    renderResources();
    followLogs(ws.latest_build);
    refreshTimings();
    refreshBuilds().catch(noticeError);
    refreshParams().catch(noticeError);
    refreshWhy().catch((err) => whyBox.replaceChildren(errorBox(err)));
    if (focusedId && document.activeElement !== document.getElementById(focusedId)) {
      const el = document.getElementById(focusedId);
      if (el) el.focus();
    }
  }

  renderAll();
  refreshSharing().catch((err) => sharingBox.replaceChildren(errorBox(err)));

  let watch = null;
  let retry = null;
  let backoff = 1000;
  let ended = false;
  let sharedSig = JSON.stringify(ws.shared_with || []);
  function connect() {
    watch = stream(`/workspaces/${ws.id}/watch-ws`, {
      onMessage(msg) {
        if (msg.type === 'data') {
          backoff = 1000;
          ws = msg.data;
          renderAll();
          const sig = JSON.stringify(ws.shared_with || []);
          if (sharingLoaded && sig !== sharedSig) refreshSharing().catch(() => {});
          sharedSig = sig;
        } else if (msg.type === 'error') {
          ended = true;
          gone.replaceChildren(h('strong', {}, msg.data.message), ' ', h('a', { href: '#/workspaces' }, 'Back to workspaces'));
          gone.hidden = false;
          head.querySelectorAll('.ws-actions button').forEach((b) => { b.disabled = true; });
        }
      },
      onClose() {
        if (ended || !ctx.alive()) return;
        retry = setTimeout(() => { if (ctx.alive()) connect(); }, backoff);
        backoff = Math.min(backoff * 2, 30000);
      },
    });
  }
  connect();

  // Relative times age on their own.
  const tick = setInterval(() => { if (!ended) renderDeadline(); }, 30000);

  return () => {
    ended = true;
    clearInterval(tick);
    clearTimeout(retry);
    if (watch) watch.close();
    if (logStream) logStream.close();
  };
}
