/** Part of the admin page's script (see ../admin-page-script.ts for its rules): the actor tree: nodes read lazily, a page of children at a time; a refresh re-reads only the pages shown. */
export const TREE = String.raw`
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

`;
