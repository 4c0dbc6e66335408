// The workspaces list, live: one WebSocket (`/workspaces/watch-ws?q=`)
// sends the page, then every change to a matching workspace. Nothing polls.

import { api, qs, stream } from '../api.js';
import { h, $$, avatar, statusBadge, timeEl, relative, noticeError, notice, confirmDialog } from '../dom.js';
import * as act from '../actions.js';

const PAGE_SIZE = 25;

export const PRESETS = [
  ['My workspaces', 'owner:me'],
  ['All workspaces', ''],
  ['Running workspaces', 'status:running'],
  ['Failed workspaces', 'status:failed'],
  ['Outdated workspaces', 'outdated:true'],
  ['Shared workspaces', 'shared:true'],
  ['Dormant workspaces', 'dormant:true'],
];

function templateName(w) {
  return w.template_display_name || w.template_name;
}

function scheduleCell(w) {
  const parts = [];
  const b = w.latest_build;
  if (b.status === 'running' && b.deadline) {
    parts.push(h('span', { class: 'sched' }, 'Stops ', timeEl(b.deadline)));
  }
  if (w.next_start_at && b.status !== 'running') {
    parts.push(h('span', { class: 'sched' }, 'Starts ', timeEl(w.next_start_at)));
  }
  if (w.dormant_at) {
    parts.push(h('span', { class: 'badge status-warning' }, 'Dormant'));
    if (w.deleting_at) parts.push(h('span', { class: 'sched' }, 'Deleted ', timeEl(w.deleting_at)));
  }
  return parts.length ? parts : h('span', { class: 'muted' }, '—');
}

