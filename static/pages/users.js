// Users and groups for owners and user admins; organizations for owners.

import { api, qs } from '../api.js';
import {
  h, field, avatar, timeEl, onSubmit, notice, noticeError, confirmDialog, errorBox,
} from '../dom.js';

const PAGE = 25;

function orgPicker(session, selectedId, onChange) {
  if (session.orgs.length < 2) return null;
  const s = h('select', { id: 'org-picker' }, session.orgs.map((o) => h('option', { value: o.id, selected: o.id === selectedId }, o.display_name || o.name)));
  s.addEventListener('change', () => onChange(s.value));
  return field('Organization', s);
}

// ---- users ----

export async function usersPage(ctx) {
  const { session, root } = ctx;
  let q = '';
  let page = 1;
  const roles = (await api.get('/users/roles')).filter((r) => r.name !== 'member');
  if (!ctx.alive()) return undefined;
  const tbody = h('tbody', { id: 'users-rows' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  const search = h('input', { type: 'search', id: 'users-q', name: 'q', placeholder: 'Search users…', 'aria-describedby': 'users-q-error' });
  const qError = h('p', { class: 'field-error', id: 'users-q-error', role: 'alert', hidden: true });
  const searchForm = h('form', { class: 'search', role: 'search' },
    h('label', { for: 'users-q', class: 'sr-only' }, 'Search users'),
    h('div', { class: 'search-row' }, search, h('button', { type: 'submit' }, 'Search')), qError);

  const create = h('form', { class: 'stack', id: 'create-user-form' },
    field('Email', h('input', { name: 'email', type: 'email', required: true, autocomplete: 'off' })),
    field('Username', h('input', { name: 'username', required: true, autocomplete: 'off', spellcheck: 'false' })),
    field('Full name (optional)', h('input', { name: 'name', autocomplete: 'off' })),
    field('Login type', h('select', { name: 'login_type' }, h('option', { value: 'password' }, 'Password'), h('option', { value: 'none' }, 'None (API tokens only)'))),
    field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password' }), 'Required for password logins.'),
    session.orgs.length > 1 ? field('Organization', h('select', { name: 'organization_id' }, session.orgs.map((o) => h('option', { value: o.id, selected: o.is_default }, o.display_name || o.name)))) : null,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create user')));
  onSubmit(create, async (data) => {
    const body = {
      email: String(data.get('email')),
      username: String(data.get('username')),
      name: String(data.get('name') || ''),
      login_type: String(data.get('login_type')),
      password: data.get('login_type') === 'password' ? String(data.get('password') || '') : '',
      organization_ids: [String(data.get('organization_id') || session.org.id)],
    };
    const u = await api.post('/users', body);
    notice(`User ${u.username} created`);
    create.reset();
    await load();
  });

  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Users')),
    h('details', { class: 'card editor', id: 'create-user' }, h('summary', {}, 'Create user'), create),
    searchForm,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'users-table' },
      h('thead', {}, h('tr', {}, ['User', 'Status', 'Roles', 'Last seen', ''].map((c) => h('th', { scope: 'col' }, c)))), tbody)),
    pager);

  function roleEditor(u) {
    const have = new Set(u.roles.map((r) => r.name));
    const form = h('form', { class: 'roles-form' },
      h('fieldset', {}, h('legend', { class: 'sr-only' }, `Roles of ${u.username}`),
        roles.map((r) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'role', value: r.name, checked: have.has(r.name), disabled: !r.assignable }), ' ', r.display_name || r.name))),
      h('button', { type: 'submit', class: 'small' }, 'Save roles'));
    onSubmit(form, async (data) => {
      await api.put(`/users/${u.id}/roles`, { roles: data.getAll('role') });
      notice(`Roles of ${u.username} saved`);
      await load();
    });
    return h('details', { class: 'editor' }, h('summary', {}, u.roles.map((r) => r.display_name || r.name).join(', ') || 'Member'), form);
  }

  function row(u) {
    const suspended = u.status === 'suspended';
    const act = async (fn, label) => {
      try { await fn(); notice(label); await load(); } catch (err) { noticeError(err); }
    };
    return h('tr', { 'data-user': u.username },
      h('td', {}, h('div', { class: 'with-avatar' }, avatar(u.username, u.avatar_url),
        h('div', {}, h('strong', {}, u.username), u.name ? h('span', { class: 'muted' }, ` ${u.name}`) : null, h('div', { class: 'muted small' }, u.email)))),
      h('td', { 'data-label': 'Status' }, h('span', { class: `badge ${u.status === 'active' ? 'status-success' : 'status-inactive'}` }, u.status)),
      h('td', { 'data-label': 'Roles' }, u.id === session.me.id ? (u.roles.map((r) => r.display_name).join(', ') || 'Member') : roleEditor(u)),
      h('td', { 'data-label': 'Last seen' }, u.last_seen_at ? timeEl(u.last_seen_at) : 'Never'),
      h('td', { class: 'row-actions' }, u.id === session.me.id ? null : [
        suspended
          ? h('button', { type: 'button', class: 'small', onclick: () => act(() => api.put(`/users/${u.id}/status/activate`), `${u.username} activated`) }, 'Activate')
          : h('button', {
            type: 'button', class: 'small',
            onclick: async () => {
              if (await confirmDialog({ title: 'Suspend user', body: h('p', {}, `Suspend ${u.username}? They will be signed out and cannot sign in again until activated.`), confirm: 'Suspend', danger: true })) {
                act(() => api.put(`/users/${u.id}/status/suspend`), `${u.username} suspended`);
              }
            },
          }, 'Suspend'),
        h('button', {
          type: 'button', class: 'small danger-ghost',
          onclick: async () => {
            if (await confirmDialog({ title: 'Delete user', body: h('p', {}, `Delete ${u.username}? This cannot be undone.`), confirm: 'Delete', danger: true, typeToConfirm: u.username })) {
              act(() => api.del(`/users/${u.id}`), `${u.username} deleted`);
            }
          },
        }, 'Delete'),
      ]));
  }

  async function load() {
    qError.hidden = true;
    search.removeAttribute('aria-invalid');
    let res;
    try {
      res = await api.get('/users' + qs({ q, limit: PAGE, offset: (page - 1) * PAGE }));
    } catch (err) {
      if (err.status !== 400) throw err;
      search.setAttribute('aria-invalid', 'true');
      qError.replaceChildren(h('strong', {}, err.message), (err.validations || []).length ? h('ul', {}, err.validations.map((v) => h('li', {}, v.detail))) : null);
      qError.hidden = false;
      return;
    }
    if (!ctx.alive()) return;
    tbody.replaceChildren(...res.users.map(row));
    const pages = Math.max(1, Math.ceil(res.count / PAGE));
    pager.replaceChildren(
      h('span', { class: 'muted' }, `${res.count} user${res.count === 1 ? '' : 's'}`),
      h('button', { type: 'button', disabled: page <= 1, onclick: () => { page -= 1; load(); } }, 'Previous'),
      h('span', {}, `Page ${page} of ${pages}`),
      h('button', { type: 'button', disabled: page >= pages, onclick: () => { page += 1; load(); } }, 'Next'));
  }
  searchForm.addEventListener('submit', (ev) => { ev.preventDefault(); q = search.value.trim(); page = 1; load().catch(noticeError); });
  await load();
  return undefined;
}

