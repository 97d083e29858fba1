/**
 * The metrics catalogue and the Metrics API over it: a name that is not
 * declared, a wrong label set or the wrong kind of series fails at compile
 * time (the @ts-expect-error lines would not compile otherwise) and, for
 * callers the types do not reach, at run time.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Metrics } from '../system/metrics';
import { catalogueEntries } from '../system/metrics-catalogue';
import { Exposition } from './support/prometheus-text';

/** Label names that would name one actor, client or room: unbounded, and never allowed. */
const IDENTITY_LABELS = ['id', 'key', 'mid', 'room', 'roomId', 'room_id', 'conn', 'connId', 'path', 'actor', 'ip', 'remote', 'address'];

describe('metrics catalogue', () => {
  it('declares every series with a valid name, a help text, labels and buckets that fit its type', () => {
    const entries = catalogueEntries();
    expect(entries.length).to.be.greaterThan(50);
    for (const [name, def] of entries) {
      expect(name, name).to.match(/^im_[a-z0-9_]+$/);
      expect(def.help.length, `${name} help`).to.be.greaterThan(10);
      expect(name.endsWith('_total'), `${name}: only counters end in _total`).to.equal(def.type === 'counter');
      expect(new Set(def.labels).size, `${name}: labels repeat`).to.equal(def.labels.length);
      for (const label of def.labels) {
        expect(label, name).to.match(/^[a-z][a-z_]*$/);
        expect(IDENTITY_LABELS, `${name} is labelled by ${label}`).to.not.include(label);
      }
      if (def.type === 'histogram') {
        const buckets = def.buckets ?? [];
        expect(buckets.length, `${name} buckets`).to.be.greaterThan(3);
        expect([...buckets].sort((a, b) => a - b), `${name} buckets ascend`).to.deep.equal([...buckets]);
        expect(def.labels, name).to.not.include('le');
      } else {
        expect(def.buckets, `${name} is no histogram`).to.equal(undefined);
      }
    }
  });

  it('README.md lists every series with its type and labels', () => {
    const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const [name, def] of catalogueEntries()) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, `README row of ${name}`).to.be.a('string');
      const [, , type, labels] = (row ?? '').split('|').map((cell) => cell.trim());
      expect(type, `${name} type`).to.equal(def.type);
      expect(labels, `${name} labels`).to.equal(def.labels.map((l) => `\`${l}\``).join(', '));
    }
  });
});