export async function workspacesPage(ctx) {
  const { session, root, query } = ctx;
  let q = query.has('q') ? query.get('q') : 'owner:me';
  let page = Math.max(1, parseInt(query.get('page') || '1', 10) || 1);
  let rows = [];
  let count = 0;
  let live = null;
  let retry = null;
  let backoff = 1000;
  let loaded = false;
  const selected = new Set();
  const compare = act.compareWorkspaces(session.me.id);

  const input = h('input', {
    id: 'workspaces-q', name: 'q', type: 'search', value: q, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Search workspaces…', 'aria-describedby': 'workspaces-q-error workspaces-q-hint',
  });
  const qError = h('p', { class: 'field-error', id: 'workspaces-q-error', role: 'alert', hidden: true });
  const presets = h('div', { id: 'workspaces-presets', class: 'presets', role: 'group', 'aria-label': 'Filter presets' },
    PRESETS.map(([name, value]) => h('button', {
      type: 'button', class: 'small ghost', 'data-q': value,
      onclick: () => {
        q = value;
        input.value = q;
        page = 1;
        clearQueryError();
        open();
      },
    }, name)));
  const markPreset = () => {
    for (const b of presets.querySelectorAll('button')) b.setAttribute('aria-pressed', b.dataset.q === q ? 'true' : 'false');
  };
  const searchForm = h('form', { class: 'search', role: 'search' },
    h('label', { for: 'workspaces-q', class: 'sr-only' }, 'Search workspaces'),
    presets,
    h('div', { class: 'search-row' }, input, h('button', { type: 'submit' }, 'Search')),
    h('p', { class: 'hint', id: 'workspaces-q-hint' },
      'Coder\'s query language: owner:me, status:running, template:docker, outdated:true, has-agent:connected, name:dev…'),
    qError);
  const liveState = h('span', { class: 'live', id: 'live-state', 'aria-live': 'polite' }, 'Connecting…');
  const batchBar = h('div', { class: 'batch', hidden: true, role: 'toolbar', 'aria-label': 'Selected workspaces' });
  const tbody = h('tbody', { id: 'workspaces-rows' });
  const selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select all workspaces on this page' });
  const table = h('table', { class: 'table workspaces', id: 'workspaces-table' },
    h('caption', { class: 'sr-only' }, 'Workspaces'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', class: 'check-col' }, selectAll),
      h('th', { scope: 'col' }, 'Name'),
      h('th', { scope: 'col' }, 'Template'),
      h('th', { scope: 'col' }, 'Last used'),
      h('th', { scope: 'col' }, 'Status'),
      h('th', { scope: 'col' }, 'Schedule'),
      h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
    tbody);
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });

  root.replaceChildren(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Workspaces'),
      liveState,
      h('a', { class: 'button primary', href: '#/workspaces/new', id: 'new-workspace' }, 'New workspace')),
    searchForm, batchBar, h('div', { class: 'table-wrap' }, table), pager);

  // The address keeps the query and page, so reload and back work.
  function setHash() {
    const p = new URLSearchParams();
    if (q !== 'owner:me') p.set('q', q);
    if (page > 1) p.set('page', String(page));
    const s = p.toString();
    history.replaceState(null, '', '#/workspaces' + (s ? '?' + s : ''));
  }

  function actionButtons(w) {
    const a = act.abilities(w, session);
    const key = (k) => `${w.id}:${k}`;
    const run = (label, fn) => async () => {
      try {
        const r = await fn(w);
        if (r) notice(`${label}: ${w.name}`);
      } catch (err) { noticeError(err); }
    };
    const btns = [];
    if (a.has('start')) btns.push(h('button', { type: 'button', class: 'small', 'data-key': key('start'), 'aria-label': `Start ${w.name}`, onclick: run('Starting', act.start) }, 'Start'));
    if (a.has('stop')) btns.push(h('button', { type: 'button', class: 'small', 'data-key': key('stop'), 'aria-label': `Stop ${w.name}`, onclick: run('Stopping', act.confirmStop) }, 'Stop'));
    if (a.has('restart')) btns.push(h('button', { type: 'button', class: 'small', 'data-key': key('restart'), 'aria-label': `Restart ${w.name}`, onclick: run('Restarting', act.confirmRestart) }, 'Restart'));
    if (a.has('update')) btns.push(h('button', { type: 'button', class: 'small', 'data-key': key('update'), 'aria-label': `Update ${w.name}`, onclick: run('Updating', act.confirmUpdate) }, 'Update'));
    if (a.has('retry')) btns.push(h('button', { type: 'button', class: 'small', 'data-key': key('retry'), 'aria-label': `Retry ${w.name}`, onclick: run('Retrying', act.retry) }, 'Retry'));
    if (a.has('cancel')) btns.push(h('button', { type: 'button', class: 'small', 'data-key': key('cancel'), 'aria-label': `Cancel the build of ${w.name}`, onclick: run('Canceling', act.cancel) }, 'Cancel'));
    if (a.has('activate')) btns.push(h('button', { type: 'button', class: 'small', 'data-key': key('activate'), 'aria-label': `Activate ${w.name}`, onclick: run('Activated', act.activate) }, 'Activate'));
    if (w.owner_id === session.me.id) {
      btns.push(h('button', {
        type: 'button', class: 'small ghost fav', 'data-key': key('favorite'), 'aria-pressed': w.favorite ? 'true' : 'false',
        'aria-label': w.favorite ? `Remove ${w.name} from favorites` : `Add ${w.name} to favorites`,
        onclick: run(w.favorite ? 'Removed from favorites' : 'Added to favorites', (x) => act.favorite(x, !x.favorite).then(() => true)),
      }, w.favorite ? '★' : '☆'));
    }
    if (a.has('delete')) btns.push(h('button', { type: 'button', class: 'small danger-ghost', 'data-key': key('delete'), 'aria-label': `Delete ${w.name}`, onclick: run('Deleting', (x) => act.confirmDelete(x, session)) }, 'Delete'));
    return btns;
  }

  function rowFor(w) {
    const link = `#/@${encodeURIComponent(w.owner_name)}/${encodeURIComponent(w.name)}`;
    const check = h('input', {
      type: 'checkbox', 'data-key': `${w.id}:check`, checked: selected.has(w.id),
      disabled: w.latest_build.status === 'deleting' || w.latest_build.status === 'pending',
      'aria-label': `Select ${w.owner_name}/${w.name}`,
      onchange: (ev) => { if (ev.target.checked) selected.add(w.id); else selected.delete(w.id); renderBatch(); },
    });
    return h('tr', { 'data-id': w.id, 'data-name': w.name, 'data-status': w.latest_build.status, class: selected.has(w.id) ? 'checked' : '' },
      h('td', { class: 'check-col' }, check),
      h('td', { class: 'name-cell' },
        h('div', { class: 'with-avatar' }, avatar(w.owner_name, w.owner_avatar_url),
          h('div', {},
            h('a', { href: link, class: 'ws-link', 'data-key': `${w.id}:link` }, w.name),
            w.favorite ? h('span', { class: 'star', title: 'Favorite', 'aria-label': 'Favorite' }, ' ★') : null,
            w.outdated ? h('span', { class: 'badge status-warning outdated', title: 'A newer template version is active' }, 'Outdated') : null,
            h('div', { class: 'muted small' }, h('span', { class: 'sr-only' }, 'Owner: '), w.owner_name)))),
      h('td', { 'data-label': 'Template' },
        h('div', { class: 'with-avatar' }, avatar(templateName(w), w.template_icon, 'icon'),
          h('span', {}, templateName(w)))),
      h('td', { 'data-label': 'Last used' }, timeEl(w.last_used_at, lastUsed(w.last_used_at))),
      h('td', { 'data-label': 'Status' }, statusBadge(w.latest_build.status, w.latest_build.job),
        w.latest_build.status === 'running' && !w.health.healthy
          ? h('span', { class: 'badge status-warning', title: 'Your workspace is running but some agents are unhealthy.' }, 'Unhealthy') : null),
      h('td', { 'data-label': 'Schedule' }, scheduleCell(w)),
      h('td', { class: 'row-actions' }, actionButtons(w)));
  }

  function renderRows() {
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    if (!loaded) {
      tbody.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'Loading workspaces…')));
    } else if (rows.length === 0) {
      tbody.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 7 },
        h('p', {}, !qError.hidden ? 'Fix the query to see workspaces.' : q ? 'No results matched your search' : 'Create a workspace'),
        h('p', { class: 'muted' }, q ? 'Try a different query or a preset.' : 'A workspace is your personal, customizable development environment.'),
        h('a', { class: 'button', href: '#/workspaces/new' }, 'New workspace'))));
    } else {
      tbody.replaceChildren(...rows.map(rowFor));
    }
    for (const id of [...selected]) if (!rows.some((w) => w.id === id)) selected.delete(id);
    selectAll.checked = rows.length > 0 && selected.size === rows.length;
    selectAll.indeterminate = selected.size > 0 && selected.size < rows.length;
    if (focused) {
      const el = tbody.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (el) el.focus();
    }
    renderBatch();
    renderPager();
  }

  function renderPager() {
    const pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
    const first = count === 0 ? 0 : (page - 1) * PAGE_SIZE + 1;
    const last = Math.min(count, (page - 1) * PAGE_SIZE + rows.length);
    pager.replaceChildren(
      h('span', { class: 'muted', id: 'workspaces-count' }, count === 0 ? 'No workspaces' : `Showing ${first} to ${last} of ${count} workspace${count === 1 ? '' : 's'}`),
      h('button', { type: 'button', disabled: page <= 1, onclick: () => { page -= 1; open(); } }, 'Previous'),
      h('span', { 'aria-current': 'page' }, `Page ${page} of ${pages}`),
      h('button', { type: 'button', disabled: page >= pages, onclick: () => { page += 1; open(); } }, 'Next'));
  }

  function renderBatch() {
    const chosen = rows.filter((w) => selected.has(w.id));
    batchBar.hidden = chosen.length === 0;
    if (!chosen.length) { batchBar.replaceChildren(); return; }
    const can = (k) => chosen.filter((w) => act.abilities(w, session).has(k));
    const batch = (label, list, fn) => h('button', {
      type: 'button', class: 'small', disabled: list.length === 0, onclick: () => runBatch(label, list, fn),
    }, `${label} (${list.length})`);
    const starts = can('start');
    const stops = can('stop');
    const updates = can('update');
    const deletes = can('delete');
    batchBar.replaceChildren(
      h('span', {}, `${chosen.length} selected`),
      batch('Start', starts, act.start),
      h('button', {
        type: 'button', class: 'small', disabled: stops.length === 0,
        onclick: async () => {
          const ok = await confirmDialog({ title: `Stop ${stops.length} workspace${stops.length === 1 ? '' : 's'}?`, body: h('ul', {}, stops.map((w) => h('li', {}, `${w.owner_name}/${w.name}`))), confirm: 'Stop' });
          if (ok) runBatch('Stopping', stops, act.stop);
        },
      }, `Stop (${stops.length})`),
      h('button', {
        type: 'button', class: 'small', disabled: updates.length === 0,
        onclick: async () => {
          const ok = await confirmDialog({ title: `Update ${updates.length} workspace${updates.length === 1 ? '' : 's'}?`, body: [h('p', {}, 'These workspaces will be rebuilt on their template\'s active version:'), h('ul', {}, updates.map((w) => h('li', {}, `${w.owner_name}/${w.name}`)))], confirm: 'Update' });
          if (ok) runBatch('Updating', updates, act.update);
        },
      }, `Update (${updates.length})`),
      h('button', {
        type: 'button', class: 'small danger', disabled: deletes.length === 0,
        onclick: async () => {
          const n = deletes.length;
          const ok = await confirmDialog({
            title: `Delete ${n} workspace${n === 1 ? '' : 's'}?`,
            body: [h('p', {}, 'Deleting these workspaces is irreversible!'), h('ul', {}, deletes.map((w) => h('li', {}, `${w.owner_name}/${w.name}`)))],
            confirm: 'Delete', danger: true, typeToConfirm: `delete ${n}`,
          });
          if (ok) runBatch('Deleting', deletes, (w) => act.remove(w));
        },
      }, `Delete (${deletes.length})`),
      h('button', {
        type: 'button', class: 'small ghost',
        onclick: () => runBatch('Favorites updated', chosen.filter((w) => w.owner_id === session.me.id), (w) => act.favorite(w, !w.favorite)),
      }, 'Toggle favorite'),
      h('button', { type: 'button', class: 'small ghost', onclick: () => { selected.clear(); renderRows(); } }, 'Clear selection'));
  }

  async function runBatch(label, list, fn) {
    const results = await Promise.allSettled(list.map(fn));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length) noticeError(failed[0].reason);
    else notice(`${label}: ${list.length} workspace${list.length === 1 ? '' : 's'}`);
    selected.clear();
    renderRows();
  }

  selectAll.addEventListener('change', () => {
    if (selectAll.checked) rows.forEach((w) => selected.add(w.id)); else selected.clear();
    renderRows();
  });

  function showQueryError(err) {
    input.setAttribute('aria-invalid', 'true');
    const details = (err.validations || []).map((v) => v.detail);
    qError.replaceChildren(h('strong', {}, err.message), details.length ? h('ul', {}, details.map((d) => h('li', {}, d))) : null);
    qError.hidden = false;
  }

  function clearQueryError() {
    input.removeAttribute('aria-invalid');
    qError.hidden = true;
    qError.replaceChildren();
  }

  function apply(msg) {
    if (msg.type === 'workspaces') {
      rows = msg.data.workspaces.slice();
      count = msg.data.count;
      loaded = true;
      backoff = 1000;
      liveState.textContent = 'Live';
      liveState.className = 'live on';
      renderRows();
    } else if (msg.type === 'workspace') {
      const { id, change, workspace } = msg.data;
      const i = rows.findIndex((w) => w.id === id);
      if (change === 'removed') {
        if (i >= 0) rows.splice(i, 1);
        count = Math.max(0, count - 1);
      } else if (i >= 0) {
        rows[i] = workspace;
      } else {
        rows.push(workspace);
        if (change === 'added') count += 1;
      }
      rows.sort(compare);
      renderRows();
    } else if (msg.type === 'error') {
      noticeError(msg.data);
    }
  }

  function open() {
    if (live) live.close();
    clearTimeout(retry);
    setHash();
    markPreset();
    loaded = false;
    liveState.textContent = 'Connecting…';
    liveState.className = 'live';
    renderRows();
    const path = '/workspaces/watch-ws' + qs({ q, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
    const mine = stream(path, {
      onMessage(msg) { if (live === mine) apply(msg); },
      async onClose(reason, opened) {
        if (live !== mine) return;
        live = null;
        liveState.textContent = 'Disconnected';
        liveState.className = 'live off';
        if (!opened) {
          // A refused upgrade has no readable body: ask the list endpoint
          // the same question to learn why (an invalid query, usually).
          try {
            await api.get('/workspaces' + qs({ q, limit: 1 }));
          } catch (err) {
            if (!ctx.alive()) return;
            if (err.status === 400) {
              loaded = true; rows = []; count = 0;
              showQueryError(err);
              renderRows();
              liveState.textContent = 'Invalid query';
              return;
            }
            if (err.status === 401) return;
          }
        }
        if (!ctx.alive()) return;
        retry = setTimeout(() => { if (ctx.alive()) open(); }, backoff);
        backoff = Math.min(backoff * 2, 30000);
      },
    });
    live = mine;
  }

  searchForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    q = input.value.trim();
    page = 1;
    clearQueryError();
    open();
  });

  // Relative times ("3 minutes ago") age without any new data.
  const tick = setInterval(() => {
    for (const t of $$('time', tbody)) {
      const text = t.closest('td') && t.closest('td').dataset.label === 'Last used' ? lastUsed(t.getAttribute('datetime')) : relative(t.getAttribute('datetime'));
      if (t.textContent !== text) t.textContent = text;
    }
  }, 30000);

  open();
  return () => {
    clearInterval(tick);
    clearTimeout(retry);
    if (live) { const l = live; live = null; l.close(); }
  };
}

// Coder's wording for the last-used column.
function lastUsed(iso) {
  if (!iso) return 'Never';
  const age = Date.now() - new Date(iso).getTime();
  if (age < 60 * 60 * 1000) return 'Now';
  return relative(iso);
}
