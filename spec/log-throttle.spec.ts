/**
 * Repeated per-request and per-client failures are one log line per kind and
 * window (the rest at debug), while the counters keep every one: the
 * throttle alone with a clock the test moves, then a logic node's HTTP push
 * API answering a flood of bad requests, then a cloud node whose clients'
 * Disconnects all fail.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { Op } from '../system/codec/packet';
import { loadLogicConfig } from '../config/logic-config';
import { logThrottled, LogThrottle } from '../system/log-throttle';
import { LogicNode } from '../system/logic-node';
import { capturedLogger } from './support/captured-logger';
import { CloudHarness, eventually } from './support/cloud-harness';
import { GOIM_TOKEN, TestClient } from './support/test-client';

describe('log throttle', () => {
  it('admits the first event of a key per window, then tells how many were left out', () => {
    let now = 0;
    const throttle = new LogThrottle(1000, () => now);
    expect(throttle.admit('a')).to.equal(0);
    expect(throttle.admit('a')).to.equal(null);
    expect(throttle.admit('a')).to.equal(null);
    expect(throttle.admit('b'), 'another key has its own window').to.equal(0);
    now = 999;
    expect(throttle.admit('a')).to.equal(null);
    now = 1000;
    expect(throttle.admit('a'), 'three left out since the last line').to.equal(3);
    expect(throttle.admit('a')).to.equal(null);
  });

  it('remembers a bounded number of keys', () => {
    const throttle = new LogThrottle(60_000, () => 0, 4);
    for (let i = 0; i < 4; i++) expect(throttle.admit(`k${i}`)).to.equal(0);
    expect(throttle.admit('k0')).to.equal(null);
    // A fifth key starts the memory over: a few extra lines, never an unbounded map.
    expect(throttle.admit('k4')).to.equal(0);
    expect(throttle.admit('k0')).to.equal(0);
  });

  it('logs at the level asked when admitted, at debug otherwise, with notLogged on the next admitted line', () => {
    let now = 0;
    const { logger, lines } = capturedLogger('debug');
    const throttle = new LogThrottle(1000, () => now);
    for (let i = 0; i < 5; i++) logThrottled(logger, throttle, 'warn', 'k', 'bad thing', { i });
    now = 1000;
    logThrottled(logger, throttle, 'warn', 'k', 'bad thing', { i: 5 });
    expect(lines.map((l) => [l.level, l.i, l.notLogged])).to.deep.equal([
      ['warn', 0, undefined], ['debug', 1, undefined], ['debug', 2, undefined], ['debug', 3, undefined], ['debug', 4, undefined], ['warn', 5, 4],
    ]);
  });

  it('a flood of bad push requests to a logic node: every one answered 400 and counted, one warn line', async () => {
    const { logger, lines } = capturedLogger('info');
    const config = loadLogicConfig({ overrides: { grpc: { port: 0, shutdownGraceMs: 200 }, http: { port: 0 }, admin: { port: 0 }, cloud: { nodes: ['127.0.0.1:1'] } } });
    const node = await LogicNode.start(config, { logger });
    try {
      const n = 40;
      for (let i = 0; i < n; i++) {
        // No keys: refused before anything is pushed.
        const res = await fetch(`http://127.0.0.1:${node.ports.http}/im/push/keys?operation=1000`, { method: 'POST', body: 'hello' });
        expect(res.status).to.equal(400);
        await res.arrayBuffer();
      }
      expect(node.metrics.total('im_http_errors_total')).to.equal(n);
      expect(lines.filter((l) => l.message === 'http request rejected')).to.have.length(1);
    } finally {
      await node.stop();
    }
  });

  it('a cloud node whose logic is gone: every client\'s failed Disconnect counted, one warn line for them', async () => {
    const { logger, lines } = capturedLogger('info');
    const h = await CloudHarness.start({}, undefined, logger);
    try {
      const n = 20;
      const clients: TestClient[] = [];
      for (let i = 0; i < n; i++) clients.push((await TestClient.online('tcp', h.ports.tcp, { ...GOIM_TOKEN, key: `gone-${i}` })).client);
      await h.logic[0].stop();
      for (const c of clients) c.destroy();
      const failed = (): number => h.node.metrics.get('im_logic_call_failures_total', { rpc: 'Disconnect', status: 'UNAVAILABLE' });
      await eventually(() => failed() >= n, 'every Disconnect failed', 10_000);
      const dropped = lines.filter((l) => l.message === 'logic call dropped');
      expect(dropped, 'one line per rpc and code, not one per client').to.have.length(1);
      expect(dropped[0]).to.include({ level: 'warn', rpc: 'Disconnect', code: 'E_LOGIC_UNAVAILABLE' });
    } finally {
      await h.stop();
    }
  });

  it('a logic node failing Connects with INTERNAL: each client closed (E_LOGIC_UNAVAILABLE, not its fault) and counted, one warn line; refusals of a bad token stay at debug', async () => {
    const { logger, lines } = capturedLogger('info');
    const h = await CloudHarness.start({}, undefined, logger);
    try {
      const closeAll = async (status: number, n: number): Promise<void> => {
        h.logic[0].refuseWith = status;
        for (let i = 0; i < n; i++) {
          const client = await TestClient.tcp(h.ports.tcp);
          client.send(Op.Auth, JSON.stringify({ ...GOIM_TOKEN, key: `internal-${status}-${i}` }));
          await client.waitForClose();
          expect(client.disconnectReason()?.code).to.equal(status === grpc.status.INTERNAL ? 'E_LOGIC_UNAVAILABLE' : 'E_AUTH_REFUSED');
        }
      };
      await closeAll(grpc.status.INTERNAL, 10);
      expect(h.node.metrics.get('im_logic_call_failures_total', { rpc: 'Connect', status: 'INTERNAL' })).to.equal(10);
      const failed = lines.filter((l) => l.message === 'logic call failed');
      expect(failed, 'a failing logic node shows, once per window').to.have.length(1);
      expect(failed[0]).to.include({ level: 'warn', rpc: 'Connect', status: 'INTERNAL' });
      await closeAll(grpc.status.UNAUTHENTICATED, 10);
      expect(lines.filter((l) => l.message === 'logic call failed' || l.message === 'logic refused a call'), 'refused tokens are the clients\' matter').to.have.length(1);
    } finally {
      await h.stop();
    }
  });
});
