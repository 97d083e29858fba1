/**
 * TLS options at start: a certificate and its key go together, files are
 * read and checked when the config loads, and every problem is reported at
 * once with E_CONFIG_INVALID naming the option (and, from the real CLI,
 * exit code 2 before anything is bound).
 */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadCloudConfig } from '../config/cloud-config';
import { loadLogicConfig } from '../config/logic-config';
import { TLS_TCP_DEFAULT_PORT } from '../config/tls-options';
import { ImError } from '../system/errors';
import { ChildNode } from './support/child-node';
import { makeTestPki, TestPki } from './support/test-certs';

/** The ImError `load` throws; fails the test when it accepts the config. */
function configError(load: () => unknown): ImError {
  try {
    load();
  } catch (err) {
    if (err instanceof ImError) return err;
    throw err;
  }
  throw new Error('a bad config was accepted');
}

describe('TLS options', function () {
  this.timeout(20000);

  let pki: TestPki;
  let missing: string;

  before(() => {
    pki = makeTestPki();
    missing = path.join(pki.dir, 'no-such.pem');
  });

  after(async () => {
    await ChildNode.killAll();
    pki?.remove();
  });

  it('are off by default: wss on 3103 and TLS tcp on 3104 once a certificate is set, gRPC in plain text', () => {
    const config = loadCloudConfig();
    expect(config.tls.pem).to.equal(null);
    expect(config.grpc.tls.pem).to.equal(null);
    expect(config.wss.port).to.equal(3103);
    expect(config.tls.tcpPort).to.equal(TLS_TCP_DEFAULT_PORT).and.equal(3104);
    expect(loadLogicConfig().grpc.tls.pem).to.equal(null);
  });

  it('read the certificate and key when the config loads, from the environment or the config', () => {
    const config = loadCloudConfig({
      env: { IM_CLOUD_TLS_CERT: pki.node.certFile, IM_CLOUD_TLS_KEY: pki.node.keyFile },
      overrides: grpcFiles(pki.node.certFile, pki.node.keyFile, pki.ca.certFile),
    });
    expect(config.tls.pem?.cert.equals(pki.node.cert)).to.equal(true);
    expect(config.tls.pem?.key.equals(pki.node.key)).to.equal(true);
    expect(config.grpc.tls.pem?.ca?.equals(pki.ca.cert)).to.equal(true);
  });

  it('a certificate without its key (or a key without its certificate) is E_CONFIG_INVALID naming both options', () => {
    const cloud = configError(() => loadCloudConfig({ overrides: { tls: { cert: pki.node.certFile } } }));
    expect(cloud.code).to.equal('E_CONFIG_INVALID');
    expect(cloud.message).to.include('tls.cert and tls.key must be set together (tls.key is empty)');
    const logic = configError(() => loadLogicConfig({ env: { IM_LOGIC_GRPC_TLS_KEY: pki.node.keyFile } }));
    expect(logic.message).to.include('grpc.tlsCert and grpc.tlsKey must be set together (grpc.tlsCert is empty)');
    const caAlone = configError(() => loadCloudConfig({ overrides: { grpc: { tlsCa: pki.ca.certFile } } }));
    expect(caAlone.message).to.include('grpc.tlsCa needs grpc.tlsCert and grpc.tlsKey');
  });

  it('files that cannot be read are named with their option, every one at once', () => {
    const err = configError(() => loadCloudConfig({
      overrides: { tls: { cert: missing, key: pki.node.keyFile }, ...grpcFiles(pki.node.certFile, pki.node.keyFile, missing) },
    }));
    expect(err.code).to.equal('E_CONFIG_INVALID');
    expect(err.message).to.include(`tls.cert ${missing} cannot be read`).and.include(`grpc.tlsCa ${missing} cannot be read`);
    expect(err.message).to.include('ENOENT');
  });

  it('a file that is not PEM, or a key that is not the certificate\'s, is refused', () => {
    const junk = path.join(pki.dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    const notPem = configError(() => loadCloudConfig({ overrides: { tls: { cert: junk, key: pki.node.keyFile } } }));
    expect(notPem.message).to.include(`tls.cert ${junk} is not a PEM certificate`);
    const mismatch = configError(() => loadLogicConfig({ overrides: grpcFiles(pki.node.certFile, pki.rogue.keyFile, pki.ca.certFile) }));
    expect(mismatch.message).to.include(`grpc.tlsKey ${pki.rogue.keyFile} is not the key of grpc.tlsCert ${pki.node.certFile}`);
  });

  it('wss.port and tls.tcpPort must differ from the other ports only when they are bound', () => {
    expect(() => loadCloudConfig({ overrides: { tcp: { port: 3103 } } }), 'no certificate: 3103 is not taken').to.not.throw();
    const err = configError(() => loadCloudConfig({ overrides: { tcp: { port: 3103 }, tls: { cert: pki.node.certFile, key: pki.node.keyFile } } }));
    expect(err.message).to.include('tcp.port and wss.port are both 3103');
  });

  it('the CLI refuses to start a node with an unreadable certificate: exit 2, E_CONFIG_INVALID naming the option and the file', async () => {
    const node = ChildNode.spawn({ args: ['cloud'], env: { IM_CLOUD_TLS_CERT: missing, IM_CLOUD_TLS_KEY: pki.node.keyFile } });
    expect(await node.waitForExit()).to.deep.equal({ code: 2, signal: null });
    expect(node.stderr).to.match(/^E_CONFIG_INVALID: /);
    expect(node.stderr).to.include(`tls.cert ${missing} cannot be read`);
    expect(node.logsWith('cloud node started')).to.have.length(0);
  });
});

function grpcFiles(cert: string, key: string, ca: string): Record<string, unknown> {
  return { grpc: { tlsCert: cert, tlsKey: key, tlsCa: ca } };
}
