/**
 * The dashboard's browser code (inline, allowed by its hash in the CSP). Plain ES2017 without
 * template literals so it can live in this string; it only builds DOM nodes with textContent,
 * never HTML from data. When the API has operator keys, the page asks for one once, keeps it in
 * sessionStorage (gone with the tab) and sends it as a bearer header: no cookie, so no CSRF.
 */
export const DASHBOARD_SCRIPT = `
'use strict';
(function () {
  var POLL_MS = 2000, HISTORY = 90, PAGE = 50;
  var STATUSES = ['PROCESSING', 'PROCESSED', 'FAILED'];
  var history = [];
  var rows = [];
  var nextCursor = null;
  var extraPages = false;
  var lookup = null;

  function $(id) { return document.getElementById(id); }
  function text(id, value) { $(id).textContent = value; }
  function fmtInt(n) { return Number(n).toLocaleString('en-US'); }
  function fmtSeconds(s) {
    if (s === null || s === undefined) return '\\u2013';
    if (s === 0) return '0 s';
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 120) return (Math.round(s * 10) / 10) + ' s';
    if (s < 7200) return (Math.round(s / 6) / 10) + ' min';
    return (Math.round(s / 360) / 10) + ' h';
  }
  function fmtTime(iso) { return iso ? iso.replace('T', ' ').replace(/\\.\\d+Z$/, 'Z') : '\\u2013'; }
  var KEY_STORE = 'txhook.operatorKey';
  var polling = false;
  // Each poll loop belongs to one key; asking for a new key ends the running loop.
  var generation = 0;
  function storedKey() { return sessionStorage.getItem(KEY_STORE); }
  function call(method, url, body) {
    var headers = { accept: 'application/json' };
    var key = storedKey();
    if (key) headers.authorization = 'Bearer ' + key;
    var init = { method: method, headers: headers, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) { headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(url, init).then(function (r) {
      return r.json().then(function (data) {
        // Only when the refused key is still the current one: a late answer for an old key must
        // not throw away the one just entered.
        if (r.status === 401 && storedKey() === key) {
          askForKey(key ? 'That key was refused (401): check it and enter it again.'
            : 'This dashboard needs an operator key (role read, or operate to requeue).');
        }
        return { status: r.status, body: data };
      });
    });
  }
  function getJson(url) { return call('GET', url); }
  function askForKey(message) {
    sessionStorage.removeItem(KEY_STORE);
    polling = false;
    generation++;
    $('auth').hidden = false;
    $('forget').hidden = true;
    text('key-message', message);
    $('key').focus();
  }
  function useKey() {
    var key = $('key').value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    $('key').value = '';
    $('auth').hidden = true;
    $('forget').hidden = false;
    text('key-message', '');
    if (!polling) poll();
  }
  function notice(message, bad) {
    var el = $('action-message');
    el.textContent = message;
    el.className = bad ? 'notice bad' : 'notice';
  }
  function actionFailed(r, what) {
    if (r.status === 403) return notice(what + ': this key has role read; an operate key is needed.', true);
    if (r.status === 401) return notice(what + ': the key was refused.', true);
    notice(what + ': HTTP ' + r.status + (r.body && r.body.error ? ' ' + r.body.error.message : ''), true);
  }
  function requeue(id) {
    if (!window.confirm('Requeue ' + id + '? Its external call (a money movement) runs again.')) return;
    call('POST', '/v1/transactions/' + encodeURIComponent(id) + '/retry', {}).then(function (r) {
      if (r.status === 202) { notice('Requeued ' + id + ' (by ' + r.body.requeued_by + ').'); loadTable(false); }
      else if (r.status === 200) notice(id + ' was not FAILED any more: nothing changed.');
      else actionFailed(r, 'Requeue ' + id);
    });
  }
  function redrive() {
    var body = { limit: Number($('redrive-limit').value) };
    var source = $('redrive-source').value.trim(), prefix = $('redrive-prefix').value;
    if (source) body.source = source;
    if (prefix) body.last_error_prefix = prefix;
    var what = 'up to ' + body.limit + ' FAILED records' + (source ? ' from ' + source : '') +
      (prefix ? ' whose error starts with "' + prefix + '"' : '');
    if (!window.confirm('Requeue ' + what + '? Their external calls run again.')) return;
    call('POST', '/v1/transactions/retry', body).then(function (r) {
      if (r.status === 200) { notice('Redrive requeued ' + r.body.requeued + ' record(s).'); loadTable(false); }
      else actionFailed(r, 'Redrive');
    });
  }
  function setState(ok, message) {
    var el = $('state');
    el.textContent = ok ? 'live' : 'unreachable';
    el.className = ok ? 'state' : 'state down';
    text('error', message || '');
  }

  function renderStats(s) {
    STATUSES.forEach(function (status) { text('count-' + status, fmtInt(s.counts[status])); });
    text('backlog', fmtInt(s.due));
    text('oldest', fmtSeconds(s.oldest_due_age_seconds));
    text('lag-p50', fmtSeconds(s.processing_lag_seconds.p50));
    text('lag-p99', fmtSeconds(s.processing_lag_seconds.p99));
    text('lag-sample', 'over ' +
      fmtInt(s.processing_lag_seconds.sample_size) + ' recent records');
    text('tput-processed', fmtInt(s.throughput.processed_last_60s));
    text('tput-received', fmtInt(s.throughput.received_last_60s));
    text('updated', 'updated ' + fmtTime(s.generated_at));
    history.push({ at: Date.parse(s.generated_at), received: s.throughput.received_last_60s,
      processed: s.throughput.processed_last_60s });
    if (history.length > HISTORY) history.shift();
    drawChart();
  }

  var SVG = 'http://www.w3.org/2000/svg';
  function svgEl(name, attrs) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, String(attrs[k])); });
    return el;
  }
  function drawChart() {
    var svg = $('chart');
    var w = svg.clientWidth || 800, h = 180, left = 44, right = 8, top = 8, bottom = 20;
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var peak = 1;
    history.forEach(function (p) { peak = Math.max(peak, p.received, p.processed); });
    // Four gridlines at round values: the top is 4 x a 1/2/5 x 10^n step.
    var raw = peak / 4, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = mag;
    [1, 2, 5, 10].some(function (m) { step = m * mag; return step >= raw; });
    var max = step * 4;
    for (var i = 0; i <= 4; i++) {
      var y = top + (h - top - bottom) * (1 - i / 4);
      svg.appendChild(svgEl('line', { x1: left, x2: w - right, y1: y, y2: y, 'class': 'grid' }));
      var label = svgEl('text', { x: left - 6, y: y + 3, 'text-anchor': 'end', 'class': 'axis' });
      label.textContent = fmtInt(Math.round(max * i / 4));
      svg.appendChild(label);
    }
    var caption = svgEl('text', { x: w - right, y: h - 4, 'text-anchor': 'end', 'class': 'axis' });
    caption.textContent = 'last ' + Math.round(HISTORY * POLL_MS / 60000) + ' min, per 60 s window';
    svg.appendChild(caption);
    ['received', 'processed'].forEach(function (key) {
      if (history.length === 0) return;
      var pts = history.map(function (p, idx) {
        // Newest point at the right edge; older ones scroll left.
        var x = w - right - (w - left - right) * (history.length - 1 - idx) / (HISTORY - 1);
        var y = top + (h - top - bottom) * (1 - p[key] / max);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      svg.appendChild(svgEl('polyline', { points: pts.join(' '), 'class': key }));
    });
  }

  function cell(tr, value, cls) {
    var td = document.createElement('td');
    if (cls) td.className = cls;
    td.textContent = value;
    tr.appendChild(td);
    return td;
  }
  function renderTable() {
    var body = $('tx-body');
    while (body.firstChild) body.removeChild(body.firstChild);
    var q = $('search').value.trim();
    var shown = rows.filter(function (r) { return r.transaction_id.indexOf(q) === 0; });
    if (lookup && lookup.transaction_id.indexOf(q) === 0 &&
        !shown.some(function (r) { return r.transaction_id === lookup.transaction_id; })) {
      shown.unshift(lookup);
    }
    shown.forEach(function (r) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-id', r.transaction_id);
      cell(tr, r.transaction_id, 'id');
      var badge = document.createElement('span');
      badge.className = 'badge ' + r.status;
      badge.textContent = r.status;
      cell(tr, '', 'status').appendChild(badge);
      cell(tr, r.amount + ' ' + r.currency, 'amount');
      // calls / failed attempts / claims: how often downstream was called, failed, leased.
      cell(tr, r.calls + ' / ' + r.attempts + ' / ' + r.claims, 'counters');
      cell(tr, fmtTime(r.created_at));
      cell(tr, fmtTime(r.processed_at));
      cell(tr, r.last_error || '');
      cell(tr, r.requeued_by ? r.requeued_by + ' ' + fmtTime(r.requeued_at) : '', 'requeued');
      var action = cell(tr, '', 'action');
      if (r.status === 'FAILED') {
        var button = document.createElement('button');
        button.type = 'button';
        button.className = 'requeue';
        button.textContent = 'Requeue';
        button.addEventListener('click', function () { requeue(r.transaction_id); });
        action.appendChild(button);
      }
      body.appendChild(tr);
    });
    if (shown.length === 0) {
      var tr = document.createElement('tr');
      cell(tr, q ? 'no loaded transaction starts with "' + q + '"' : 'no transactions yet', 'empty')
        .setAttribute('colspan', '9');
      body.appendChild(tr);
    }
    text('shown', shown.length + ' of ' + rows.length + ' loaded');
    $('more').hidden = !nextCursor;
  }
  function listUrl(cursor) {
    var url = '/v1/transactions?limit=' + PAGE;
    var status = $('status-filter').value;
    if (status) url += '&status=' + encodeURIComponent(status);
    if (cursor) url += '&cursor=' + encodeURIComponent(cursor);
    return url;
  }
  function loadTable(append) {
    return getJson(listUrl(append ? nextCursor : null)).then(function (r) {
      if (r.status !== 200) throw new Error('list: HTTP ' + r.status);
      rows = append ? rows.concat(r.body.data) : r.body.data;
      nextCursor = r.body.next_cursor;
      if (append) extraPages = true;
      renderTable();
    });
  }
  /**
   * Prefix search over the loaded rows; when none matches, the input is looked up as an exact
   * id on the server (debounced, so typing does not send a request per key).
   */
  var lookupTimer = null;
  function search() {
    var q = $('search').value.trim();
    lookup = null;
    renderTable();
    clearTimeout(lookupTimer);
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(q) || rows.some(function (r) { return r.transaction_id.indexOf(q) === 0; })) return;
    lookupTimer = setTimeout(function () {
      getJson('/v1/transactions/' + encodeURIComponent(q)).then(function (r) {
        if (r.status === 200 && $('search').value.trim() === q) { lookup = r.body; renderTable(); }
      }).catch(function () {});
    }, 250);
  }

  function poll() {
    polling = true;
    var mine = generation;
    var stats = getJson('/v1/stats').then(function (r) {
      if (r.status !== 200) throw new Error('stats: HTTP ' + r.status);
      renderStats(r.body);
    });
    // Once the operator has paged further, the table stays as it is until the filter changes.
    var table = extraPages ? Promise.resolve() : loadTable(false);
    Promise.all([stats, table]).then(function () { setState(true); }, function (e) {
      setState(false, String(e && e.message ? e.message : e));
    }).then(function () { if (polling && mine === generation) setTimeout(poll, POLL_MS); });
  }

  $('search').addEventListener('input', search);
  $('status-filter').addEventListener('change', function () { extraPages = false; lookup = null; loadTable(false); });
  $('more').addEventListener('click', function () { loadTable(true); });
  $('use-key').addEventListener('click', useKey);
  $('key').addEventListener('keydown', function (e) { if (e.key === 'Enter') useKey(); });
  $('forget').addEventListener('click', function () { askForKey('Key forgotten. Enter an operator key.'); });
  $('redrive').addEventListener('click', redrive);
  $('forget').hidden = !storedKey();
  window.addEventListener('resize', drawChart);
  poll();
})();
`;
