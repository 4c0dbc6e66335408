// Workspace actions shared by the list and the workspace page, with the
// confirmations Coder asks for before destructive ones.

import { api, stream } from './api.js';
import { h, confirmDialog } from './dom.js';

const IN_PROGRESS = new Set(['pending', 'starting', 'stopping', 'deleting', 'canceling']);

// Whether the viewer may change the workspace's settings: its owner, a
// site owner, or someone it is shared with as `admin`. (Shared through a
// group, the page cannot tell; the server has the last word anyway.)
export function canUpdate(ws, session) {
  if (ws.owner_id === session.me.id || session.isOwner) return true;
  return (ws.shared_with || []).some((s) => s.actor_type === 'user' && s.id === session.me.id && (s.roles || []).includes('admin'));
}

// Sharing never grants deletion: only the owner and site owners delete.
export function canDelete(ws, session) {
  return ws.owner_id === session.me.id || session.isOwner;
}

// What can be done to a workspace in its current state (Coder's
// abilitiesByWorkspaceStatus, simplified to warren's transitions).
export function abilities(ws, session) {
  const status = ws.latest_build.status;
  const dormant = !!ws.dormant_at;
  const a = new Set();
  if (status === 'deleted') return a;
  if (IN_PROGRESS.has(status)) {
    if (status !== 'canceling' && (ws.template_allow_user_cancel_workspace_jobs || session.isOwner)) a.add('cancel');
    return a;
  }
  const update = canUpdate(ws, session);
  const del = canDelete(ws, session);
  if (dormant) {
    if (update) a.add('activate');
    if (del) a.add('delete');
    if (status === 'running') a.add('stop');
    return a;
  }
  if (status === 'running') { a.add('stop'); a.add('restart'); }
  if (status === 'stopped' || status === 'canceled') a.add('start');
  if (status === 'failed') {
    a.add('retry');
    a.add(ws.latest_build.transition === 'stop' ? 'stop' : 'start');
  }
  if (status === 'canceled') a.add('stop');
  if (ws.outdated && update) a.add('update');
  if (del) a.add('delete');
  return a;
}

export const isBusy = (ws) => IN_PROGRESS.has(ws.latest_build.status);

function build(ws, body) {
  return api.post(`/workspaces/${ws.id}/builds`, body);
}

export const start = (ws) => build(ws, { transition: 'start' });
export const stop = (ws) => build(ws, { transition: 'stop' });
export const update = (ws) => build(ws, { transition: 'start', template_version_id: ws.template_active_version_id });
export const remove = (ws, orphan = false) => build(ws, orphan ? { transition: 'delete', orphan: true } : { transition: 'delete' });
export const cancel = (ws) => api.patch(`/workspacebuilds/${ws.latest_build.id}/cancel`);
export const activate = (ws) => api.put(`/workspaces/${ws.id}/dormant`, { dormant: false });
export const favorite = (ws, on) => (on ? api.put(`/workspaces/${ws.id}/favorite`) : api.del(`/workspaces/${ws.id}/favorite`));

// Retrying repeats the failed build's transition.
export function retry(ws) {
  return build(ws, { transition: ws.latest_build.transition });
}

// Waits on the workspace's own stream until the build `buildId` is over.
function buildDone(ws, buildId) {
  return new Promise((resolve, reject) => {
    const s = stream(`/workspaces/${ws.id}/watch-ws`, {
      onMessage(msg) {
        if (msg.type !== 'data') return;
        const b = msg.data.latest_build;
        if (b.id === buildId && ['succeeded', 'failed', 'canceled'].includes(b.job.status)) {
          s.close();
          if (b.job.status === 'succeeded') resolve(msg.data); else reject(new Error(`The stop build ${b.job.status}.`));
        }
      },
      onClose(reason) { reject(new Error(reason || 'The workspace stream closed.')); },
    });
  });
}

// Restart is a stop followed, once it is over, by a start.
export async function restart(ws) {
  const b = await stop(ws);
  const stopped = await buildDone(ws, b.id);
  return start(stopped);
}

export async function confirmDelete(ws, session) {
  const data = await confirmDialog({
    title: 'Delete workspace',
    body: [h('p', {}, 'Deleting this workspace is irreversible!'),
      h('p', { class: 'muted' }, `${ws.owner_name}/${ws.name} and its resources will be destroyed.`)],
    confirm: 'Delete',
    danger: true,
    typeToConfirm: ws.name,
    extra: session.isOwner
      ? h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'orphan' }),
        ' Orphan resources (delete the workspace without destroying its resources)')
      : null,
  });
  if (!data) return null;
  return remove(ws, data.get('orphan') === 'on');
}

export async function confirmStop(ws) {
  const ok = await confirmDialog({
    title: 'Stop workspace',
    body: h('p', {}, `Stop ${ws.owner_name}/${ws.name}? Anything not saved to a persistent volume is lost.`),
    confirm: 'Stop',
  });
  return ok ? stop(ws) : null;
}

export async function confirmUpdate(ws) {
  const ok = await confirmDialog({
    title: 'Update and restart?',
    body: h('p', {}, `${ws.name} will be rebuilt on the template's active version. Anything not saved to a persistent volume is lost.`),
    confirm: 'Update',
  });
  return ok ? update(ws) : null;
}

export async function confirmRestart(ws) {
  const ok = await confirmDialog({
    title: 'Restart workspace?',
    body: h('p', {}, `${ws.name} will be stopped, then started again.`),
    confirm: 'Restart',
  });
  return ok ? restart(ws) : null;
}

// Sorts like `GET /workspaces`: the viewer's favorites, then running
// workspaces, then by owner and name.
export function compareWorkspaces(me) {
  const key = (w) => [
    w.favorite && w.owner_id === me ? 0 : 1,
    w.latest_build.status === 'running' ? 0 : 1,
    w.owner_name.toLowerCase(),
    w.name.toLowerCase(),
  ];
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] < kb[i]) return -1;
      if (ka[i] > kb[i]) return 1;
    }
    return 0;
  };
}
