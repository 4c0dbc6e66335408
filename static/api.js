// The page speaks the same API as every Coder client. It authenticates with
// the session cookie that login sets (never keeping the token itself) and
// sends the CSRF token, read from its cookie, on every writing request.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `Request failed with status ${status}`);
    this.status = status;
    this.detail = (body && body.detail) || '';
    this.validations = (body && Array.isArray(body.validations)) ? body.validations : [];
  }
}

export function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

function headers(method, contentType) {
  const h = { Accept: 'application/json' };
  if (contentType) h['Content-Type'] = contentType;
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = cookie('csrf_token');
    if (csrf) h['X-CSRF-TOKEN'] = csrf;
  }
  return h;
}

// Listeners told when a request answers 401 (the session ended).
const signedOut = new Set();
export function onSignedOut(fn) { signedOut.add(fn); }

async function send(method, path, body, contentType) {
  const res = await fetch('/api/v2' + path, {
    method,
    headers: headers(method, contentType),
    body,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text }; }
  }
  if (!res.ok && res.status !== 304) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && !path.startsWith('/users/login')) signedOut.forEach((fn) => fn(err));
    throw err;
  }
  return data;
}

export const api = {
  get: (path) => send('GET', path),
  post: (path, body) => send('POST', path, JSON.stringify(body ?? {}), 'application/json'),
  put: (path, body) => send('PUT', path, JSON.stringify(body ?? {}), 'application/json'),
  patch: (path, body) => send('PATCH', path, JSON.stringify(body ?? {}), 'application/json'),
  del: (path) => send('DELETE', path),
  upload: (path, bytes, contentType) => send('POST', path, bytes, contentType),
};

// A POST answered with a file: its bytes and the name the server gave it.
export async function download(path) {
  const res = await fetch('/api/v2' + path, {
    method: 'POST',
    headers: headers('POST'),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (!res.ok) {
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, data);
  }
  const disposition = res.headers.get('Content-Disposition') || '';
  const match = disposition.match(/filename="([^"]+)"/);
  return { blob: await res.blob(), filename: match ? match[1] : 'download' };
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

// A one-way WebSocket of JSON messages. The browser sends the session
// cookie with the upgrade request. `onClose(reason, opened)` tells whether a
// message ever arrived, so a refused upgrade can be told from a dropped one.
export function stream(path, { onMessage, onClose }) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/api/v2${path}`);
  let opened = false;
  let closed = false;
  ws.onmessage = (ev) => {
    opened = true;
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    onMessage(msg);
  };
  ws.onclose = (ev) => {
    if (closed) return;
    closed = true;
    if (onClose) onClose(ev.reason || '', opened, ev.code);
  };
  return {
    close() {
      closed = true;
      ws.close();
    },
  };
}
