// The timings chart of a build: provisioner stages, resources, agent
// connection and scripts as horizontal bars on one time axis (SVG), with a
// table of the same numbers for screen readers and copying.

import { h, svg, duration } from './dom.js';

const LABEL_W = 230;
const CHART_W = 560;
const RIGHT = 70;
const ROW_H = 24;
const HEAD_H = 22;
const AXIS_H = 28;

const STAGE_ORDER = ['init', 'plan', 'graph', 'apply'];

function ms(iso) {
  return new Date(iso).getTime();
}

function niceStep(span) {
  const target = span / 6;
  const steps = [10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000];
  return steps.find((s) => s >= target) || 3600000;
}

function tickLabel(v, step) {
  if (step < 1000) return `${(v / 1000).toFixed(step < 100 ? 2 : 1)} s`;
  if (step < 60000) return `${Math.round(v / 1000)} s`;
  return `${Math.round(v / 60000)} min`;
}

// The rows of the chart, in sections.
export function timingRows(t) {
  const sections = [];
  const prov = (t.provisioner_timings || []).filter((x) => x.started_at && x.ended_at);
  const stages = new Map();
  for (const x of prov) {
    const s = stages.get(x.stage) || { start: Infinity, end: -Infinity };
    s.start = Math.min(s.start, ms(x.started_at));
    s.end = Math.max(s.end, ms(x.ended_at));
    stages.set(x.stage, s);
  }
  const stageRows = [...stages.entries()]
    .sort((a, b) => (STAGE_ORDER.indexOf(a[0]) + 1 || 99) - (STAGE_ORDER.indexOf(b[0]) + 1 || 99) || a[1].start - b[1].start)
    .map(([stage, s]) => ({ label: stage, start: s.start, end: s.end, kind: 'stage' }));
  if (stageRows.length) sections.push(['Provisioner stages', stageRows]);
  const res = prov.filter((x) => x.resource)
    .map((x) => ({ label: `${x.resource} (${x.action})`, start: ms(x.started_at), end: ms(x.ended_at), kind: 'resource' }))
    .sort((a, b) => a.start - b.start);
  if (res.length) sections.push(['Resources', res]);
  const agent = [
    ...(t.agent_connection_timings || []).filter((x) => x.started_at && x.ended_at)
      .map((x) => ({ label: `${x.workspace_agent_name}: ${x.stage === 'connect' ? 'connection' : x.stage}`, start: ms(x.started_at), end: ms(x.ended_at), kind: 'connect' })),
    ...(t.agent_script_timings || []).filter((x) => x.started_at && x.ended_at)
      .map((x) => ({ label: `${x.workspace_agent_name}: ${x.display_name}`, start: ms(x.started_at), end: ms(x.ended_at), kind: x.status === 'ok' || !x.status ? 'script' : 'script failed', status: x.status, exit: x.exit_code })),
  ].sort((a, b) => a.start - b.start);
  if (agent.length) sections.push(['Agent', agent]);
  return sections;
}

export function timingsChart(t) {
  const sections = timingRows(t);
  const all = sections.flatMap(([, rows]) => rows);
  if (!all.length) return h('p', { class: 'muted', id: 'timings-empty' }, 'No timings recorded for this build yet.');
  const t0 = Math.min(...all.map((r) => r.start));
  const t1 = Math.max(...all.map((r) => r.end));
  const span = Math.max(t1 - t0, 1);
  const step = niceStep(span);
  const axisEnd = Math.ceil(span / step) * step;
  const x = (v) => LABEL_W + ((v - t0) / axisEnd) * CHART_W;
  const height = AXIS_H + sections.reduce((n, [, rows]) => n + HEAD_H + rows.length * ROW_H, 0) + 6;
  const width = LABEL_W + CHART_W + RIGHT;
  const title = `Build timings: ${duration(span)} from the first stage to the last script`;
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, width: '100%', class: 'timings-chart', id: 'timings-chart',
    role: 'img', 'aria-label': title, 'data-bars': all.length, preserveAspectRatio: 'xMinYMin meet',
  }, svg('title', {}, title));
  // Axis and grid.
  for (let v = 0; v <= axisEnd + 1e-6; v += step) {
    const gx = LABEL_W + (v / axisEnd) * CHART_W;
    root.append(
      svg('line', { x1: gx, x2: gx, y1: AXIS_H - 6, y2: height, class: 'grid' }),
      svg('text', { x: gx, y: AXIS_H - 10, class: 'tick', 'text-anchor': 'middle' }, tickLabel(v, step)));
  }
  let y = AXIS_H;
  for (const [name, rows] of sections) {
    root.append(svg('text', { x: 4, y: y + HEAD_H - 7, class: 'section' }, name));
    y += HEAD_H;
    for (const r of rows) {
      const bx = x(r.start);
      const bw = Math.max(2, x(r.end) - bx);
      const label = r.label.length > 34 ? r.label.slice(0, 33) + '…' : r.label;
      const d = duration(r.end - r.start);
      // Each row is a group whose <title> is the tooltip of label and bar.
      root.append(svg('g', { class: 'row', 'data-label': r.label },
        svg('title', {}, `${r.label}: ${d}${r.status && r.status !== 'ok' ? ` (${r.status}, exit ${r.exit})` : ''}`),
        svg('text', { x: 12, y: y + ROW_H / 2 + 4, class: 'label' }, label),
        svg('rect', { x: bx, y: y + 4, width: bw, height: ROW_H - 8, rx: 3, class: `bar ${r.kind}` }),
        svg('text', { x: bx + bw + 6, y: y + ROW_H / 2 + 4, class: 'dur' }, d)));
      y += ROW_H;
    }
  }
  const table = h('table', { class: 'table compact' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Step'), h('th', { scope: 'col' }, 'Starts after'), h('th', { scope: 'col' }, 'Duration'))),
    h('tbody', {}, sections.flatMap(([name, rows]) => [
      h('tr', {}, h('th', { colspan: 3, scope: 'colgroup' }, name)),
      ...rows.map((r) => h('tr', {}, h('td', {}, r.label), h('td', {}, duration(r.start - t0)), h('td', {}, duration(r.end - r.start)))),
    ])));
  return h('div', { class: 'timings' },
    h('div', { class: 'chart-scroll' }, root),
    h('details', {}, h('summary', {}, 'Timings as a table'), h('div', { class: 'table-wrap' }, table)));
}
