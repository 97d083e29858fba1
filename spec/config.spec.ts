/**
 * loadCloudConfig: defaults, where values come from (overrides > env > file
 * > default), validation that reports every problem at once, the server id,
 * and the README's option table.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudConfig, loadCloudConfig, serverIdOf } from '../config/cloud-config';
import { cloudOptions } from '../config/cloud-options';
import { ImError } from '../system/errors';

/** The ImError loadCloudConfig throws for `sources`; fails the test if it does not throw one. */
function configError(sources: Parameters<typeof loadCloudConfig>[0]): ImError {
  try {
    loadCloudConfig(sources);
  } catch (err) {
    if (err instanceof ImError) return err;
    throw err;
  }
  throw new Error('loadCloudConfig accepted a bad config');
}

function withServerId(config: CloudConfig, serverId: string, advertiseHost = config.node.advertiseHost): CloudConfig {
  return { ...config, node: { ...config.node, advertiseHost }, grpc: { ...config.grpc, serverId } };
}

describe('cloud config', () => {
  let tmp: string;

  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'im-cloud-config-'));
  });

  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  function file(name: string, content: unknown): string {
    const p = path.join(tmp, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  }

  describe('defaults', () => {
    let config: CloudConfig;

    before(() => {
      config = loadCloudConfig();
    });

    it('uses goim\'s ports and paths', () => {
      expect(config.tcp.port).to.equal(3101);
      expect(config.ws.port).to.equal(3102);
      expect(config.ws.path).to.equal('/sub');
      expect(config.grpc.port).to.equal(3109);
      expect(config.logic.nodes).to.deep.equal(['127.0.0.1:3119']);
    });

    it('limits client bodies to 4096 bytes and derives ws.maxPayload = 16 + maxBodySize', () => {
      expect(config.protocol.maxBodySize).to.equal(4096);
      expect(config.ws.maxPayload).to.equal(16 + 4096);
    });

    it('derives ws.maxPayload from a configured maxBodySize unless ws.maxPayload is given', () => {
      expect(loadCloudConfig({ overrides: { protocol: { maxBodySize: 100 } } }).ws.maxPayload).to.equal(116);
      expect(loadCloudConfig({ env: { IM_CLOUD_MAX_BODY_SIZE: '200' } }).ws.maxPayload).to.equal(216);
      expect(loadCloudConfig({ overrides: { protocol: { maxBodySize: 100 }, ws: { maxPayload: 1000 } } }).ws.maxPayload).to.equal(1000);
    });

    it('bounds calls to logic: 1024 in flight, 10000 queued, and a Connect waited for callTimeoutMs + handshakeTimeoutMs', () => {
      expect(config.logic).to.deep.include({ callTimeoutMs: 3000, maxInFlight: 1024, maxQueued: 10000, connectWaitMs: 8000 });
      expect(loadCloudConfig({ overrides: { logic: { callTimeoutMs: 500 }, protocol: { handshakeTimeoutMs: 200 } } }).logic.connectWaitMs).to.equal(700);
      expect(loadCloudConfig({ env: { IM_CLOUD_LOGIC_CONNECT_WAIT_MS: '250', IM_CLOUD_LOGIC_MAX_QUEUED: '0' } }).logic)
        .to.deep.include({ connectWaitMs: 250, maxQueued: 0 });
      expect(configError({ env: { IM_CLOUD_LOGIC_MAX_IN_FLIGHT: '0' } }).message).to.include('logic.maxInFlight (IM_CLOUD_LOGIC_MAX_IN_FLIGHT)');
    });

    it('gives RenewOnline its own attempt timeout: by default the renew interval, not logic.callTimeoutMs', () => {
      expect(config.logic).to.deep.include({ renewOnlineIntervalMs: 10000, renewOnlineTimeoutMs: 10000 });
      expect(loadCloudConfig({ overrides: { logic: { renewOnlineIntervalMs: 4000 } } }).logic.renewOnlineTimeoutMs).to.equal(4000);
      expect(loadCloudConfig({ env: { IM_CLOUD_RENEW_ONLINE_TIMEOUT_MS: '6000' } }).logic.renewOnlineTimeoutMs).to.equal(6000);
    });

    it('is the same with an empty environment as with none', () => {
      expect(loadCloudConfig({ env: {} })).to.deep.equal(config);
    });
  });

  describe('precedence: overrides > env > file > default', () => {
    it('each source wins over the ones below it', () => {
      const f = file('ports.json', { tcp: { port: 4101 }, ws: { port: 4102 }, grpc: { port: 4109 } });
      const config = loadCloudConfig({
        file: f,
        env: { IM_CLOUD_WS_PORT: '5102', IM_CLOUD_GRPC_PORT: '5109' },
        overrides: { grpc: { port: 6109 } },
      });
      expect(config.tcp.port, 'file over default').to.equal(4101);
      expect(config.ws.port, 'env over file').to.equal(5102);
      expect(config.grpc.port, 'overrides over env').to.equal(6109);
      expect(config.protocol.maxBodySize, 'default').to.equal(4096);
    });

    it('an empty env variable counts as unset', () => {
      const f = file('tcp.json', { tcp: { port: 4101 } });
      expect(loadCloudConfig({ file: f, env: { IM_CLOUD_TCP_PORT: '' } }).tcp.port).to.equal(4101);
    });

    it('env values are parsed to their types', () => {
      const config = loadCloudConfig({ env: { IM_CLOUD_HANDSHAKE_TIMEOUT_MS: '1234', IM_CLOUD_LOG_LEVEL: 'debug', IM_CLOUD_WS_PATH: '/im' } });
      expect(config.protocol.handshakeTimeoutMs).to.equal(1234);
      expect(config.log.level).to.equal('debug');
      expect(config.ws.path).to.equal('/im');
    });
  });

  describe('logic.nodes (hostPortList)', () => {
    it('parses a comma-separated env value, trimming spaces', () => {
      expect(loadCloudConfig({ env: { IM_CLOUD_LOGIC_NODES: 'a:1, b:2' } }).logic.nodes).to.deep.equal(['a:1', 'b:2']);
    });

    it('takes a JSON array from a file, IPv6 in brackets included', () => {
      const f = file('logic.json', { logic: { nodes: ['10.0.0.1:3119', '[::1]:3119'] } });
      expect(loadCloudConfig({ file: f }).logic.nodes).to.deep.equal(['10.0.0.1:3119', '[::1]:3119']);
    });

    it('rejects items that are not host:port, naming them', () => {
      const err = configError({ env: { IM_CLOUD_LOGIC_NODES: 'a:1, nohost, b:99999' } });
      expect(err.code).to.equal('E_CONFIG_INVALID');
      expect(err.message).to.include('logic.nodes (IM_CLOUD_LOGIC_NODES)').and.include('nohost').and.include('b:99999');
    });

    it('rejects an empty list', () => {
      expect(configError({ env: { IM_CLOUD_LOGIC_NODES: ' , ' } }).message).to.include('at least one host:port');
    });
  });

  describe('validation', () => {
    it('reports every bad option in one error', () => {
      const err = configError({ env: { IM_CLOUD_TCP_PORT: 'notaport', IM_CLOUD_LOG_LEVEL: 'loud' } });
      expect(err.code).to.equal('E_CONFIG_INVALID');
      expect(err.message).to.include('tcp.port (IM_CLOUD_TCP_PORT)').and.include('"notaport"');
      expect(err.message).to.include('log.level (IM_CLOUD_LOG_LEVEL)').and.include('"loud"');
    });

    it('names the source of a bad value: env variable, file, or overrides', () => {
      const f = file('bad-port.json', { grpc: { port: 70000 } });
      const err = configError({ file: f, env: { IM_CLOUD_WS_PORT: '-1' }, overrides: { tcp: { port: 'x' } } });
      expect(err.message).to.include(`grpc.port (${f}): 70000 is outside 0..65535`);
      expect(err.message).to.include('ws.port (IM_CLOUD_WS_PORT): -1 is outside 0..65535');
      expect(err.message).to.include('tcp.port (override)');
    });

    it('rejects non-integers and values below an option\'s minimum', () => {
      const err = configError({ overrides: { protocol: { handshakeTimeoutMs: 1.5, sweepIntervalMs: 1 } } });
      expect(err.message).to.include('protocol.handshakeTimeoutMs').and.include('expected an integer');
      expect(err.message).to.include('protocol.sweepIntervalMs').and.include('outside 10..');
    });

    it('rejects a ws.path that does not start with /', () => {
      expect(configError({ env: { IM_CLOUD_WS_PATH: 'sub' } }).message).to.include('ws.path (IM_CLOUD_WS_PATH)');
    });

    it('rejects an unknown option in a file', () => {
      const f = file('unknown.json', { tcp: { port: 4101, prot: 1 }, nope: true });
      const err = configError({ file: f });
      expect(err.code).to.equal('E_CONFIG_INVALID');
      expect(err.message).to.include('tcp.prot').and.include('nope').and.include('unknown option');
    });

    it('rejects an unknown option in overrides', () => {
      expect(configError({ overrides: { limits: { maxConections: 1 } } }).message).to.include('limits.maxConections');
    });

    it('reports a missing or broken file as E_CONFIG_FILE', () => {
      const missing = configError({ file: path.join(tmp, 'nope.json') });
      expect(missing.code).to.equal('E_CONFIG_FILE');
      expect(missing.message).to.include('nope.json');
      const broken = configError({ file: file('broken.json', '{"tcp": ') });
      expect(broken.code).to.equal('E_CONFIG_FILE');
      expect(broken.message).to.include('not valid JSON');
    });

    describe('cross-field checks', () => {
      it('logic.heartbeatMinMs must not exceed logic.heartbeatMaxMs', () => {
        const err = configError({ overrides: { logic: { heartbeatMinMs: 2000, heartbeatMaxMs: 1000 } } });
        expect(err.code).to.equal('E_CONFIG_INVALID');
        expect(err.message).to.include('logic.heartbeatMinMs (2000)').and.include('logic.heartbeatMaxMs (1000)');
        expect(loadCloudConfig({ overrides: { logic: { heartbeatMinMs: 1000, heartbeatMaxMs: 1000 } } }).logic.heartbeatMaxMs).to.equal(1000);
      });

      it('logic.renewOnlineTimeoutMs must not exceed logic.renewOnlineIntervalMs', () => {
        const err = configError({ overrides: { logic: { renewOnlineIntervalMs: 2000, renewOnlineTimeoutMs: 2001 } } });
        expect(err.code).to.equal('E_CONFIG_INVALID');
        expect(err.message).to.include('logic.renewOnlineTimeoutMs (2001)').and.include('logic.renewOnlineIntervalMs (2000)');
        expect(loadCloudConfig({ overrides: { logic: { renewOnlineIntervalMs: 2000, renewOnlineTimeoutMs: 2000 } } }).logic.renewOnlineTimeoutMs).to.equal(2000);
      });

      it('tcp, ws and gRPC ports must differ (0 excepted)', () => {
        const err = configError({ overrides: { tcp: { port: 4000 }, grpc: { port: 4000 } } });
        expect(err.message).to.include('tcp.port and grpc.port are both 4000');
        const all = configError({ env: { IM_CLOUD_TCP_PORT: '4000', IM_CLOUD_WS_PORT: '4000', IM_CLOUD_GRPC_PORT: '4000' } });
        expect(all.message).to.include('tcp.port and ws.port').and.include('tcp.port and grpc.port').and.include('ws.port and grpc.port');
        expect(loadCloudConfig({ overrides: { tcp: { port: 0 }, ws: { port: 0 }, grpc: { port: 0 } } }).tcp.port).to.equal(0);
      });

      it('ws.maxPayload must hold a full packet: at least 16 + protocol.maxBodySize', () => {
        const err = configError({ overrides: { ws: { maxPayload: 4000 } } });
        expect(err.message).to.include('ws.maxPayload (4000)').and.include(String(16 + 4096));
        expect(loadCloudConfig({ overrides: { ws: { maxPayload: 16 + 4096 } } }).ws.maxPayload).to.equal(4112);
      });

      it('reports several cross-field problems together', () => {
        const err = configError({ overrides: { logic: { heartbeatMinMs: 2, heartbeatMaxMs: 1 }, tcp: { port: 4000 }, ws: { port: 4000 } } });
        expect(err.message).to.include('logic.heartbeatMinMs').and.include('tcp.port and ws.port are both 4000');
      });
    });
  });

  describe('serverIdOf', () => {
    let config: CloudConfig;

    before(() => {
      config = loadCloudConfig();
    });

    it('defaults to advertiseHost:bound gRPC port', () => {
      expect(serverIdOf(config, 43109)).to.equal('127.0.0.1:43109');
      expect(serverIdOf(withServerId(config, '', 'cloud-1.internal'), 3109)).to.equal('cloud-1.internal:3109');
    });

    it('uses an explicit grpc.serverId as it is', () => {
      expect(serverIdOf(withServerId(config, 'cloud-a:9000'), 43109)).to.equal('cloud-a:9000');
      expect(loadCloudConfig({ env: { IM_CLOUD_SERVER_ID: 'x:1' } }).grpc.serverId).to.equal('x:1');
    });

    it('brackets an IPv6 advertise host, once', () => {
      expect(serverIdOf(withServerId(config, '', '::1'), 3109)).to.equal('[::1]:3109');
      expect(serverIdOf(withServerId(config, '', '[fd00::2]'), 3109)).to.equal('[fd00::2]:3109');
      expect(serverIdOf(loadCloudConfig({ env: { IM_CLOUD_ADVERTISE_HOST: 'fd00::2' } }), 3109)).to.equal('[fd00::2]:3109');
    });
  });

  describe('option table', () => {
    it('gives every option a unique path and a unique IM_CLOUD_* variable', () => {
      const paths = cloudOptions.map((o) => o.path);
      const envs = cloudOptions.map((o) => o.env);
      expect(new Set(paths).size).to.equal(paths.length);
      expect(new Set(envs).size).to.equal(envs.length);
      for (const env of envs) expect(env).to.match(/^IM_CLOUD_[A-Z0-9_]+$/);
    });

    it('README.md documents every option (its env variable and its path)', () => {
      const readme = path.resolve(__dirname, '..', '..', 'README.md');
      expect(existsSync(readme), `${readme} exists (its table comes from \`node bin/im-cloud.js options\`)`).to.equal(true);
      const text = readFileSync(readme, 'utf8');
      const missing = cloudOptions.filter((o) => !text.includes(o.env) || !text.includes(o.path)).map((o) => `${o.path} / ${o.env}`);
      expect(missing, 'options missing from README.md').to.deep.equal([]);
    });
  });
});
