/**
 * The admin page served at `/`: one self-contained HTML document (inline CSS
 * and script, no external URL, no build step). Everything it shows it reads
 * from the admin API with fetch; see admin-page-script.ts for how.
 */
import { createHash } from 'node:crypto';
import { ADMIN_PAGE_SCRIPT } from './admin-page-script';

/** The page's only script, by its CSP hash: the endpoint's Content-Security-Policy allows it and nothing else. */
export const ADMIN_PAGE_SCRIPT_HASH = `sha256-${createHash('sha256').update(ADMIN_PAGE_SCRIPT, 'utf8').digest('base64')}`;

const STYLE = `
:root { color-scheme: light dark; --bg: #fafafa; --fg: #1d1f21; --muted: #6b7075; --line: #d9dcdf; --card: #fff;
  --accent: #1f6feb; --hot: #b35900; --bad: #c62828; --ok: #2e7d32; --focus: #fff3c4; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #16181b; --fg: #e4e6e8; --muted: #9aa0a6; --line: #33373c; --card: #1e2125; --accent: #6ea8fe;
    --hot: #f0a050; --bad: #ef6b6b; --ok: #7bc47f; --focus: #3d3a22; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; padding: 10px 16px; border-bottom: 1px solid var(--line); }
header h1 { font-size: 16px; margin: 0; }
.muted, #poll-state { color: var(--muted); font-size: 12px; }
button { font: inherit; font-size: 12px; padding: 2px 8px; border: 1px solid var(--line); border-radius: 4px; background: var(--card); color: var(--fg); cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
button.danger { border-color: var(--bad); color: var(--bad); }
button.danger[data-state="confirm"] { background: var(--bad); color: #fff; }
button.link { border: 0; background: none; padding: 0; color: var(--accent); text-align: left; font-family: ui-monospace, monospace; }
input, select { font: inherit; font-size: 13px; padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; background: var(--card); color: var(--fg); }
.status { padding: 0 16px; min-height: 0; }
.status.error { padding: 6px 16px; color: var(--bad); }
form.token { padding: 8px 16px; display: flex; gap: 8px; align-items: center; border-bottom: 1px solid var(--line); }
.headline { display: flex; gap: 10px; flex-wrap: wrap; padding: 12px 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card .value { font-size: 18px; font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 12px; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; padding: 0 16px 16px; }
.wide { margin: 0 16px 16px; }
@media (max-width: 1000px) { main { grid-template-columns: minmax(0, 1fr); } }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin-bottom: 16px; overflow: auto; }
h2 { font-size: 14px; margin: 0 0 8px; }
ul.tree, ul.children { list-style: none; margin: 0; padding: 0; }
ul.children { padding-left: 18px; border-left: 1px dotted var(--line); margin-left: 8px; }
.row { display: flex; gap: 8px; align-items: baseline; padding: 1px 0; white-space: nowrap; font-family: ui-monospace, monospace; font-size: 12px; }
.row .toggle { width: 20px; padding: 0; border: 0; background: none; color: var(--muted); }
.row .name { border: 0; background: none; padding: 0; color: var(--accent); font-family: inherit; font-size: inherit; }
.row .kind { color: var(--muted); }
.row .nums { color: var(--muted); font-variant-numeric: tabular-nums; }
.row .nums.hot { color: var(--hot); }
.row .busy { color: var(--hot); }
.row .state { flex: 1; min-width: 12ch; overflow: hidden; text-overflow: ellipsis; }
.node.focus > .row { background: var(--focus); }
.node.gone > .row { text-decoration: line-through; opacity: .6; }
.node.loading > .row .toggle { opacity: .4; }
li.empty, li.more-row { padding: 2px 0 2px 28px; color: var(--muted); font-size: 12px; }
form.search { display: flex; gap: 6px; margin-bottom: 8px; }
form.search input { flex: 1; min-width: 0; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.actions { display: flex; gap: 4px; }
td[data-testid="connection-key"], td[data-testid="connection-room"] { font-family: ui-monospace, monospace; max-width: 24ch; overflow: hidden; text-overflow: ellipsis; }
.kick-result.ok { color: var(--ok); }
.kick-result.error { color: var(--bad); }
`;

const BODY = `
<header>
  <h1>im-cloud admin</h1>
  <span data-testid="node-title" class="muted">connecting\u2026</span>
  <span id="poll-state" data-testid="poll-state"></span>
  <button type="button" data-testid="refresh-button">refresh now</button>
</header>
<div class="status" data-testid="status" role="status" aria-live="polite"></div>
<form class="token" data-testid="token-form" hidden>
  <label for="token-input">Bearer token</label>
  <input id="token-input" type="password" autocomplete="off" spellcheck="false" data-testid="token-input">
  <button type="submit" data-testid="token-save">use token</button>
  <span class="muted" data-testid="token-message"></span>
</form>
<div class="headline" data-testid="headline"></div>
<section class="wide" data-testid="search-section" hidden>
  <h2>Find connections</h2>
  <form class="search" data-testid="search-form">
    <select data-testid="search-field" aria-label="search by">
      <option value="key">key</option>
      <option value="mid">mid</option>
      <option value="room">room</option>
      <option value="ip">IP</option>
    </select>
    <input type="search" data-testid="search-input" placeholder="exact key, mid, room id or IP" aria-label="value" spellcheck="false">
    <button type="submit" data-testid="search-button">search</button>
  </form>
  <div class="muted" data-testid="search-count"></div>
  <div class="muted" data-testid="kick-hint"></div>
  <div class="kick-result" data-testid="kick-result" role="status"></div>
  <table data-testid="search-results" hidden>
    <thead><tr><th>key</th><th>mid</th><th>room</th><th>transport</th><th>remote</th><th>phase</th><th>age</th><th>heartbeat</th><th>in / out</th><th>queued</th><th></th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<main>
  <div>
    <section>
      <h2>Actor tree</h2>
      <ul class="tree" data-testid="tree"></ul>
    </section>
  </div>
  <div>
    <section>
      <h2>Top actors by
        <select data-testid="top-by" aria-label="top actors by">
          <option value="mailbox">mailbox</option>
          <option value="processed">processed</option>
          <option value="restarts">restarts</option>
        </select>
      </h2>
      <table data-testid="top-table">
        <thead><tr><th>actor</th><th>kind</th><th>mailbox</th><th>processed</th><th>restarts</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
    </section>
  </div>
</main>
`;

/** The whole page; the admin server builds it once and serves the same string to every request. */
export function adminPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>im-cloud admin</title>
<style>${STYLE}</style>
</head>
<body>
${BODY}
<script>${ADMIN_PAGE_SCRIPT}</script>
</body>
</html>
`;
}