describe('metrics', () => {
  it('refuses a name the catalogue does not declare', () => {
    const metrics = new Metrics();
    // @ts-expect-error not in the catalogue
    expect(() => metrics.inc('im_not_declared_total')).to.throw(/im_not_declared_total is not declared/);
    // @ts-expect-error not in the catalogue
    expect(() => metrics.get('im_not_declared_total')).to.throw(/not declared/);
  });

  it('refuses a wrong label set: missing, extra, misnamed, not a string, or labels on a series that takes none', () => {
    const metrics = new Metrics();
    // @ts-expect-error labels missing
    expect(() => metrics.inc('im_connections_closed_total')).to.throw(/takes labels \{reason\}, got no labels/);
    // @ts-expect-error an extra label
    expect(() => metrics.inc('im_connections_closed_total', { reason: 'x', node: 'y' })).to.throw(/takes labels \{reason\}, got \{node,reason\}/);
    // @ts-expect-error a misnamed label
    expect(() => metrics.inc('im_connections_closed_total', { cause: 'x' })).to.throw(/takes labels \{reason\}/);
    // @ts-expect-error a label value that is not a string
    expect(() => metrics.inc('im_connections_closed_total', { reason: 5 })).to.throw(/takes labels \{reason\}/);
    // @ts-expect-error labels on a series without any
    expect(() => metrics.inc('im_auth_ok_total', { code: 'x' })).to.throw(/takes labels \{\}/);
    // @ts-expect-error one of two labels
    expect(() => metrics.observe('im_logic_call_seconds', { rpc: 'Connect' }, 0.1)).to.throw(/takes labels \{rpc,outcome\}/);
    // A series already in use is checked as strictly as a new one.
    metrics.inc('im_connections_closed_total', { reason: 'x' });
    // @ts-expect-error an extra label
    expect(() => metrics.inc('im_connections_closed_total', { reason: 'x', node: 'y' })).to.throw(/takes labels/);
    // @ts-expect-error an extra label
    expect(() => metrics.get('im_connections_closed_total', { reason: 'x', node: 'y' })).to.throw(/takes labels/);
    expect(metrics.get('im_connections_closed_total', { reason: 'x' })).to.equal(1);
  });

  it('refuses the wrong kind of series', () => {
    const metrics = new Metrics();
    // @ts-expect-error a gauge is not counted
    expect(() => metrics.inc('im_connections_open')).to.throw(/is a gauge, not a counter/);
    // @ts-expect-error a counter is not set as a gauge
    expect(() => metrics.setGauge('im_auth_ok_total', undefined, 3)).to.throw(/is a counter, not a gauge/);
    // @ts-expect-error a counter is not observed
    expect(() => metrics.observe('im_auth_ok_total', undefined, 3)).to.throw(/is a counter, not a histogram/);
  });

  it('a node exports its own kind\'s series and both kinds\', and refuses the other kind\'s', async () => {
    const cloud = new Metrics('cloud');
    const logic = new Metrics('logic');
    expect(() => cloud.inc('im_http_requests_total', { route: 'push/keys', status: '200' })).to.throw(/belongs to logic nodes, not to a cloud node/);
    expect(() => logic.inc('im_pushes_total', { rpc: 'PushMsg' })).to.throw(/belongs to cloud nodes, not to a logic node/);
    const cloudText = Exposition.parse(await cloud.exposition());
    const logicText = Exposition.parse(await logic.exposition());
    expect(cloudText.types.get('im_pushes_total')).to.equal('counter');
    expect(cloudText.types.has('im_http_requests_total')).to.equal(false);
    expect(logicText.types.get('im_http_requests_total')).to.equal('counter');
    expect(logicText.types.has('im_pushes_total')).to.equal(false);
    for (const text of [cloudText, logicText]) {
      expect(text.types.get('im_actors')).to.equal('gauge');
      expect(text.types.get('im_actor_restarts_total')).to.equal('counter');
    }
  });

  it('counts, sets and observes; get and total read synchronously; the exposition carries the same values', async () => {
    const metrics = new Metrics('cloud');
    metrics.inc('im_auth_ok_total');
    metrics.inc('im_auth_ok_total', undefined, 2);
    metrics.inc('im_connections_closed_total', { reason: 'replaced' });
    metrics.inc('im_connections_closed_total', { reason: 'client_closed' }, 4);
    metrics.setGauge('im_connections_open', undefined, 9);
    metrics.gauge('im_connections', { transport: 'ws', phase: 'online' }, 3);
    metrics.gauge('im_connections', { transport: 'ws', phase: 'online' }, -1);
    const handle = metrics.counterOf('im_client_packets_written_total', { transport: 'tcp' });
    handle.inc();
    handle.inc(5);
    metrics.observe('im_logic_call_seconds', { rpc: 'Connect', outcome: 'ok' }, 0.003);
    metrics.observe('im_logic_call_seconds', { rpc: 'Connect', outcome: 'ok' }, 0.3);
    metrics.histogramOf('im_op9_batch_pushes').observe(5);

    expect(metrics.get('im_auth_ok_total')).to.equal(3);
    expect(metrics.get('im_connections_closed_total', { reason: 'replaced' })).to.equal(1);
    expect(metrics.get('im_connections_closed_total', { reason: 'auth_timeout' })).to.equal(0);
    expect(metrics.total('im_connections_closed_total')).to.equal(5);
    expect(metrics.get('im_connections', { transport: 'ws', phase: 'online' })).to.equal(2);
    expect(metrics.get('im_client_packets_written_total', { transport: 'tcp' })).to.equal(6);
    expect(handle.value).to.equal(6);
    expect(metrics.get('im_logic_call_seconds', { rpc: 'Connect', outcome: 'ok' })).to.equal(2);

    const text = Exposition.parse(await metrics.exposition());
    expect(text.value('im_auth_ok_total')).to.equal(3);
    expect(text.value('im_connections_closed_total', { reason: 'client_closed' })).to.equal(4);
    expect(text.value('im_connections_open')).to.equal(9);
    expect(text.value('im_connections', { transport: 'ws', phase: 'online' })).to.equal(2);
    expect(text.value('im_client_packets_written_total', { transport: 'tcp' })).to.equal(6);
    expect(text.types.get('im_logic_call_seconds')).to.equal('histogram');
    expect(text.value('im_logic_call_seconds_count', { rpc: 'Connect', outcome: 'ok' })).to.equal(2);
    expect(text.value('im_logic_call_seconds_sum', { rpc: 'Connect', outcome: 'ok' })).to.be.closeTo(0.303, 1e-9);
    expect(text.value('im_logic_call_seconds_bucket', { rpc: 'Connect', outcome: 'ok', le: '0.005' })).to.equal(1);
    expect(text.value('im_logic_call_seconds_bucket', { rpc: 'Connect', outcome: 'ok', le: '+Inf' })).to.equal(2);
    expect(text.value('im_op9_batch_pushes_bucket', { le: '4' })).to.equal(0);
    expect(text.value('im_op9_batch_pushes_bucket', { le: '8' })).to.equal(1);
    // A counter without labels is exported from the start, at 0.
    expect(text.has('im_heartbeat_timeouts_total')).to.equal(true);
    expect(metrics.contentType).to.match(/^text\/plain; version=0\.0\.4/);
  });

  it('collectors run at each scrape, and a counter set from a total kept elsewhere follows it', async () => {
    const metrics = new Metrics('logic');
    let live = 1;
    metrics.onCollect(() => {
      metrics.setGauge('im_actors', { kind: 'room' }, live);
      metrics.setCounter('im_actor_messages_processed_total', { kind: 'room' }, live * 10);
    });
    expect(Exposition.parse(await metrics.exposition()).value('im_actors', { kind: 'room' })).to.equal(1);
    live = 4;
    const text = Exposition.parse(await metrics.exposition());
    expect(text.value('im_actors', { kind: 'room' })).to.equal(4);
    expect(text.value('im_actor_messages_processed_total', { kind: 'room' })).to.equal(40);
  });

  it('each instance has a registry of its own; the process\'s default metrics appear in each, the per-socket ones in none', async () => {
    const a = new Metrics('cloud');
    const b = new Metrics('cloud');
    a.inc('im_auth_ok_total');
    const [textA, textB] = [Exposition.parse(await a.exposition()), Exposition.parse(await b.exposition())];
    expect(textA.value('im_auth_ok_total')).to.equal(1);
    expect(textB.value('im_auth_ok_total')).to.equal(0);
    for (const text of [textA, textB]) {
      for (const name of ['nodejs_eventloop_lag_p99_seconds', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'process_cpu_seconds_total']) {
        expect(text.has(name), name).to.equal(true);
      }
      for (const name of ['process_open_fds', 'nodejs_active_handles', 'nodejs_active_resources']) expect(text.has(name), name).to.equal(false);
    }
  });

  it('label values are escaped in the exposition', async () => {
    const metrics = new Metrics('cloud');
    metrics.inc('im_connection_errors_total', { code: 'a "quoted"\\ value\nand a line' });
    const text = Exposition.parse(await metrics.exposition());
    expect(text.value('im_connection_errors_total', { code: 'a "quoted"\\ value\nand a line' })).to.equal(1);
  });
});
