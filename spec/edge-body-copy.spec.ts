/**
 * A packet's body leaves the client edges as bytes of its own, not as a
 * view of the socket read it arrived in (up to 64 KiB, kept alive for as
 * long as the body is: queued, at logic's Receive, echoed in op 5). Real
 * sockets into the real tcp and ws edges; what they hand the connection is
 * recorded in place of the connection actor.
 */
import { expect } from 'chai';
import type { ConnectionMsg } from '../actors/connection-actor';
import type { ClientHandle } from '../actors/ports';
import type { ActorRef } from '../system/actor-kind';
import { encodePacket, Op, Packet } from '../system/codec/packet';
import { AcceptGuard } from '../system/edges/accept-guard';
import { ClientAdmission } from '../system/edges/client-admission';
import type { ConnectionOpener } from '../system/edges/connection-opener';
import type { ClientLimits } from '../system/edges/socket-client';
import { TcpEdge } from '../system/edges/tcp-edge';
import { WsEdge } from '../system/edges/ws-edge';
import { silentLogger } from '../system/logger';
import { Metrics } from '../system/metrics';
import { eventually } from './support/cloud-harness';
import { TestClient } from './support/test-client';

const LIMITS: ClientLimits = { softBytes: 1 << 20, hardBytes: 1 << 22, slowMs: 5000, hardMs: 20000, readPauseDepth: 1000 };

class RecordingOpener implements ConnectionOpener {
  readonly packets: Packet[] = [];
  readonly handles: ClientHandle[] = [];
  readonly accepting = true;
  private serial = 0;

  nextId(): number {
    return ++this.serial;
  }

  open(handle: ClientHandle): ActorRef<ConnectionMsg> {
    this.handles.push(handle);
    return {
      path: `/conn-${handle.id}`, kind: 'connection',
      tell: (msg) => {
        if (msg.type === 'packet') this.packets.push(msg.packet);
      },
    };
  }
}

describe('client edges: bodies of their own', () => {
  const closers: Array<() => void> = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  for (const transport of ['tcp', 'ws'] as const) {
    it(`${transport}: a body that arrived with others in one read is copied out of it`, async () => {
      const metrics = new Metrics('cloud');
      const log = silentLogger();
      const admission = new ClientAdmission({ maxConnections: 100, maxPerIp: 0, newPerSec: 0, maxRefusing: 100 }, () => true, metrics, log);
      const guard = new AcceptGuard(1000, log, metrics, () => admission.openConnections);
      const opener = new RecordingOpener();
      const options = { maxBodySize: 4096, limits: LIMITS, coalescer: null };
      const edge = transport === 'tcp'
        ? new TcpEdge(options, opener, admission, guard, metrics, log)
        : new WsEdge({ ...options, path: '/sub', maxPayload: 16 + 4096, upgradeTimeoutMs: 5000, allowedOrigins: [] }, opener, admission, guard, metrics, log);
      const port = await edge.listen(0, '127.0.0.1');
      closers.push(() => {
        if (edge instanceof WsEdge) edge.server.closeAllConnections();
        edge.server.close();
      });
      const client = transport === 'tcp' ? await TestClient.tcp(port) : await TestClient.ws(port);
      closers.push(() => client.destroy());
      // Many packets in one write, so the node reads them in one chunk: without a copy each body is a view of it.
      const bodies = Array.from({ length: 40 }, (_, i) => `body-${i}-${'y'.repeat(1000)}`);
      client.writeTogether(bodies.map((b, i) => encodePacket(1, Op.SendMsg, i, b)));
      await eventually(() => opener.packets.length === bodies.length, 'every packet at the edge');
      expect(opener.packets.map((p) => p.body.toString())).to.deep.equal(bodies);
      const chunkSized = opener.packets.filter((p) => p.body.buffer.byteLength >= 64 * 1024);
      expect(chunkSized, 'bodies keeping a 64 KiB read alive').to.have.length(0);
      for (const p of opener.packets) expect(p.body.buffer.byteLength).to.be.at.most(Buffer.poolSize);
      for (const h of opener.handles) h.close();
    });
  }
});