// ---- groups ----

export async function groupsPage(ctx) {
  const { session, root } = ctx;
  let orgId = session.org.id;
  const list = h('div', { id: 'groups-list' });
  const create = h('form', { class: 'stack', id: 'create-group-form' },
    field('Name', h('input', { name: 'name', required: true, autocomplete: 'off', spellcheck: 'false' })),
    field('Display name (optional)', h('input', { name: 'display_name', autocomplete: 'off' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create group')));
  onSubmit(create, async (data) => {
    const g = await api.post(`/organizations/${orgId}/groups`, { name: String(data.get('name')), display_name: String(data.get('display_name') || '') });
    notice(`Group ${g.name} created`);
    create.reset();
    await load();
  });
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Groups')),
    orgPicker(session, orgId, (id) => { orgId = id; load().catch(noticeError); }),
    h('details', { class: 'card editor' }, h('summary', {}, 'Create group'), create),
    list);

  async function load() {
    const [groups, members] = await Promise.all([
      api.get(`/organizations/${orgId}/groups`),
      api.get(`/organizations/${orgId}/members`).catch(() => []),
    ]);
    if (!ctx.alive()) return;
    list.replaceChildren(...groups.map((g) => {
      const everyone = g.id === g.organization_id;
      const patch = async (body, label) => {
        try { await api.patch(`/groups/${g.id}`, body); notice(label); await load(); } catch (err) { noticeError(err); }
      };
      const inGroup = new Set((g.members || []).map((m) => m.id));
      const add = h('form', { class: 'inline-form' },
        h('label', { for: `add-${g.id}`, class: 'sr-only' }, `Add a member to ${g.name}`),
        h('select', { id: `add-${g.id}`, name: 'user', required: true },
          h('option', { value: '' }, 'Add member…'),
          members.filter((m) => !inGroup.has(m.user_id)).map((m) => h('option', { value: m.user_id }, m.username))),
        h('button', { type: 'submit', class: 'small' }, 'Add'));
      onSubmit(add, async (data) => {
        await api.patch(`/groups/${g.id}`, { add_users: [String(data.get('user'))] });
        notice(`Added to ${g.name}`);
        await load();
      });
      return h('section', { class: 'card', 'data-group': g.name, 'aria-label': `Group ${g.name}` },
        h('div', { class: 'page-head' },
          h('h2', {}, g.display_name || g.name, h('span', { class: 'muted small' }, ` ${g.total_member_count} member${g.total_member_count === 1 ? '' : 's'}`)),
          everyone ? h('span', { class: 'muted small' }, 'Every member of the organization') : h('button', {
            type: 'button', class: 'small danger-ghost',
            onclick: async () => {
              if (await confirmDialog({ title: 'Delete group', body: h('p', {}, `Delete ${g.name}?`), confirm: 'Delete', danger: true })) {
                try { await api.del(`/groups/${g.id}`); notice(`Group ${g.name} deleted`); await load(); } catch (err) { noticeError(err); }
              }
            },
          }, 'Delete')),
        h('ul', { class: 'members' }, (g.members || []).map((m) => h('li', {},
          avatar(m.username, m.avatar_url), h('span', { class: 'grow' }, m.username, h('span', { class: 'muted small' }, ` ${m.email}`)),
          everyone ? null : h('button', { type: 'button', class: 'small ghost', 'aria-label': `Remove ${m.username} from ${g.name}`, onclick: () => patch({ remove_users: [m.id] }, `Removed from ${g.name}`) }, 'Remove')))),
        everyone ? null : add);
    }));
  }
  await load();
  return undefined;
}

// ---- organizations ----

export async function organizationsPage(ctx) {
  const { session, root } = ctx;
  const list = h('div', { id: 'orgs-list' });
  const create = h('form', { class: 'stack', id: 'create-org-form' },
    field('Name', h('input', { name: 'name', required: true, autocomplete: 'off', spellcheck: 'false' })),
    field('Display name (optional)', h('input', { name: 'display_name', autocomplete: 'off' })),
    field('Description (optional)', h('input', { name: 'description', autocomplete: 'off' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create organization')));
  onSubmit(create, async (data) => {
    const o = await api.post('/organizations', Object.fromEntries(data.entries()));
    notice(`Organization ${o.name} created`);
    create.reset();
    session.orgs = await api.get('/users/me/organizations');
    await load();
  });
  root.replaceChildren(h('div', { class: 'page-head' }, h('h1', {}, 'Organizations')),
    h('details', { class: 'card editor' }, h('summary', {}, 'Create organization'), create), list);

  async function load() {
    const [orgs, users] = await Promise.all([api.get('/organizations'), api.get('/users' + qs({ limit: 100 })).then((r) => r.users).catch(() => [])]);
    if (!ctx.alive()) return;
    const cards = await Promise.all(orgs.map(async (o) => {
      let members = [];
      try { members = await api.get(`/organizations/${o.id}/members`); } catch (err) { return h('section', { class: 'card' }, h('h2', {}, o.display_name || o.name), errorBox(err)); }
      const ids = new Set(members.map((m) => m.user_id));
      const add = h('form', { class: 'inline-form' },
        h('label', { for: `org-add-${o.id}`, class: 'sr-only' }, `Add a member to ${o.name}`),
        h('select', { id: `org-add-${o.id}`, name: 'user', required: true }, h('option', { value: '' }, 'Add member…'),
          users.filter((u) => !ids.has(u.id)).map((u) => h('option', { value: u.id }, u.username))),
        h('button', { type: 'submit', class: 'small' }, 'Add'));
      onSubmit(add, async (data) => {
        await api.post(`/organizations/${o.id}/members/${data.get('user')}`);
        notice(`Added to ${o.name}`);
        await load();
      });
      return h('section', { class: 'card', 'data-org': o.name, 'aria-label': `Organization ${o.name}` },
        h('div', { class: 'page-head' },
          h('h2', {}, o.display_name || o.name, o.is_default ? h('span', { class: 'badge status-success' }, 'Default') : null),
          o.is_default ? null : h('button', {
            type: 'button', class: 'small danger-ghost',
            onclick: async () => {
              if (await confirmDialog({ title: 'Delete organization', body: h('p', {}, `Delete ${o.name}? Organizations that still have templates or workspaces cannot be deleted.`), confirm: 'Delete', danger: true, typeToConfirm: o.name })) {
                try { await api.del(`/organizations/${o.id}`); notice(`Organization ${o.name} deleted`); await load(); } catch (err) { noticeError(err); }
              }
            },
          }, 'Delete')),
        o.description ? h('p', { class: 'muted' }, o.description) : null,
        h('ul', { class: 'members' }, members.map((m) => h('li', {}, avatar(m.username, m.avatar_url),
          h('span', { class: 'grow' }, m.username, h('span', { class: 'muted small' }, ` ${(m.roles || []).map((r) => r.display_name || r.name).join(', ')}`)),
          o.is_default ? null : h('button', {
            type: 'button', class: 'small ghost', 'aria-label': `Remove ${m.username} from ${o.name}`,
            onclick: async () => { try { await api.del(`/organizations/${o.id}/members/${m.user_id}`); await load(); } catch (err) { noticeError(err); } },
          }, 'Remove')))),
        add);
    }));
    list.replaceChildren(...cards);
  }
  await load();
  return undefined;
}
