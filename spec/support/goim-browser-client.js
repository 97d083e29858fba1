/*
 * A plain browser client that behaves like goim's browser client
 * (wire.md §8), written from that behaviour list, for the end-to-end test in
 * spec/browser-client.spec.ts. No framework, no build step: the page loads
 * this file as it is.
 *
 * Behaviour (wire.md §8):
 * - opens ws://HOST:PORT/sub with binaryType 'arraybuffer';
 * - on open sends op 7 (ver 1, seq 1) whose body is the JSON token;
 * - on each op 8 starts a heartbeat timer: op 2 at once, then every
 *   heartbeatMs (goim: 30 s); every packet it sends has ver 1 and seq 1;
 * - op 3 is a heartbeat reply (body ignored);
 * - op 9 is a batch: inner packets are read from offset 16 to the end of the
 *   frame, stepping by each inner packLen;
 * - any other op is a message; the body is bytes headerLen..packLen, the
 *   rest of the frame is dropped; it does NOT filter by accepts;
 * - every frame is wrapped in a DataView, so a text frame (a string) throws
 *   in the page, which is what a server sending text frames would cause;
 * - on close it reconnects after reconnectMs (goim: 15 s), doubling, up to
 *   10 times, authenticating again each time.
 *
 * Configuration comes from window.goimConfig, set by the page before this
 * script loads: { url, heartbeatMs, reconnectMs, token }.
 *
 * What it saw is kept for the test:
 * - window.goimLog: every packet received, in order, as
 *   { op, body, ver, seq, batched } (body decoded with TextDecoder);
 * - window.goimStats: counters (in total and per connection) and the close
 *   events.
 */
(function () {
  'use strict';

  var HEADER_LEN = 16;
  var PACK_LEN_AT = 0;
  var HEADER_LEN_AT = 4;
  var VER_AT = 6;
  var OP_AT = 8;
  var SEQ_AT = 12;

  var OP_HEARTBEAT = 2;
  var OP_HEARTBEAT_REPLY = 3;
  var OP_AUTH = 7;
  var OP_AUTH_REPLY = 8;
  var OP_RAW = 9;

  var MAX_RECONNECTS = 10;

  var config = window.goimConfig || {};
  var url = config.url || 'ws://' + window.location.hostname + ':3102/sub';
  var heartbeatMs = config.heartbeatMs || 30 * 1000;
  var reconnectMs = config.reconnectMs || 15 * 1000;
  var token = config.token || { mid: 123, room_id: 'live://1000', platform: 'web', accepts: [1000, 1001, 1002] };

  var encoder = new TextEncoder();
  var decoder = new TextDecoder();

  var log = [];
  var stats = {
    opens: 0,
    authSent: 0,
    authReplies: 0,
    heartbeatsSent: 0,
    heartbeatsSkipped: 0,
    heartbeatReplies: 0,
    heartbeatTimers: 0,
    messages: 0,
    batches: 0,
    framesReceived: 0,
    reconnects: 0,
    errors: 0,
    closes: [],
    // One entry per WebSocket created: { opened, authReplies, heartbeatsSent, heartbeatReplies }.
    connections: [],
  };
  window.goimLog = log;
  window.goimStats = stats;

  var ws = null;
  var conn = null;
  var timers = [];
  var reconnectDelay = reconnectMs;

  function encode(op, bodyText) {
    var body = encoder.encode(bodyText);
    var buf = new ArrayBuffer(HEADER_LEN + body.byteLength);
    var view = new DataView(buf);
    view.setInt32(PACK_LEN_AT, HEADER_LEN + body.byteLength); // big-endian by default
    view.setInt16(HEADER_LEN_AT, HEADER_LEN);
    view.setInt16(VER_AT, 1);
    view.setInt32(OP_AT, op);
    view.setInt32(SEQ_AT, 1);
    new Uint8Array(buf).set(body, HEADER_LEN);
    return buf;
  }

  function send(op, bodyText) {
    ws.send(encode(op, bodyText)); // an ArrayBuffer: always a binary frame
  }

  function record(op, ver, seq, bytes, batched) {
    log.push({ op: op, body: decoder.decode(bytes), ver: ver, seq: seq, batched: batched });
  }

  function heartbeat() {
    // The timer can fire after the server's close frame arrived but before onclose runs; such a send
    // would be dropped by the browser (with a console error) and never answered, so it is not sent.
    if (ws.readyState !== WebSocket.OPEN) {
      stats.heartbeatsSkipped++;
      return;
    }
    send(OP_HEARTBEAT, '');
    stats.heartbeatsSent++;
    conn.heartbeatsSent++;
  }

  function onAuthReply() {
    stats.authReplies++;
    conn.authReplies++;
    // Like goim's client: every op 8 starts one more timer (so a second op 8 doubles the heartbeats).
    stats.heartbeatTimers++;
    heartbeat();
    timers.push(setInterval(heartbeat, heartbeatMs));
  }

  function onFrame(evt) {
    stats.framesReceived++;
    var data = evt.data;
    var view = new DataView(data); // throws TypeError on a text frame (a string)
    var packLen = view.getInt32(PACK_LEN_AT);
    var headerLen = view.getInt16(HEADER_LEN_AT);
    var ver = view.getInt16(VER_AT);
    var op = view.getInt32(OP_AT);
    var seq = view.getInt32(SEQ_AT);

    if (op === OP_RAW) {
      stats.batches++;
      for (var offset = HEADER_LEN; offset < data.byteLength; ) {
        var innerLen = view.getInt32(offset + PACK_LEN_AT);
        var innerHeaderLen = view.getInt16(offset + HEADER_LEN_AT);
        var innerVer = view.getInt16(offset + VER_AT);
        var innerOp = view.getInt32(offset + OP_AT);
        var innerSeq = view.getInt32(offset + SEQ_AT);
        if (innerLen <= 0) {
          // goim's client would spin here forever; fail loudly instead of hanging the page.
          throw new Error('op 9: inner packLen ' + innerLen + ' at offset ' + offset);
        }
        record(innerOp, innerVer, innerSeq, new Uint8Array(data, offset + innerHeaderLen, innerLen - innerHeaderLen), true);
        stats.messages++;
        offset += innerLen;
      }
      return;
    }

    record(op, ver, seq, new Uint8Array(data, headerLen, packLen - headerLen), false);
    if (op === OP_AUTH_REPLY) onAuthReply();
    else if (op === OP_HEARTBEAT_REPLY) {
      stats.heartbeatReplies++;
      conn.heartbeatReplies++;
    } else stats.messages++;
  }

  function connect() {
    ws = new WebSocket(url);
    conn = { opened: false, authReplies: 0, heartbeatsSent: 0, heartbeatReplies: 0 };
    stats.connections.push(conn);
    ws.binaryType = 'arraybuffer';
    ws.onopen = function () {
      stats.opens++;
      conn.opened = true;
      send(OP_AUTH, JSON.stringify(token));
      stats.authSent++;
    };
    ws.onmessage = onFrame;
    ws.onerror = function () {
      stats.errors++;
    };
    ws.onclose = function (evt) {
      stats.closes.push({ code: evt.code, reason: evt.reason, wasClean: evt.wasClean });
      while (timers.length) clearInterval(timers.pop());
      if (stats.reconnects >= MAX_RECONNECTS) return;
      var delay = reconnectDelay;
      reconnectDelay *= 2;
      setTimeout(function () {
        stats.reconnects++;
        connect();
      }, delay);
    };
  }

  connect();
})();
