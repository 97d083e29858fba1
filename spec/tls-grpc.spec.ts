/**
 * TLS between nodes: a logic node and a cloud node with grpc.tlsCert,
 * grpc.tlsKey and grpc.tlsCa (certificates made by openssl for this run)
 * talk over mutual TLS: a client's auth goes cloud → logic (Connect) and an
 * HTTP push goes logic → cloud (PushMsg). Callers without a certificate the
 * CA signed, in plain text, or not trusting the CA are refused.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { closeClientChannel, loadWireProtos } from '../system/proto-loader';
import { makeTestPki, TestPki } from './support/test-certs';
import { SystemHarness } from './support/system-harness';

const BIZ = 1000;

function grpcTls(cert: { certFile: string; keyFile: string }, caFile: string): Record<string, unknown> {
  return { grpc: { tlsCert: cert.certFile, tlsKey: cert.keyFile, tlsCa: caFile } };
}

/** Ping on a node's gRPC service with the given credentials: null when answered, else the error. */
async function ping(service: 'logic' | 'cloud', address: string, credentials: grpc.ChannelCredentials): Promise<grpc.ServiceError | null> {
  const { im } = loadWireProtos();
  const client = service === 'logic' ? new im.logic.Logic(address, credentials) : new im.cloud.Cloud(address, credentials);
  try {
    return await new Promise<grpc.ServiceError | null>((resolve) => {
      client.Ping({}, { deadline: Date.now() + 3000 }, (err) => resolve(err));
    });
  } finally {
    closeClientChannel(client);
  }
}

describe('TLS between nodes (gRPC)', function () {
  this.timeout(20000);

  let pki: TestPki;

  before(() => {
    pki = makeTestPki();
  });

  after(() => pki?.remove());

  describe('a logic node and a cloud node with mutual TLS', () => {
    let sys: SystemHarness;

    before(async () => {
      const tls = grpcTls(pki.node, pki.ca.certFile);
      sys = await SystemHarness.start({ logicOverrides: tls, cloudOverrides: tls });
    });

    after(async () => {
      await sys?.stop();
    });

    it('authenticates a client through logic (Connect) and delivers an HTTP push through the cloud node (PushMsg)', async () => {
      const { client, auth } = await sys.online(0, 'ws', { mid: 901, room_id: 'live://mtls', platform: 'web', accepts: [BIZ] });
      expect(auth.mid).to.equal(901);
      const reply = await sys.http('/im/push/mids', { query: { operation: BIZ, mids: 901 }, body: 'over mutual TLS' });
      expect(reply.status, reply.text).to.equal(200);
      expect(reply.json.data).to.deep.equal({ targets: 1, nodes: 1 });
      const push = await client.waitFor((p) => p.op === BIZ, 5000, 'the push');
      expect(push.body.toString()).to.equal('over mutual TLS');
      expect(sys.logic[0].metrics.get('im_logic_connects_total'), 'the session logic created').to.equal(1);
    });

    for (const service of ['logic', 'cloud'] as const) {
      it(`the ${service} node answers a caller presenting a certificate its CA signed, and refuses every other`, async () => {
        const address = service === 'logic' ? sys.logicAddress(0) : sys.cloudAddress(0);
        const { ca, node, rogue, rogueCa } = pki;
        expect(await ping(service, address, grpc.credentials.createSsl(ca.cert, node.key, node.cert)), 'with the right certificate').to.equal(null);

        const refused: Array<[string, grpc.ChannelCredentials]> = [
          ['plain text', grpc.credentials.createInsecure()],
          ['TLS without a client certificate', grpc.credentials.createSsl(ca.cert)],
          ['a certificate another CA signed', grpc.credentials.createSsl(ca.cert, rogue.key, rogue.cert)],
          ['a caller that does not trust the node\'s CA', grpc.credentials.createSsl(rogueCa.cert, node.key, node.cert)],
        ];
        for (const [what, credentials] of refused) {
          const err = await ping(service, address, credentials);
          expect(err?.code, what).to.equal(grpc.status.UNAVAILABLE);
        }
      });
    }
  });

  describe('a cloud node whose logic node\'s certificate its CA did not sign', () => {
    let sys: SystemHarness;

    before(async () => {
      sys = await SystemHarness.start({
        logicOverrides: grpcTls(pki.rogue, pki.ca.certFile),
        cloudOverrides: grpcTls(pki.node, pki.ca.certFile),
      });
    });

    after(async () => {
      await sys?.stop();
    });

    it('never sends it a Connect: the client is closed with E_LOGIC_UNAVAILABLE', async () => {
      const client = await sys.connect(0, 'tcp');
      client.send(7, JSON.stringify({ mid: 902, room_id: 'live://mtls', platform: 'web', accepts: [BIZ] }));
      await client.waitForClose(10000);
      expect(client.disconnectReason()).to.include({ code: 'E_LOGIC_UNAVAILABLE' });
      expect(sys.logic[0].metrics.get('im_logic_connects_total'), 'no session was created').to.equal(0);
    });
  });
});
