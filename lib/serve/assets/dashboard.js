'use strict';
// The dashboard's script: polls the JSON API every second; every value goes into the page as text.
const $ = (sel, el = document) => el.querySelector(sel);
let csrf = '';
let selected = null;
let timer = null;
let pipelineTick = 0;
let lastPipeline = {};
let lastJobs = [];

const SYMBOL = { pending: '… ', running: '▶ ', paused: '‖ ', done: '✓ ', failed: '✗ ', cancelled: '■ ' };
const FINAL = new Set(['done', 'failed', 'cancelled']);

async function call(method, path, body) {
  const opt = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') opt.headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const r = await fetch(path, opt);
  let data = {};
  try { data = await r.json(); } catch (e) { /* an empty answer */ }
  if (r.status === 401) { showLogin(); throw new Error('Signed out: sign in again.'); }
  if (!r.ok) throw new Error(data.error || ('HTTP ' + r.status));
  return data;
}

function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function shortTime(s) { return s ? s.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—'; }
// In the jobs table: MM-DD HH:MM:SS (UTC, as the headings say), so a row stays one line high.
function compactTime(s) { return s ? s.replace(/^\d{4}-/, '').replace('T', ' ').replace(/(\.\d+)?Z$/, '') : '—'; }
// From → to, the second without its date when it is the first's; each end kept whole, the line broken between them.
function compactSpan(box, a, b) {
  const x = compactTime(a), y = compactTime(b);
  box.append(el('span', x, { class: 'nowrap' }), ' ', el('span', '→ ' + (x.slice(0, 5) === y.slice(0, 5) ? y.slice(6) : y),
    { class: 'nowrap' }));
}
function duration(us) {
  if (!(us > 0)) return '—';
  let s = Math.round(us / 1e6);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  s %= 60;
  return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + s + 's';
}
function windowText(r) {
  if (!r.start_time && !r.end_time) return 'all of the source';
  return shortTime(r.start_time) + ' → ' + shortTime(r.end_time);
}
function speedText(r) {
  if (r.rate > 0) return r.rate + ' rec/s';
  if (r.speed_factor > 0) return r.speed_factor + 'x';
  return 'max';
}
function percent(j) {
  const p = j.progress || {}, r = j.request || {};
  if (j.state === 'done') return 100;
  if (p.records_total > 0) return Math.min(100, 100 * (p.records_done || 0) / p.records_total);
  if (r.start_time && r.end_time && p.replayed_time) {
    const a = Date.parse(r.start_time), b = Date.parse(r.end_time), c = Date.parse(p.replayed_time);
    if (b > a) return Math.max(0, Math.min(99.9, 100 * (c - a) / (b - a)));
  }
  return 0;
}

function renderJobs(jobs) {
  const tbody = $('#jobs-table tbody');
  tbody.replaceChildren();
  $('#no-jobs').hidden = jobs.length > 0;
  for (const j of jobs) {
    const r = j.request || {}, p = j.progress || {};
    const tr = el('tr', null, { 'data-job': j.id, 'data-state': j.state });
    // Each cell's content sits in one box, so the phone layout's label/value grid has exactly two items per cell.
    const cell = (label, text, cls) => {
      const td = el('td', null, { 'data-label': label });
      if (cls) td.className = cls;
      const box = el('div', text);
      td.append(box);
      tr.append(td);
      return box;
    };
    const idCell = cell('Id', null);
    idCell.append(el('code', j.id));
    if (r.name) idCell.append(el('br'), el('span', r.name, { class: 'sub' }));
    const win = cell('Window', r.start_time || r.end_time ? null : 'all of the source');
    if (r.start_time || r.end_time) compactSpan(win, r.start_time, r.end_time);
    cell('Speed', speedText(r), 'nowrap');
    cell('Target', r.target || 'dry run');
    const st = cell('State', (SYMBOL[j.state] || '') + j.state, 'state');
    tr.lastChild.setAttribute('data-state', j.state);
    if (j.error) st.append(el('span', j.error, { class: 'sub error row-error', title: j.error }));
    const pct = percent(j);
    const pc = cell('Progress', null, 'num nowrap');
    pc.append(el('progress', null, { max: '100', value: pct.toFixed(1), 'aria-label': 'progress of ' + j.id }));
    pc.append(' ', el('span', pct.toFixed(pct >= 100 || pct === 0 ? 0 : 1) + '%', { class: 'pct' }));
    // Records, rate and ETA on the line under the bar: a row stays two lines high.
    const more = [(p.records_done || 0) + (p.records_total ? ' / ' + p.records_total : '') + ' records'];
    if (p.rate) more.push(Math.round(p.rate) + ' rec/s');
    if (!FINAL.has(j.state) && p.eta_us > 0) more.push('ETA ' + duration(p.eta_us));
    pc.append(el('br'), el('span', more.join(' · '), { class: 'sub' }));
    const ran = cell('Ran', j.started_time ? null : '—');
    if (j.started_time) compactSpan(ran, j.started_time, j.finished_time);
    const actions = cell('Actions', null);
    const button = (label, verb) => {
      const b = el('button', label, { type: 'button', 'data-action': verb });
      b.addEventListener('click', () => (verb === 'retry' ? retry(j) : act(j.id, verb)));
      actions.append(b);
    };
    if (j.state === 'running' || j.state === 'pending') button('Pause', 'pause');
    if (j.state === 'paused') button('Resume', 'resume');
    if (!FINAL.has(j.state)) button('Cancel', 'cancel');
    if (j.state === 'failed' || j.state === 'cancelled') button('Retry', 'retry');
    button('Details', 'details');
    tbody.append(tr);
  }
}

async function act(id, verb) {
  $('#jobs-error').textContent = '';
  if (verb === 'details') { openDetail(id); return refresh(); }
  if (verb === 'cancel' && !confirm('Cancel job ' + id + '?')) return;
  try {
    await call('POST', '/api/jobs/' + encodeURIComponent(id) + '/' + verb);
  } catch (e) {
    $('#jobs-error').textContent = e.message;
  }
  refresh();
}

// A new job with the same request: after fixing what failed (the target, its tables), the same replay again.
async function retry(j) {
  $('#jobs-error').textContent = '';
  try {
    const again = await call('POST', '/api/jobs', j.request || {});
    openDetail(again.id);
  } catch (e) {
    $('#jobs-error').textContent = e.message;
  }
  refresh();
}

// The details open where the eye is: at the top of the page, above the jobs, scrolled into view.
function openDetail(id) {
  selected = id;
  $('#detail').hidden = false;
  $('#detail').scrollIntoView({ block: 'start' });
  $('#detail-title').focus({ preventScroll: true });
}

function renderDetail(d) {
  const j = d.job, r = j.request || {}, p = j.progress || {};
  $('#detail-id').textContent = j.id;
  const dl = $('#detail-fields');
  dl.replaceChildren();
  const row = (k, v) => dl.append(el('dt', k), el('dd', v));
  row('Name', r.name || '—');
  row('State', (SYMBOL[j.state] || '') + j.state);
  row('Window', windowText(r));
  row('Speed', speedText(r));
  row('Source', r.source || 'server default');
  row('Target', r.target || 'dry run');
  row('Tables', (r.tables || []).join(', ') || 'all');
  row('Target tables', r.create_tables ? 'created and evolved' : 'as they are');
  row('On error', r.on_error || r.on_error_name || 'stop');
  // Only a window with a start, applied to a target, has history before it to speak of.
  const before = r.rebuild ? 'built first' : r.no_base ? 'none: the window alone' : 'required in the target';
  row('History before', r.target && r.start_time ? before : '—');
  row('Records', (p.records_done || 0) + (p.records_total ? ' of ' + p.records_total : ''));
  row('Replayed up to', shortTime(p.replayed_time));
  // Only a job that is replaying can be behind its schedule.
  row('Behind schedule', FINAL.has(j.state) ? '—' : p.lag_us ? duration(p.lag_us) : 'on time');
  row('Created', shortTime(j.created_time));
  row('Started', shortTime(j.started_time));
  row('Finished', shortTime(j.finished_time));
  const err = $('#detail-error');
  err.textContent = j.error || '';
  err.hidden = !j.error;
  const h = d.history || [];
  const svg = $('#detail-chart');
  svg.replaceChildren();
  svg.style.display = h.length > 1 ? '' : 'none';
  $('#detail-nochart').hidden = h.length > 1;
  $('#detail-nochart').textContent = h.length ? 'One sample so far: no chart yet.' : 'No progress recorded.';
  $('#detail-history').hidden = h.length === 0;
  if (h.length > 1) {
    const t0 = h[0][0], t1 = h[h.length - 1][0], max = Math.max(1, ...h.map((x) => x[1]));
    const pts = h.map((x) => ((x[0] - t0) / Math.max(1, t1 - t0) * 600).toFixed(1) + ',' +
      (118 - x[1] / max * 116).toFixed(1)).join(' ');
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('points', pts);
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', 'currentColor');
    line.setAttribute('stroke-width', '2');
    svg.append(line);
  }
  const tb = $('#detail-history tbody');
  tb.replaceChildren();
  for (const x of h.slice(-10).reverse()) {
    const tr = el('tr');
    tr.append(el('td', new Date(x[0]).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')), el('td', x[1]),
      el('td', Math.round(x[2]) + ' rec/s'));
    tb.append(tr);
  }
}

function renderPipeline(s) {
  const dl = $('#pipeline-stages');
  dl.replaceChildren();
  const stage = (name, text) => dl.append(el('dt', name), el('dd', text));
  if (!s.postgres && !s.redis && !s.kafka) {
    stage('Status', 'not configured (ss-replay serve --pipeline-dbname, --pipeline-stream, --pipeline-group)');
    return;
  }
  if (s.postgres) {
    const p = s.postgres;
    stage('PostgreSQL', p.error ? 'error: ' + p.error : 'slot ' + p.slot + (p.active ? ' (capturing)' : ' (idle)') +
      ', lag ' + (p.lag_bytes || 0) + ' bytes, ' + (p.lag_seconds || 0).toFixed(1) + ' s, WAL kept ' +
      (p.retained_bytes || 0) + ' bytes');
    if (!p.error) {
      stage('Schema changes', p.ddl_trigger_version ? 'captured where they happen (trigger version ' +
        p.ddl_trigger_version + ')' : 'from Relation messages only (no ss-capture install-ddl)');
    }
    // What needs the operator: a slot keeping too much WAL, a published table without a replica identity.
    for (const w of p.warnings || []) stage('Warning', w);
  }
  if (s.redis) {
    const r = s.redis;
    stage('Redis', r.error ? 'error: ' + r.error : r.stream + ': length ' + (r.length || 0) +
      (r.groups || []).map((g) => '; ' + g.name + ' pending ' + (g.pending || 0) + ', lag ' + (g.lag || 0)).join(''));
  }
  if (s.kafka) {
    const k = s.kafka;
    stage('Kafka', k.error ? 'error: ' + k.error : k.topic + ': ' + (k.end_offsets || 0) + ' messages' +
      (k.groups || []).map((g) => '; ' + g.name + ' lag ' + (g.lag || 0) + (g.has_offsets ? '' : ' (no offsets)')).join('') +
      (k.oldest_rebuildable_time ? '; rebuildable from ' + shortTime(k.oldest_rebuildable_time) + ' (' +
        (k.checkpoints || 0) + ((k.checkpoints || 0) === 1 ? ' checkpoint)' : ' checkpoints)') :
        '; no checkpoint to rebuild from'));
  }
}

// The archive on a time line: from the oldest instant a rebuild can reach (or the earliest job window) to now, the
// rebuildable span as a band, and each job's window (the newest eight) as a bar, labelled with its name or id.
function renderTimeline() {
  const svg = $('#timeline-chart'), text = $('#timeline-text');
  svg.replaceChildren();
  const k = lastPipeline.kafka || {};
  const oldest = k.oldest_rebuildable_time ? Date.parse(k.oldest_rebuildable_time) : null;
  const windows = lastJobs.filter((j) => (j.request || {}).start_time || (j.request || {}).end_time).slice(0, 8)
    .map((j) => Object.assign({ label: (j.request.name || j.id) }, j.request));
  const now = Date.now();
  let t0 = oldest || now;
  for (const r of windows) if (r.start_time) t0 = Math.min(t0, Date.parse(r.start_time));
  if (!(t0 > 0)) t0 = now - 3600e3;
  if (t0 >= now) t0 = now - 3600e3;
  // Drawn in the box's own pixels, so the labels keep their size at any width.
  const W = Math.max(300, Math.round(svg.getBoundingClientRect().width) || 600);
  const x = (t) => (8 + (Math.min(Math.max(t, t0), now) - t0) / (now - t0) * (W - 16)).toFixed(1);
  const ns = 'http://www.w3.org/2000/svg';
  const add = (tag, attrs, label) => {
    const e = document.createElementNS(ns, tag);
    for (const [a, v] of Object.entries(attrs)) e.setAttribute(a, v);
    if (label !== undefined) e.textContent = label;
    svg.append(e);
    return e;
  };
  const rows = 1 + windows.length;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + (24 + rows * 12));
  svg.style.height = (24 + rows * 12) + 'px';
  add('line', { x1: 8, x2: W - 8, y1: 10, y2: 10, stroke: 'currentColor' });
  add('text', { x: 8, y: 22 }, shortTime(new Date(t0).toISOString()));
  add('text', { x: W - 8, y: 22, 'text-anchor': 'end' }, 'now');
  if (oldest) {
    add('rect', { x: x(oldest), y: 4, width: Math.max(1, x(now) - x(oldest)), height: 12, fill: 'currentColor',
      'fill-opacity': .25, class: 'rebuildable' });
  }
  for (const c of k.checkpoint_time || []) {
    const at = x(Date.parse(c));
    add('line', { x1: at, x2: at, y1: 1, y2: 19, stroke: 'currentColor', 'stroke-width': 2, class: 'checkpoint' })
      .append(Object.assign(document.createElementNS(ns, 'title'), { textContent: 'checkpoint ' + shortTime(c) }));
  }
  windows.forEach((r, i) => {
    const a = r.start_time ? Date.parse(r.start_time) : t0, b = r.end_time ? Date.parse(r.end_time) : now;
    const y = 28 + i * 12;
    add('rect', { x: x(a), y: y, width: Math.max(2, x(b) - x(a)), height: 8, fill: 'currentColor', class: 'window' });
    // The label after the bar, or before it when the bar reaches the right edge.
    const after = Number(x(b)) + 4 < W - 120;
    add('text', after ? { x: Number(x(b)) + 4, y: y + 8 } : { x: Number(x(a)) - 4, y: y + 8, 'text-anchor': 'end' },
      r.label);
  });
  const ticks = (k.checkpoint_time || []).length;
  text.textContent = (oldest ? 'Rebuildable from ' + shortTime(k.oldest_rebuildable_time) + ' (shaded); ticks: the ' +
    ticks + ' checkpoint' + (ticks === 1 ? '' : 's') + ' a rebuild can start from. '
    : 'No checkpoint in the archive yet: nothing can be rebuilt from it. ') +
    (windows.length ? 'Bars: the windows of the newest jobs.' : '');
}

async function refresh() {
  try {
    const d = await call('GET', '/api/jobs');
    lastJobs = d.jobs || [];
    renderJobs(lastJobs);
    if (selected) renderDetail(await call('GET', '/api/jobs/' + encodeURIComponent(selected)));
    if (pipelineTick++ % 2 === 0) {
      lastPipeline = await call('GET', '/api/pipeline');
      renderPipeline(lastPipeline);
    }
    renderTimeline();
    $('#jobs-error').textContent = '';
  } catch (e) {
    $('#jobs-error').textContent = e.message;
  }
}

function formRequest(form) {
  const f = new FormData(form);
  const req = {};
  const problems = [];
  for (const input of form.querySelectorAll('input')) input.removeAttribute('aria-invalid');
  const bad = (name, why) => { form.elements[name].setAttribute('aria-invalid', 'true'); problems.push(why); };
  // Times are typed as YYYY-MM-DD HH:MM[:SS] (a T in the middle and a trailing Z are fine too), always UTC: the
  // browser's own date picker showed a 12-hour clock under UTC labels.
  const label = { start_time: 'From', end_time: 'Until' };
  const time = (name) => {
    const v = String(f.get(name) || '').trim();
    if (!v) return null;
    const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)(:\d\d(\.\d+)?)?Z?$/.exec(v);
    const d = m ? new Date(m[1] + 'T' + m[2] + (m[3] || ':00') + 'Z') : null;
    // Date() rolls 2026-02-30 over to March and takes 24:00: only a time that reads back as typed is one.
    if (!d || isNaN(d) || d.toISOString().slice(0, 16) !== m[1] + 'T' + m[2]) { bad(name, label[name] + ' must be YYYY-MM-DD HH:MM (UTC), e.g. 2026-11-24 11:00.'); return null; }
    return d.toISOString().replace('.000Z', 'Z');
  };
  const name = String(f.get('name') || '').trim();
  if (name) req.name = name;
  const a = time('start_time'), b = time('end_time');
  if (a) req.start_time = a;
  if (b) req.end_time = b;
  if (a && b && Date.parse(a) >= Date.parse(b)) bad('end_time', 'Until must be after From.');
  // An empty form would replay the whole archive: only when asked for.
  const typed = (n) => String(f.get(n) || '').trim() !== '';
  if (!typed('start_time') && !typed('end_time') && !f.get('whole'))
    bad('start_time', 'Choose the window to replay (From, Until), or tick "No window: all of the source".');
  const speed = String(f.get('speed_factor') || '').trim();
  if (speed && speed.toLowerCase() !== 'max') {
    const n = Number(speed);
    if (!(n >= 0)) bad('speed_factor', 'Speed factor must be a number above 0, or max.');
    else if (n > 0) req.speed_factor = n;
  }
  const target = String(f.get('target') || '').trim();
  if (target) req.target = target;
  const tables = String(f.get('tables') || '').split(',').map((t) => t.trim()).filter((t) => t);
  if (tables.length) req.tables = tables;
  const source = String(f.get('source') || '').trim();
  if (source) req.source = source;
  if (f.get('create_tables')) req.create_tables = true;
  const onError = String(f.get('on_error') || 'stop');
  if (onError !== 'stop') req.on_error = onError;
  // The history before the window: built first where the server can (an archive source, a start, a target).
  const base = String(f.get('base') || 'rebuild');
  if (base === 'none') req.no_base = true;
  else if (base === 'rebuild' && a && target && (!source || source.startsWith('kafka:'))) req.rebuild = true;
  return { req, problems };
}

