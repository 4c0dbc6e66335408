// The admin page talks to the same API as any Coder client; the session
// cookie set by login authenticates it, and every write carries the
// session's CSRF token (set by login as the csrf_token cookie, and in the
// page's csrf-token meta tag when it is served to a signed-in browser).
const $ = (id) => document.getElementById(id);

function csrfToken() {
  const cookie = document.cookie.split('; ').find((c) => c.startsWith('csrf_token='));
  if (cookie) return decodeURIComponent(cookie.slice('csrf_token='.length));
  const meta = document.querySelector('meta[property="csrf-token"]');
  return meta ? meta.content : '';
}

async function api(method, path, body) {
  const headers = body ? { 'Content-Type': 'application/json' } : {};
  if (method !== 'GET') headers['X-CSRF-TOKEN'] = csrfToken();
  const res = await fetch('/api/v2' + path, {
    method,
    headers,
    body: body ? JSON.stringify(body) : undefined,
    credentials: 'same-origin',
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const err = new Error((data && data.message) || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

function show(id) {
  for (const s of ['setup', 'login', 'dashboard']) $(s).hidden = s !== id;
  $('logout').hidden = id !== 'dashboard';
}

function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}

async function refresh() {
  $('error').textContent = '';
  try {
    const info = await api('GET', '/buildinfo');
    $('version').textContent = info.version;
    try {
      await api('GET', '/users/first');
    } catch (e) {
      if (e.status === 404) return show('setup');
      throw e;
    }
    let me;
    try {
      me = await api('GET', '/users/me');
    } catch (e) {
      if (e.status === 401) return show('login');
      throw e;
    }
    $('me').textContent = `Signed in as ${me.username} (${me.email})`;
    const users = await api('GET', '/users?limit=100');
    $('users').replaceChildren(...users.users.map((u) => {
      const tr = document.createElement('tr');
      for (const v of [u.username, u.email, u.status, u.roles.map((r) => r.display_name).join(', ')]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    }));
    const orgs = await api('GET', '/organizations');
    $('orgs').replaceChildren(...orgs.map((o) => {
      const li = document.createElement('li');
      li.textContent = `${o.display_name || o.name} (${o.name})${o.is_default ? ' — default' : ''}`;
      return li;
    }));
    show('dashboard');
  } catch (e) {
    $('error').textContent = e.message;
  }
}

$('setup-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const body = formData(ev.target);
  try {
    await api('POST', '/users/first', body);
    await api('POST', '/users/login', { email: body.email, password: body.password });
    refresh();
  } catch (e) { $('error').textContent = e.message; }
});

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    await api('POST', '/users/login', formData(ev.target));
    refresh();
  } catch (e) { $('error').textContent = e.message; }
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/users/logout').catch(() => {});
  refresh();
});

refresh();
