/**
 * The admin page's script, as the browser runs it: plain JavaScript, no
 * build step, no framework. Its parts (./page/) are kept in String.raw
 * templates, so they must contain no backtick, no dollar-brace and no
 * closing script tag.
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
import { PANELS } from './page/panels';
import { STATE_AND_REQUESTS } from './page/state-and-requests';
import { TREE } from './page/tree';

/** The whole script: its parts share one function scope, in this order. */
export const ADMIN_PAGE_SCRIPT = `(function () {
  'use strict';
${STATE_AND_REQUESTS}${TREE}${PANELS}})();
`;
