/** Part of the admin page's script (see ../admin-page-script.ts for its rules): the page's state, formatting, requests to the admin API, the bearer token and the headline figures. */
export const STATE_AND_REQUESTS = String.raw`
  var POLL_MS = 2000;
  var PAGE = 100;
  var SEARCH_LIMIT = 100;
  var TOP_N = 20;
  var TOKEN_KEY = 'im-admin-token';
  /** Pages read at most to find an actor that "show in tree" asked for. */
  var REVEAL_PAGES = 50;
  /** How long a kick button waits for its confirming second click. */
  var CONFIRM_MS = 5000;

  var token = '';
  try { token = sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { token = ''; }
  var info = null;
  var root = null;
  /** path -> tree node record */
  var nodes = new Map();
  var timer = null;
  var polling = false;
  /** A start asked for while a poll was still running: it runs when that poll ends. */
  var startPending = false;
  var needToken = false;
  var lastSearch = null;
  var topBy = 'mailbox';
  /** What the browser spec reads: polls never overlap, and stop while the tab is hidden. */
  var stats = { polls: 0, running: 0, maxRunning: 0, requests: 0, lastPollAt: 0 };
  window.imAdmin = stats;

  function el(testid) { return document.querySelector('[data-testid="' + testid + '"]'); }

  function make(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'className') e.className = v;
        else e.setAttribute(k, v === true ? '' : String(v));
      });
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // ---- formatting ----

  function num(n) {
    return typeof n === 'number' && isFinite(n) ? n.toLocaleString('en-US') : '\u2013';
  }

  function bytes(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '\u2013';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n = n / 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
  }

  function duration(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '\u2013';
    if (ms < 1000) return Math.round(ms) + ' ms';
    var s = ms / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
    var m = s / 60;
    if (m < 60) return m.toFixed(m < 10 ? 1 : 0) + ' min';
    var h = m / 60;
    if (h < 48) return h.toFixed(h < 10 ? 1 : 0) + ' h';
    return (h / 24).toFixed(1) + ' d';
  }

  function shortValue(v) {
    if (v === null || v === undefined) return String(v);
    if (typeof v === 'string') return v.length > 48 ? v.slice(0, 47) + '\u2026' : v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    var json = JSON.stringify(v);
    return json.length > 64 ? json.slice(0, 63) + '\u2026' : json;
  }

  /** State fields that say which actor this is come first, so a cut line still shows them. */
  var FIRST = ['key', 'mid', 'room', 'roomId', 'members', 'online', 'connections', 'rooms', 'transport', 'phase'];

  function stateKeys(state) {
    var keys = Object.keys(state);
    var first = FIRST.filter(function (k) { return keys.indexOf(k) !== -1; });
    return first.concat(keys.filter(function (k) { return FIRST.indexOf(k) === -1; }));
  }

  function stateText(state) {
    if (!state || typeof state !== 'object') return '';
    return stateKeys(state).map(function (k) { return k + '=' + shortValue(state[k]); }).join('  ');
  }

  function enc(s) { return encodeURIComponent(s); }

  // ---- requests ----

  function ApiError(status, code, reason) {
    this.status = status;
    this.code = code;
    this.reason = reason;
  }

  function request(path, method) {
    var headers = { accept: 'application/json' };
    if (token) headers.authorization = 'Bearer ' + token;
    stats.requests++;
    // Relative: the page works under whatever prefix a proxy serves it at.
    return fetch(path, { method: method || 'GET', headers: headers, cache: 'no-store' }).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (res.status === 401) {
          askForToken();
          throw new ApiError(401, (body && body.code) || 'HTTP_401', (body && body.reason) || 'unauthorized');
        }
        if (!res.ok) throw new ApiError(res.status, (body && body.code) || ('HTTP_' + res.status), (body && body.reason) || text.slice(0, 200));
        return body;
      });
    }, function (err) {
      throw new ApiError(0, 'UNREACHABLE', 'the admin endpoint did not answer (' + (err && err.message ? err.message : String(err)) + ')');
    });
  }

  function describeError(e) {
    if (e instanceof ApiError) return e.code + ': ' + e.reason;
    return e && e.message ? e.message : String(e);
  }

  function setStatus(text, kind) {
    var s = el('status');
    s.textContent = text || '';
    s.className = 'status' + (kind ? ' ' + kind : '');
  }

  function report(e) {
    // A 401 has its own form; it is not an error to show twice.
    if (e instanceof ApiError && e.status === 401) return;
    setStatus(describeError(e), 'error');
  }

  // ---- token ----

  function askForToken() {
    needToken = true;
    stopTimer();
    var form = el('token-form');
    form.hidden = false;
    el('token-message').textContent = token
      ? 'The token was refused; enter the node\u2019s admin.token.'
      : 'This node asks for a bearer token (admin.token).';
    showPollState();
  }

  function saveToken(ev) {
    ev.preventDefault();
    var value = el('token-input').value.trim();
    if (!value) return;
    token = value;
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* private mode: kept for this page only */ }
    el('token-input').value = '';
    el('token-form').hidden = true;
    needToken = false;
    setStatus('', '');
    start();
  }

  // ---- headline ----

  var HEADLINE = [
    ['actors', 'actors', num],
    ['connections', 'connections', num],
    ['rooms', 'rooms', num],
    ['mailbox', 'queued messages', num],
    ['eventLoopDelayP99Ms', 'event-loop p99', function (v) { return typeof v === 'number' ? v.toFixed(1) + ' ms' : '\u2013'; }],
    ['rssBytes', 'rss', bytes],
    ['heapUsedBytes', 'heap used', bytes],
  ];

  function renderInfo() {
    if (!info) return;
    el('node-title').textContent = info.node + ' node ' + info.id + ' \u00b7 up ' + duration(info.uptimeMs) +
      (info.readiness && info.readiness !== 'ready' ? ' \u00b7 ' + info.readiness : '');
    document.title = 'im-cloud admin \u00b7 ' + info.node + ' ' + info.id;
    var box = el('headline');
    var h = info.headline || {};
    var cards = HEADLINE.filter(function (row) { return h[row[0]] !== null && h[row[0]] !== undefined; }).map(function (row) {
      var card = make('div', { className: 'card', 'data-testid': 'headline-' + row[0] });
      card.appendChild(make('div', { className: 'value', 'data-testid': 'headline-value' }, row[2](h[row[0]])));
      card.appendChild(make('div', { className: 'label' }, row[1]));
      return card;
    });
    box.replaceChildren.apply(box, cards);
    var cloud = info.node === 'cloud';
    el('search-section').hidden = !cloud;
    el('kick-hint').textContent = cloud && !info.allowDestructive ? 'kicking is off on this node (admin.allowDestructive)' : '';
  }

  function loadInfo() {
    return request('info').then(function (body) {
      info = body;
      renderInfo();
    });
  }

`;
