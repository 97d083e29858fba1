/** Part of the admin page's script (see ../admin-page-script.ts for its rules): connection search and kick, the top actors, polling while the tab is visible, and the start. */
export const PANELS = String.raw`
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
`;
