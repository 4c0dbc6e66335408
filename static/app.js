// The dashboard's shell: session, navigation and the hash router. Each page
// is a module whose render function fills <main> and returns a cleanup that
// closes its streams when the user leaves.

import { api, onSignedOut } from './api.js';
import { h, field, onSubmit, notice } from './dom.js';
import { workspacesPage } from './pages/workspaces.js';
import { createWorkspacePage } from './pages/create.js';
import { workspacePage } from './pages/workspace.js';
import { templatesPage, templatePage, uploadTemplatePage } from './pages/templates.js';
import { usersPage, groupsPage, organizationsPage } from './pages/users.js';
import { deploymentPage } from './pages/deployment.js';

const main = document.getElementById('main');

// Anything the content security policy blocks is a bug of this page: say so.
document.addEventListener('securitypolicyviolation', (ev) => {
  notice(`Blocked by the content security policy: ${ev.violatedDirective} ${ev.blockedURI || ''}`, 'error');
});

export const session = {
  me: null,
  orgs: [],
  roles: new Set(),
  get org() { return this.orgs.find((o) => o.is_default) || this.orgs[0]; },
  get isOwner() { return this.roles.has('owner'); },
  get canManageUsers() { return this.roles.has('owner') || this.roles.has('user-admin'); },
  get canManageTemplates() { return this.roles.has('owner') || this.roles.has('template-admin'); },
};

const routes = [
  [/^\/workspaces\/new$/, createWorkspacePage, 'workspaces'],
  [/^\/workspaces$/, workspacesPage, 'workspaces'],
  [/^\/@([^/]+)\/([^/]+)$/, workspacePage, 'workspaces'],
  [/^\/templates\/new$/, uploadTemplatePage, 'templates'],
  [/^\/templates\/([^/]+)$/, templatePage, 'templates'],
  [/^\/templates$/, templatesPage, 'templates'],
  [/^\/users$/, usersPage, 'users'],
  [/^\/groups$/, groupsPage, 'groups'],
  [/^\/organizations$/, organizationsPage, 'organizations'],
  [/^\/deployment$/, deploymentPage, 'deployment'],
];

let cleanup = null;
let generation = 0;

export function navigate(hash, { replace = false } = {}) {
  if (replace) {
    history.replaceState(null, '', hash);
    render();
  } else if (location.hash === hash) {
    render();
  } else {
    location.hash = hash;
  }
}

function leave() {
  if (cleanup) {
    try { cleanup(); } catch { /* the page is gone anyway */ }
    cleanup = null;
  }
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/workspaces';
  const [path, query = ''] = raw.split('?');
  return { path: decodeURI(path), query: new URLSearchParams(query) };
}

async function render(moved = false) {
  if (!session.me) return;
  leave();
  const gen = ++generation;
  const { path, query } = parseHash();
  const route = routes.find(([re]) => re.test(path));
  document.getElementById('banner').hidden = true;
  markNav(route ? route[2] : '');
  if (!route) {
    main.replaceChildren(h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '#/workspaces' }, 'Go to workspaces')));
    return;
  }
  const [re, page] = route;
  const params = path.match(re).slice(1).map(decodeURIComponent);
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const ctx = { params, query, session, root: main, alive: () => gen === generation };
  try {
    const done = await page(ctx);
    if (gen === generation) {
      cleanup = typeof done === 'function' ? done : null;
      // A new screen: screen readers start at its content, unless the page
      // already put the focus on a field.
      if (moved && (document.activeElement === document.body || !main.contains(document.activeElement))) {
        main.focus({ preventScroll: true });
      }
    } else if (typeof done === 'function') done();
  } catch (err) {
    if (gen !== generation) return;
    main.replaceChildren(h('h1', {}, 'Something went wrong'),
      h('div', { class: 'form-error', role: 'alert' }, h('strong', {}, err.message || String(err)),
        err.detail ? h('p', { class: 'detail' }, err.detail) : null));
  }
}

