import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { loadCloudConfig } from '../config/cloud-config';
import { loadLogicConfig } from '../config/logic-config';
import { logicOptions } from '../config/logic-options';
import { ImError } from '../system/errors';

function configError(run: () => unknown): ImError {
  try {
    run();
  } catch (err) {
    if (err instanceof ImError) return err;
    throw err;
  }
  throw new Error('expected a configuration error');
}

describe('logic config', () => {
  it('has goim-compatible defaults and runs with no external service', () => {
    const c = loadLogicConfig();
    expect(c.grpc.port).to.equal(3119);
    expect(c.http.port).to.equal(3111);
    expect(c.cloud.nodes).to.deep.equal(['127.0.0.1:3109']);
    expect(c.session.store).to.equal('memory');
    expect(c.auth.jwtSecret).to.equal('');
    expect(c.receive.sink).to.equal('log');
    expect(c.push.roomTypes).to.deep.equal(['live']);
    expect(c.push.batchMaxMessages).to.equal(20);
  });

  it('reads lists and enums from the environment', () => {
    const c = loadLogicConfig({
      env: { IM_LOGIC_CLOUD_NODES: 'a:1, b:2', IM_LOGIC_ROOM_TYPES: 'live,chat', IM_LOGIC_SESSION_STORE: 'redis' },
    });
    expect(c.cloud.nodes).to.deep.equal(['a:1', 'b:2']);
    expect(c.push.roomTypes).to.deep.equal(['live', 'chat']);
    expect(c.session.store).to.equal('redis');
  });

  it('reports every bad option at once, naming each', () => {
    const err = configError(() => loadLogicConfig({ env: { IM_LOGIC_SESSION_STORE: 'mongo', IM_LOGIC_ROOM_TYPES: 'a b', IM_LOGIC_REDIS_URL: 'http://x' } }));
    expect(err.code).to.equal('E_CONFIG_INVALID');
    expect(err.message).to.include('session.store').and.include('push.roomTypes').and.include('session.redisUrl');
  });

  it('refuses a Consul URL that does not parse or carries credentials, and a node that would watch itself', () => {
    const bad = configError(() => loadLogicConfig({ env: { IM_LOGIC_CONSUL_URL: 'http://consul:99999' } }));
    expect(bad.message).to.include('discovery.consulUrl (http://consul:99999) is not a URL');
    const creds = configError(() => loadLogicConfig({ env: { IM_LOGIC_CONSUL_URL: 'http://u:p@consul:8500' } }));
    expect(creds.message).to.include('must not carry credentials');
    const self = configError(() => loadLogicConfig({ env: { IM_LOGIC_DISCOVERY_WATCH: 'grpc-im-logic-node' } }));
    expect(self.message).to.include('a node would watch itself');
  });

  it('takes a security.token of at least 16 visible ASCII characters, on both kinds (it travels in gRPC metadata and an HTTP header)', () => {
    for (const bad of ['short-token', 'sixteen chars ok', 'jeton-sécurité-de-la-grappe', 'token\twith-a-tab-in-it']) {
      expect(configError(() => loadLogicConfig({ env: { IM_LOGIC_TOKEN: bad } })).message, bad).to.include('security.token');
      expect(configError(() => loadCloudConfig({ env: { IM_CLOUD_TOKEN: bad } })).message, bad).to.include('security.token');
    }
    const good = 'a-b_c.d~e!f@g#h$i%j^k&l*m(n)o+p=q';
    expect(loadLogicConfig({ env: { IM_LOGIC_TOKEN: good } }).security.token).to.equal(good);
    expect(loadCloudConfig({ env: { IM_CLOUD_TOKEN: good } }).security.token).to.equal(good);
  });

  it('takes an admin.token of at least 16 visible ASCII characters, on both kinds (an HTTP header carries it)', () => {
    for (const bad of ['short-token', 'sixteen chars ok', 'jeton-sécurité-admin-grappe']) {
      expect(configError(() => loadLogicConfig({ env: { IM_LOGIC_ADMIN_TOKEN: bad } })).message, bad).to.include('admin.token');
      expect(configError(() => loadCloudConfig({ env: { IM_CLOUD_ADMIN_TOKEN: bad } })).message, bad).to.include('admin.token');
    }
    expect(loadCloudConfig({ env: { IM_CLOUD_ADMIN_TOKEN: 'admin-token-0123456789' } }).admin.token).to.equal('admin-token-0123456789');
  });

  it('bounds how often a registered node registers again (discovery.reassertMs), on both kinds', () => {
    expect(loadLogicConfig().discovery.reassertMs).to.equal(30_000);
    expect(loadCloudConfig().discovery.reassertMs).to.equal(30_000);
    expect(loadLogicConfig({ env: { IM_LOGIC_DISCOVERY_REASSERT_MS: '1000' } }).discovery.reassertMs).to.equal(1000);
    expect(loadCloudConfig({ env: { IM_CLOUD_DISCOVERY_REASSERT_MS: '600000' } }).discovery.reassertMs).to.equal(600_000);
    expect(configError(() => loadLogicConfig({ env: { IM_LOGIC_DISCOVERY_REASSERT_MS: '999' } })).message).to.include('discovery.reassertMs');
    expect(configError(() => loadCloudConfig({ env: { IM_CLOUD_DISCOVERY_REASSERT_MS: '600001' } })).message).to.include('discovery.reassertMs');
  });

  it('needs receive.url for the http sink, and distinct ports', () => {
    expect(configError(() => loadLogicConfig({ env: { IM_LOGIC_RECEIVE_SINK: 'http' } })).message).to.include('receive.url');
    expect(configError(() => loadLogicConfig({ env: { IM_LOGIC_HTTP_PORT: '3119' } })).message).to.include('grpc.port and http.port');
  });

  it('bounds the push path consistently: a link holds the largest push, a push\'s answer waits past its deadline', () => {
    const c = loadLogicConfig();
    expect(c.cloud.maxLinkBytes).to.equal(64 * 1024 * 1024);
    expect(c.push.answerTimeoutMs).to.equal(10_000);
    const link = configError(() => loadLogicConfig({ env: { IM_LOGIC_BATCH_MAX_BYTES: '65536', IM_LOGIC_CLOUD_MAX_LINK_BYTES: '98303' } }));
    expect(link.message).to.include('cloud.maxLinkBytes 98303 is below push.maxBatchBytes + 32768 (98304)');
    expect(loadLogicConfig({ env: { IM_LOGIC_BATCH_MAX_BYTES: '65536', IM_LOGIC_CLOUD_MAX_LINK_BYTES: '98304' } }).cloud.maxLinkBytes).to.equal(98304);
    const answer = configError(() => loadLogicConfig({ env: { IM_LOGIC_CLOUD_TIMEOUT_MS: '3000', IM_LOGIC_PUSH_ANSWER_TIMEOUT_MS: '3000' } }));
    expect(answer.message).to.include('push.answerTimeoutMs 3000 must exceed cloud.callTimeoutMs 3000');
  });

  it('README.md documents every logic option (its env variable and its path)', () => {
    const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const option of logicOptions) {
      expect(readme, option.env).to.include(`\`${option.env}\``);
      expect(readme, option.path).to.include(`\`${option.path}\``);
    }
  });
});
