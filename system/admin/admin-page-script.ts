/**
 * The admin page's script, as the browser runs it: plain JavaScript, no
 * build step, no framework. It is kept in a String.raw template, so it must
 * contain no backtick and no dollar-brace, and no closing script tag.
 *
 * Rules it keeps:
 * - Data from the server (keys, room ids, state) only ever reaches the DOM
 *   through textContent or setAttribute: keys and room ids are chosen by
 *   clients, so nothing is parsed as HTML.
 * - One poll at a time, and polls only while the tab is visible: the next
 *   one is scheduled when the last one has finished.
 * - The tree is read lazily: a node's children are fetched when it is
 *   opened, one page at a time; a refresh re-reads only the pages shown.
 * - A 401 asks for the bearer token, which is kept in sessionStorage (gone
 *   with the tab) and sent on every request.
 */
export const ADMIN_PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
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

  // ---- the tree ----

  function record(path) {
    var rec = nodes.get(path);
    if (rec) return rec;
    rec = { path: path, data: null, expanded: false, loading: false, gone: false, pages: [], nextCursor: null, childCount: 0, queue: Promise.resolve() };
    rec.li = make('li', { className: 'node', 'data-testid': 'tree-node', 'data-path': path });
    rec.row = make('div', { className: 'row' });
    rec.toggle = make('button', { type: 'button', className: 'toggle', 'data-testid': 'tree-toggle', 'aria-expanded': 'false' }, '\u25b8');
    rec.name = make('button', { type: 'button', className: 'name', 'data-testid': 'actor-name' });
    rec.kind = make('span', { className: 'kind', 'data-testid': 'actor-kind' });
    rec.nums = make('span', { className: 'nums', 'data-testid': 'actor-stats' });
    rec.busy = make('span', { className: 'busy', 'data-testid': 'actor-busy' });
    rec.state = make('span', { className: 'state', 'data-testid': 'actor-state' });
    rec.row.append(rec.toggle, rec.name, rec.kind, rec.busy, rec.nums, rec.state);
    rec.ul = make('ul', { className: 'children', 'data-testid': 'tree-children' });
    rec.ul.hidden = true;
    rec.li.append(rec.row, rec.ul);
    var onClick = function () { toggle(rec).catch(report); };
    rec.toggle.addEventListener('click', onClick);
    rec.name.addEventListener('click', onClick);
    nodes.set(path, rec);
    return rec;
  }

  function childCountOf(a) { return typeof a.childCount === 'number' ? a.childCount : null; }

  function paint(rec) {
    var a = rec.data;
    if (!a) return;
    var kids = childCountOf(a);
    rec.li.setAttribute('data-kind', a.kind);
    rec.name.textContent = rec === root ? a.path : a.name;
    rec.name.setAttribute('title', a.path);
    rec.kind.textContent = a.kind;
    rec.busy.textContent = a.busy ? 'busy' : '';
    rec.nums.textContent = 'mailbox ' + num(a.mailbox) + ' \u00b7 restarts ' + num(a.restarts) + ' \u00b7 processed ' + num(a.processed) +
      ' \u00b7 age ' + duration(a.ageMs) + (kids ? ' \u00b7 ' + num(kids) + ' children' : '');
    rec.nums.classList.toggle('hot', a.mailbox > 0 || a.restarts > 0);
    var st = stateText(a.state);
    rec.state.textContent = st;
    if (st) rec.state.setAttribute('title', JSON.stringify(a.state, null, 1)); else rec.state.removeAttribute('title');
    var leaf = kids === 0 && !rec.expanded;
    rec.toggle.textContent = leaf ? '\u00b7' : (rec.expanded ? '\u25be' : '\u25b8');
    rec.toggle.disabled = leaf;
    rec.toggle.setAttribute('aria-expanded', rec.expanded ? 'true' : 'false');
    rec.li.classList.toggle('gone', rec.gone);
    rec.li.classList.toggle('loading', rec.loading);
  }

  /** Forgets a node and everything under it (it left the tree). */
  function forget(rec) {
    rec.pages.forEach(function (p) { p.paths.forEach(function (c) { var r = nodes.get(c); if (r) forget(r); }); });
    nodes.delete(rec.path);
  }

  function renderChildren(rec) {
    var seen = new Set();
    var items = [];
    rec.pages.forEach(function (p) {
      p.paths.forEach(function (c) {
        if (seen.has(c)) return;
        var r = nodes.get(c);
        if (!r) return;
        seen.add(c);
        items.push(r.li);
      });
    });
    var shown = items.length;
    if (rec.nextCursor) {
      var more = make('button', { type: 'button', className: 'more', 'data-testid': 'tree-more' },
        'more\u2026 (' + num(shown) + ' of ' + num(rec.childCount) + ' shown)');
      more.addEventListener('click', function () {
        more.disabled = true;
        loadMore(rec).catch(report);
      });
      var li = make('li', { className: 'more-row' });
      li.appendChild(more);
      items.push(li);
    } else if (shown === 0) {
      items.push(make('li', { className: 'empty' }, 'no children'));
    }
    rec.ul.replaceChildren.apply(rec.ul, items);
    rec.ul.hidden = !rec.expanded;
  }

  /** Takes one /actors answer for rec: its own row, and its children's rows (records made as needed). */
  function take(rec, body) {
    rec.data = body.actor;
    rec.childCount = body.childCount;
    rec.gone = false;
    var paths = body.children.map(function (a) {
      var r = record(a.path);
      r.data = a;
      r.gone = false;
      paint(r);
      return a.path;
    });
    paint(rec);
    return paths;
  }

  function actorsUrl(path, limit, cursor) {
    return 'actors?path=' + enc(path) + '&limit=' + limit + (cursor ? '&cursor=' + enc(cursor) : '');
  }

  /**
   * Runs fn after every earlier operation on rec has ended: a click and
   * a poll never read or page the same node at once.
   */
  function serial(rec, fn) {
    var p = rec.queue.then(fn);
    rec.queue = p.catch(function () { return undefined; });
    return p;
  }

  function readPage(rec, cursor) {
    rec.loading = true;
    paint(rec);
    return request(actorsUrl(rec.path, PAGE, cursor)).then(function (body) {
      var paths = take(rec, body);
      rec.pages.push({ cursor: cursor, paths: paths });
      rec.nextCursor = body.nextCursor;
    }).finally(function () {
      rec.loading = false;
      paint(rec);
      renderChildren(rec);
    });
  }

  function forgetChildren(rec) {
    rec.pages.forEach(function (p) { p.paths.forEach(function (c) { var r = nodes.get(c); if (r) forget(r); }); });
    rec.pages = [];
    rec.nextCursor = null;
  }

  /** Opens rec (its first page of children) unless it is open. */
  function expand(rec) {
    return serial(rec, function () {
      if (rec.expanded || !nodes.has(rec.path)) return undefined;
      rec.expanded = true;
      forgetChildren(rec);
      return readPage(rec, null);
    });
  }

  function toggle(rec) {
    return serial(rec, function () {
      if (!rec.expanded) {
        rec.expanded = true;
        forgetChildren(rec);
        return readPage(rec, null);
      }
      rec.expanded = false;
      forgetChildren(rec);
      paint(rec);
      renderChildren(rec);
      return undefined;
    });
  }

  /** The next page of rec's children, if there is one. */
  function loadMore(rec) {
    return serial(rec, function () {
      if (!rec.expanded || !rec.nextCursor) return undefined;
      return readPage(rec, rec.nextCursor);
    });
  }

  /** Re-reads the pages rec shows, each with the cursor it was first read with; children that left are forgotten. */
  function refreshNode(rec) {
    return serial(rec, function () {
      if (!nodes.has(rec.path)) return undefined;
      if (!rec.expanded) {
        return request(actorsUrl(rec.path, 1, null)).then(function (body) {
          rec.data = body.actor;
          rec.childCount = body.childCount;
          paint(rec);
        });
      }
      var before = new Set();
      rec.pages.forEach(function (p) { p.paths.forEach(function (c) { before.add(c); }); });
      var pages = [];
      var next = null;
      var wanted = rec.pages.slice();
      rec.loading = true;
      var step = function (i) {
        if (i >= wanted.length) return Promise.resolve();
        var cursor = wanted[i].cursor;
        return request(actorsUrl(rec.path, PAGE, cursor)).then(function (body) {
          pages.push({ cursor: cursor, paths: take(rec, body) });
          next = body.nextCursor;
          return next ? step(i + 1) : undefined;
        });
      };
      return step(0).then(function () {
        rec.pages = pages;
        rec.nextCursor = next;
        var after = new Set();
        pages.forEach(function (p) { p.paths.forEach(function (c) { after.add(c); }); });
        before.forEach(function (c) { if (!after.has(c)) { var r = nodes.get(c); if (r) forget(r); } });
      }, function (e) {
        if (e instanceof ApiError && e.status === 404) {
          rec.gone = true;
          return;
        }
        throw e;
      }).finally(function () {
        rec.loading = false;
        paint(rec);
        renderChildren(rec);
      });
    });
  }

  /** Every node to refresh, parents before their children. */
  function visibleNodes() {
    var out = [];
    var walk = function (rec) {
      out.push(rec);
      if (!rec.expanded) return;
      rec.pages.forEach(function (p) {
        p.paths.forEach(function (c) { var r = nodes.get(c); if (r && r.expanded) walk(r); });
      });
    };
    if (root) walk(root);
    return out;
  }

  function refreshTree() {
    var list = visibleNodes();
    var step = function (i) {
      if (i >= list.length) return Promise.resolve();
      return refreshNode(list[i]).then(function () { return step(i + 1); });
    };
    return step(0);
  }

  function initTree() {
    var rootPath = info && info.root;
    if (root && root.path === rootPath) return refreshTree();
    nodes.clear();
    root = rootPath ? record(rootPath) : null;
    var tree = el('tree');
    if (!root) {
      tree.replaceChildren(make('li', { className: 'empty' }, 'no root actor'));
      return Promise.resolve();
    }
    tree.replaceChildren(root.li);
    return expand(root);
  }

  /** Opens the tree down to path (paging where needed) and shows its row. */
  function reveal(path) {
    var segments = path.split('/').filter(function (s) { return s !== ''; });
    if (!root || segments.length === 0 || '/' + segments[0] !== root.path) {
      setStatus(path + ' is not under this node\u2019s root', 'error');
      return Promise.resolve();
    }
    var level = function (rec, i) {
      if (i >= segments.length) return focus(rec);
      var target = '/' + segments.slice(0, i + 1).join('/');
      var pages = 0;
      var find = function () {
        var found = rec.pages.some(function (p) { return p.paths.indexOf(target) !== -1; });
        if (found) return level(nodes.get(target), i + 1);
        if (!rec.nextCursor || pages >= REVEAL_PAGES) {
          setStatus(target + ' was not found (it may have stopped)', 'error');
          return undefined;
        }
        pages++;
        return loadMore(rec).then(find);
      };
      return expand(rec).then(find);
    };
    return level(root, 1);
  }

  /** A path without the root's prefix (every actor shown is under it): shorter, and the root is in the title. */
  function underRoot(path) {
    var prefix = info && info.root ? info.root + '/' : null;
    return prefix && path.indexOf(prefix) === 0 ? path.slice(prefix.length) : path;
  }

  function focus(rec) {
    document.querySelectorAll('.node.focus').forEach(function (n) { n.classList.remove('focus'); });
    rec.li.classList.add('focus');
    rec.row.scrollIntoView({ block: 'center' });
  }

  // ---- connections ----

  /** Result rows by connection (key and actor path): a refresh updates them in place, so a kick awaiting its confirming click keeps waiting. */
  var connectionRows = new Map();

  function connectionCells(c) {
    return [
      [c.key, 'connection-key'],
      [c.mid, 'connection-mid'],
      [c.room, 'connection-room'],
      [c.transport, 'connection-transport'],
      [c.remote, 'connection-remote'],
      [c.phase, 'connection-phase'],
      [typeof c.connectedAt === 'number' ? duration(Date.now() - c.connectedAt) : '\u2013', 'connection-age'],
      [duration(c.lastHeartbeatAgoMs), 'connection-heartbeat'],
      [bytes(c.bytesIn) + ' / ' + bytes(c.bytesOut), 'connection-bytes'],
      [bytes(c.queuedBytes), 'connection-queued'],
    ].map(function (cell) { return [cell[0] === undefined || cell[0] === null ? '' : String(cell[0]), cell[1]]; });
  }

  function connectionRow(c) {
    var id = c.key + '\n' + c.path;
    var kickable = !!(info && info.allowDestructive);
    var known = connectionRows.get(id);
    if (known && known.kickable === kickable) {
      connectionCells(c).forEach(function (cell, i) { known.tds[i].textContent = cell[0]; });
      return known.tr;
    }
    var tr = make('tr', { 'data-testid': 'connection-row', 'data-key': c.key, 'data-path': c.path });
    var tds = connectionCells(c).map(function (cell) {
      var td = make('td', { 'data-testid': cell[1] }, cell[0]);
      tr.appendChild(td);
      return td;
    });
    var actions = make('td', { className: 'actions' });
    var show = make('button', { type: 'button', 'data-testid': 'connection-path', title: c.path }, 'show in tree');
    show.addEventListener('click', function () { reveal(c.path).catch(report); });
    actions.appendChild(show);
    if (kickable) actions.appendChild(kickButton(c.key));
    tr.appendChild(actions);
    connectionRows.set(id, { tr: tr, tds: tds, kickable: kickable });
    return tr;
  }

  function kickButton(key) {
    var button = make('button', { type: 'button', className: 'danger', 'data-testid': 'kick-button', 'data-state': 'idle' }, 'kick');
    var reset = null;
    button.addEventListener('click', function () {
      if (button.getAttribute('data-state') === 'idle') {
        // Destructive: a second click within CONFIRM_MS confirms.
        button.setAttribute('data-state', 'confirm');
        button.textContent = 'confirm kick';
        reset = setTimeout(function () { button.setAttribute('data-state', 'idle'); button.textContent = 'kick'; }, CONFIRM_MS);
        return;
      }
      if (button.getAttribute('data-state') !== 'confirm') return;
      clearTimeout(reset);
      button.setAttribute('data-state', 'sent');
      button.disabled = true;
      button.textContent = 'kicking\u2026';
      kick(key).then(function () { button.textContent = 'kicked'; }, function () { button.textContent = 'failed'; });
    });
    return button;
  }

  function kick(key) {
    var out = el('kick-result');
    return request('connections/' + enc(key) + '/kick', 'POST').then(function (body) {
      var k = body && body.kicked ? body.kicked : {};
      out.textContent = 'kicked ' + k.key + ' (' + k.path + ')';
      out.className = 'kick-result ok';
      // The kick is done; a failed re-read of the results is reported on its own.
      if (lastSearch) runSearch(lastSearch.field, lastSearch.value).catch(report);
    }, function (e) {
      out.textContent = 'kick ' + key + ' failed: ' + describeError(e);
      out.className = 'kick-result error';
      throw e;
    });
  }

  function runSearch(field, value) {
    return request('connections?' + enc(field) + '=' + enc(value) + '&limit=' + SEARCH_LIMIT).then(function (body) {
      // A newer search replaced this one while it ran.
      if (!lastSearch || lastSearch.field !== field || lastSearch.value !== value) return;
      var list = body && Array.isArray(body.connections) ? body.connections : [];
      el('search-count').textContent = list.length === 0
        ? 'no connection with ' + field + ' ' + value
        : list.length + ' connection' + (list.length === 1 ? '' : 's') + ' with ' + field + ' ' + value +
          (list.length >= SEARCH_LIMIT ? ' (first ' + SEARCH_LIMIT + ')' : '');
      var table = el('search-results');
      var tbody = table.querySelector('tbody');
      var rows = list.map(connectionRow);
      var shown = new Set(rows);
      connectionRows.forEach(function (r, id) { if (!shown.has(r.tr)) connectionRows.delete(id); });
      tbody.replaceChildren.apply(tbody, rows);
      table.hidden = list.length === 0;
    });
  }

  function onSearch(ev) {
    ev.preventDefault();
    var field = el('search-field').value;
    var value = el('search-input').value.trim();
    if (!value) return;
    lastSearch = { field: field, value: value };
    el('kick-result').textContent = '';
    runSearch(field, value).catch(report);
  }

  // ---- top ----

  function loadTop() {
    var by = topBy;
    return request('top?by=' + enc(by) + '&n=' + TOP_N).then(function (body) {
      if (by !== topBy) return;
      var tbody = el('top-table').querySelector('tbody');
      var rows = (body && Array.isArray(body.actors) ? body.actors : []).map(function (a) {
        var tr = make('tr', { 'data-testid': 'top-row', 'data-path': a.path });
        var pathCell = make('td');
        var link = make('button', { type: 'button', className: 'link', title: a.path }, underRoot(a.path));
        link.addEventListener('click', function () { reveal(a.path).catch(report); });
        pathCell.appendChild(link);
        tr.append(pathCell, make('td', null, a.kind), make('td', { className: 'n' }, num(a.mailbox)),
          make('td', { className: 'n' }, num(a.processed)), make('td', { className: 'n' }, num(a.restarts)), make('td', null, a.busy ? 'busy' : ''));
        return tr;
      });
      if (rows.length === 0) {
        var none = make('tr', { 'data-testid': 'top-empty' });
        none.appendChild(make('td', { colspan: 6, className: 'muted' }, 'no actor has ' + (by === 'mailbox' ? 'a queued message' : 'any ' + by)));
        rows.push(none);
      }
      tbody.replaceChildren.apply(tbody, rows);
    });
  }

  // ---- polling ----

  function visible() { return document.visibilityState === 'visible'; }

  function showPollState() {
    var s = el('poll-state');
    if (needToken) s.textContent = 'paused: needs a token';
    else if (!visible()) s.textContent = 'paused while the tab is hidden';
    else if (polling) s.textContent = 'refreshing\u2026';
    else s.textContent = 'refreshes every ' + POLL_MS / 1000 + ' s' + (stats.lastPollAt ? ' \u00b7 last ' + new Date(stats.lastPollAt).toLocaleTimeString() : '');
  }

  function stopTimer() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  function schedule() {
    stopTimer();
    if (!visible() || needToken) return;
    timer = setTimeout(poll, POLL_MS);
  }

  /** One refresh of everything shown; a second call while one runs does nothing. */
  function poll() {
    timer = null;
    if (polling || needToken) return Promise.resolve();
    if (!visible()) { showPollState(); return Promise.resolve(); }
    polling = true;
    stats.polls++;
    stats.running++;
    stats.maxRunning = Math.max(stats.maxRunning, stats.running);
    showPollState();
    var failed = null;
    var keep = function (e) { if (!failed) failed = e; };
    var work = loadInfo().catch(keep)
      .then(function () { return needToken ? undefined : loadTop().catch(keep); })
      .then(function () { return needToken ? undefined : initTree().catch(keep); })
      .then(function () { return needToken || !lastSearch ? undefined : runSearch(lastSearch.field, lastSearch.value).catch(keep); });
    return work.then(function () {
      if (failed) report(failed);
      else if (el('status').classList.contains('error')) setStatus('', '');
    }).finally(function () {
      polling = false;
      stats.running--;
      stats.lastPollAt = Date.now();
      if (startPending) {
        startPending = false;
        start();
        return;
      }
      showPollState();
      schedule();
    });
  }

  function start() {
    stopTimer();
    if (polling) {
      startPending = true;
      return Promise.resolve();
    }
    polling = true;
    stats.running++;
    stats.maxRunning = Math.max(stats.maxRunning, stats.running);
    return loadInfo()
      .then(initTree)
      .then(loadTop)
      .then(function () { setStatus('', ''); }, report)
      .finally(function () {
        polling = false;
        stats.running--;
        showPollState();
        schedule();
      });
  }

  document.addEventListener('visibilitychange', function () {
    if (visible()) {
      // Back in view: what is shown is stale, so refresh now rather than in POLL_MS.
      if (!polling && !needToken) { stopTimer(); poll(); }
    } else {
      stopTimer();
    }
    showPollState();
  });

  el('token-form').addEventListener('submit', saveToken);
  el('search-form').addEventListener('submit', onSearch);
  el('refresh-button').addEventListener('click', function () { if (!polling) { stopTimer(); poll(); } });
  el('top-by').addEventListener('change', function () {
    topBy = el('top-by').value;
    loadTop().catch(report);
  });

  start();
})();
`;