function markNav(section) {
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function renderShell() {
  const nav = document.getElementById('nav');
  const links = [['workspaces', 'Workspaces'], ['templates', 'Templates']];
  if (session.canManageUsers) links.push(['users', 'Users'], ['groups', 'Groups']);
  if (session.isOwner) links.push(['organizations', 'Organizations'], ['deployment', 'Deployment']);
  nav.replaceChildren(...links.map(([s, label]) => h('a', { href: `#/${s}`, 'data-section': s }, label)));
  nav.hidden = false;
  const account = document.getElementById('account');
  const roles = session.me.roles.map((r) => r.display_name || r.name).join(', ') || 'Member';
  account.replaceChildren(
    h('span', { class: 'who' },
      h('strong', { id: 'me-username' }, session.me.username),
      h('span', { class: 'muted roles' }, roles)),
    h('button', { type: 'button', class: 'ghost', id: 'sign-out', onclick: signOut }, 'Sign out'));
  account.hidden = false;
}

function hideShell() {
  document.getElementById('nav').hidden = true;
  document.getElementById('account').hidden = true;
}

async function loadSession() {
  const me = await api.get('/users/me');
  session.me = me;
  session.roles = new Set(me.roles.map((r) => r.name));
  session.orgs = await api.get('/users/me/organizations');
  renderShell();
}

async function signOut() {
  leave();
  try { await api.post('/users/logout'); } catch { /* signed out either way */ }
  session.me = null;
  hideShell();
  await start();
}

function setupPage() {
  const form = h('form', { class: 'card narrow', 'aria-labelledby': 'setup-title' },
    h('h1', { id: 'setup-title' }, 'Create the first user'),
    h('p', { class: 'muted' }, 'This user becomes the owner of the deployment.'),
    field('Email', h('input', { name: 'email', type: 'email', required: true, autocomplete: 'email' })),
    field('Username', h('input', { name: 'username', required: true, autocomplete: 'username' })),
    field('Full name (optional)', h('input', { name: 'name', autocomplete: 'name' })),
    field('Password', h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
    h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, 'Create account')));
  onSubmit(form, async (data) => {
    const body = Object.fromEntries(data.entries());
    await api.post('/users/first', body);
    await api.post('/users/login', { email: body.email, password: body.password });
    await afterSignIn();
  });
  main.replaceChildren(form);
  form.querySelector('input').focus();
}

function loginPage() {
  const form = h('form', { class: 'card narrow', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Sign in to warren'),
    field('Email', h('input', { name: 'email', type: 'email', required: true, autocomplete: 'email' })),
    field('Password', h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' })),
    h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, 'Sign in')));
  onSubmit(form, async (data) => {
    await api.post('/users/login', Object.fromEntries(data.entries()));
    await afterSignIn();
  });
  main.replaceChildren(form);
  form.querySelector('input').focus();
}

async function afterSignIn() {
  await loadSession();
  if (!location.hash || location.hash === '#/' || location.hash === '#') {
    history.replaceState(null, '', '#/workspaces');
  }
  await render();
}

async function start() {
  try {
    await loadSession();
  } catch (err) {
    if (err.status !== 401) throw err;
    hideShell();
    try {
      await api.get('/users/first');
      loginPage();
    } catch (e) {
      if (e.status === 404) setupPage();
      else throw e;
    }
    return;
  }
  if (!location.hash) history.replaceState(null, '', '#/workspaces');
  await render();
}

onSignedOut(() => {
  if (!session.me) return;
  leave();
  session.me = null;
  hideShell();
  notice('You are signed out or your session has expired. Please sign in again to continue.', 'error');
  loginPage();
});

window.addEventListener('hashchange', () => render(true));

api.get('/buildinfo').then((info) => {
  document.getElementById('version').textContent = `warren ${info.version}`;
}).catch(() => {});

start().catch((err) => {
  main.replaceChildren(h('div', { class: 'form-error', role: 'alert' }, err.message || String(err)));
});