async function createJob(ev) {
  ev.preventDefault();
  const form = ev.target;
  const { req, problems } = formRequest(form);
  $('#form-error').textContent = problems.join('\n');
  if (problems.length) return;
  try {
    const j = await call('POST', '/api/jobs', req);
    $('#form-error').textContent = '';
    openDetail(j.id);
    refresh();
  } catch (e) {
    $('#form-error').textContent = e.message;
  }
}

function showLogin() {
  if (timer) { clearInterval(timer); timer = null; }
  lastJobs = [];
  lastPipeline = {};
  $('#app').hidden = true;
  $('#logout').hidden = true;
  $('#login').hidden = false;
  $('#token').focus();
}

function showApp() {
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#logout').hidden = false;
  refresh();
  if (!timer) timer = setInterval(refresh, 1000);
}

async function login(ev) {
  ev.preventDefault();
  $('#login-error').textContent = '';
  const r = await fetch('/login', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: $('#token').value }),
  });
  let d = {};
  try { d = await r.json(); } catch (e) { /* none */ }
  if (!r.ok) { $('#login-error').textContent = d.error || ('sign-in failed (HTTP ' + r.status + ')'); return; }
  csrf = d.csrf;
  $('#token').value = '';
  showApp();
}

async function logout() {
  try { await call('POST', '/logout'); } catch (e) { /* signed out either way */ }
  csrf = '';
  showLogin();
}

document.addEventListener('DOMContentLoaded', async () => {
  $('#login-form').addEventListener('submit', login);
  $('#create-form').addEventListener('submit', createJob);
  $('#logout').addEventListener('click', logout);
  $('#detail-close').addEventListener('click', () => { selected = null; $('#detail').hidden = true; });
  window.addEventListener('resize', renderTimeline);
  const r = await fetch('/api/session', { credentials: 'same-origin' });
  if (r.ok) { csrf = (await r.json()).csrf; showApp(); } else { showLogin(); }
});
