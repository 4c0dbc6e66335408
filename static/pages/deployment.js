// The deployment, for owners: what diagnostics report, and a backup of the
// database to download (`POST /warren/backup`), or on PostgreSQL where its
// backups come from (pg_dump).

import { api, download } from '../api.js';
import { h, timeEl, notice, noticeError } from '../dom.js';

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u += 1; }
  return `${u ? v.toFixed(1) : v} ${units[u]}`;
}

function counts(map) {
  const entries = Object.entries(map);
  return entries.length ? entries.map(([k, v]) => `${v} ${k}`).join(', ') : 'none';
}

export async function deploymentPage(ctx) {
  const { root } = ctx;
  const d = await api.get('/warren/diagnostics');
  if (!ctx.alive()) return;
  const status = h('p', { class: 'muted small', id: 'backup-status', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'primary', id: 'backup-download' }, 'Download a backup');
  button.onclick = async () => {
    button.disabled = true;
    status.textContent = 'Taking a backup…';
    try {
      const { blob, filename } = await download('/warren/backup');
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: filename, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      status.textContent = `${filename} (${bytes(blob.size)})`;
      status.dataset.filename = filename;
      notice(`Backup downloaded: ${filename}`);
    } catch (err) {
      status.textContent = '';
      noticeError(err);
    } finally {
      button.disabled = false;
    }
  };
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  const postgres = d.database.engine === 'postgresql';
  const backup = postgres
    ? h('section', { class: 'card', 'aria-labelledby': 'backup-title' },
      h('h2', { id: 'backup-title' }, 'Backup'),
      h('p', { id: 'backup-pg-dump' }, 'This deployment runs on PostgreSQL: back it up with ', h('code', {}, 'pg_dump -Fc'), ' and restore it with ', h('code', {}, 'pg_restore'), ' into an empty database while the replicas are stopped. The copy holds every row, password hashes included: keep it as safe as the database.'))
    : h('section', { class: 'card', 'aria-labelledby': 'backup-title' },
      h('h2', { id: 'backup-title' }, 'Backup'),
      h('p', {}, 'A consistent copy of the database, taken while the server keeps serving, verified before it is sent. It holds every row, password hashes included: keep it as safe as the database. Restore it with ', h('code', {}, 'warren restore --from FILE --db DB'), ' while the server is stopped.'),
      h('div', { class: 'actions' }, button), status);
  const size = postgres
    ? bytes(d.database.size_bytes)
    : `${bytes(d.database.size_bytes)} (+ ${bytes(d.database.wal_bytes)} WAL)`;
  root.replaceChildren(
    h('h1', {}, 'Deployment'),
    backup,
    h('section', { class: 'card', 'aria-labelledby': 'diag-title' },
      h('h2', { id: 'diag-title' }, 'Diagnostics'),
      h('dl', { class: 'meta', id: 'diagnostics' },
        row('Version', d.version),
        row('Started', timeEl(d.started_at)),
        row('Database', `${d.database.engine}, schema ${d.database.schema_version}, ${size}`),
        row('Users', counts(d.counts.users)),
        row('Templates', String(d.counts.templates)),
        row('Workspaces', counts(d.counts.workspaces)),
        row('Provisioner jobs', counts(d.counts.provisioner_jobs)),
        row('Watch streams', String(d.watchers)),
        row('Pool waits', `${d.pool.acquisitions} connections taken, slowest wait ${(d.pool.slowest_wait_seconds * 1000).toFixed(1)} ms`),
        ...Object.entries(d.workers).flatMap(([name, w]) => row(`Worker ${name}`, w.healthy ? 'healthy' : (w.running ? 'not beating' : 'stopped'))))),
  );
  return undefined;
}
