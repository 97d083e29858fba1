/**
 * Issue 10, part 7: docker/. There is no Docker engine on the machines
 * that run this suite, so what can be checked without one is checked here:
 * the compose file's services, their environment against the option tables
 * (each node service's environment loads as a valid config of its kind),
 * their ports against what those configs listen on; the Dockerfile's build
 * context holds everything it copies; and the image's HEALTHCHECK script
 * tells a live node from none.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadCloudConfig } from '../config/cloud-config';
import { cloudOptions } from '../config/cloud-options';
import { loadLogicConfig } from '../config/logic-config';
import { logicOptions } from '../config/logic-options';
import { CloudHarness } from './support/cloud-harness';
import { freePort } from './support/free-ports';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCKER = path.join(ROOT, 'docker');

interface Service {
  readonly image?: string;
  readonly build?: { readonly context: string; readonly dockerfile: string };
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly ports?: readonly string[];
  readonly depends_on?: readonly string[];
}

function compose(): Record<string, Service> {
  const doc = parse(readFileSync(path.join(DOCKER, 'compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
  return doc.services;
}

/** "hostIp:hostPort:containerPort" → its parts. */
function published(mapping: string): { hostIp: string; hostPort: number; containerPort: number } {
  const parts = mapping.split(':');
  expect(parts, `${mapping}: publish on an explicit host address`).to.have.length(3);
  return { hostIp: parts[0], hostPort: Number(parts[1]), containerPort: Number(parts[2]) };
}

/** Paths .dockerignore keeps out of the build context (its simple patterns: names and name globs at the root). */
function ignored(): string[] {
  return readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

function isIgnored(source: string, patterns: readonly string[]): boolean {
  const top = source.split('/')[0];
  return patterns.some((p) => {
    if (p.startsWith('*')) return source.endsWith(p.slice(1));
    return top === p || source === p;
  });
}

describe('docker/: the image and the compose cluster (checked without a Docker engine)', () => {
  it('compose runs consul, redis, two logic and two cloud nodes, all using consul discovery', () => {
    const services = compose();
    expect(Object.keys(services).sort()).to.deep.equal(['cloud1', 'cloud2', 'consul', 'logic1', 'logic2', 'redis']);
    for (const name of ['logic1', 'logic2']) {
      expect(services[name].command).to.deep.equal(['logic']);
      expect(services[name].environment).to.include({ IM_LOGIC_DISCOVERY: 'consul', IM_LOGIC_CONSUL_URL: 'http://consul:8500', IM_LOGIC_SESSION_STORE: 'redis', IM_LOGIC_REDIS_URL: 'redis://redis:6379' });
      expect(services[name].depends_on).to.include.members(['consul', 'redis']);
    }
    for (const name of ['cloud1', 'cloud2']) {
      expect(services[name].command).to.deep.equal(['cloud']);
      expect(services[name].environment).to.include({ IM_CLOUD_DISCOVERY: 'consul', IM_CLOUD_CONSUL_URL: 'http://consul:8500' });
      // Other nodes and Consul's gRPC check reach it by its service name.
      expect(services[name].environment?.IM_CLOUD_ADVERTISE_HOST).to.equal(name);
    }
    expect(services.logic1.environment?.IM_LOGIC_ADVERTISE_HOST).to.equal('logic1');
    expect(services.logic2.environment?.IM_LOGIC_ADVERTISE_HOST).to.equal('logic2');
    expect(services.consul.image).to.match(/^hashicorp\/consul:/);
    expect(services.redis.image).to.match(/^redis:/);
    for (const name of ['logic1', 'logic2', 'cloud1', 'cloud2']) expect(services[name].build).to.deep.equal({ context: '..', dockerfile: 'docker/Dockerfile' });
  });

  it('every environment name is an option of its node kind, and each node service\'s environment loads as a valid config', () => {
    const services = compose();
    const cloudEnv = new Set(cloudOptions.map((o) => o.env));
    const logicEnv = new Set(logicOptions.map((o) => o.env));
    for (const [name, service] of Object.entries(services)) {
      const env = service.environment ?? {};
      for (const key of Object.keys(env)) {
        if (key.startsWith('IM_CLOUD_')) expect(cloudEnv.has(key), `${name}: ${key} is a cloud option`).to.equal(true);
        else if (key.startsWith('IM_LOGIC_')) expect(logicEnv.has(key), `${name}: ${key} is a logic option`).to.equal(true);
        else expect.fail(`${name}: ${key} is not an option of either node kind`);
      }
      if (name.startsWith('cloud')) expect(() => loadCloudConfig({ env }), name).to.not.throw();
      if (name.startsWith('logic')) expect(() => loadLogicConfig({ env }), name).to.not.throw();
    }
  });

  it('the internal surfaces bind every address and every node holds the same security.token', () => {
    const services = compose();
    const tokens = new Set<string>();
    for (const name of ['cloud1', 'cloud2']) {
      const config = loadCloudConfig({ env: services[name].environment ?? {} });
      expect(config.grpc.bindHost, name).to.equal('0.0.0.0');
      tokens.add(config.security.token);
    }
    for (const name of ['logic1', 'logic2']) {
      const config = loadLogicConfig({ env: services[name].environment ?? {} });
      expect(config.node.bindHost, name).to.equal('0.0.0.0');
      tokens.add(config.security.token);
    }
    expect([...tokens]).to.have.length(1);
    expect([...tokens][0]).to.match(/^\$\{IM_CLUSTER_TOKEN:-\S{16,}\}$/);
  });

  it('published ports are the ports each node is configured to listen on, and Nodes answers with the cloud nodes\' client ports', () => {
    const services = compose();
    for (const name of ['cloud1', 'cloud2']) {
      const config = loadCloudConfig({ env: services[name].environment ?? {} });
      const listening = [config.tcp.port, config.ws.port];
      const ports = (services[name].ports ?? []).map(published);
      expect(ports.map((p) => p.containerPort).sort()).to.deep.equal([...listening].sort());
      // Each cloud node is published on the host address it tells clients (Consul Meta), with the same port numbers.
      for (const p of ports) expect([p.hostIp, p.hostPort]).to.deep.equal([config.node.clientHost, p.containerPort]);
    }
    const clientHosts = ['cloud1', 'cloud2'].map((n) => loadCloudConfig({ env: services[n].environment ?? {} }).node.clientHost);
    expect(new Set(clientHosts).size, 'two hosts in the Nodes answer').to.equal(2);
    for (const name of ['logic1', 'logic2']) {
      const config = loadLogicConfig({ env: services[name].environment ?? {} });
      const cloud = loadCloudConfig({ env: services.cloud1.environment ?? {} });
      expect([config.nodes.tcpPort, config.nodes.wsPort]).to.deep.equal([cloud.tcp.port, cloud.ws.port]);
      expect((services[name].ports ?? []).map(published).map((p) => p.containerPort)).to.deep.equal([config.http.port]);
    }
    expect((services.consul.ports ?? []).map(published).map((p) => p.containerPort)).to.deep.equal([8500]);
  });

  it('the Dockerfile builds from what the context holds: multi-stage, npm ci --omit=dev, non-root, a HEALTHCHECK', () => {
    const text = readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const stages = lines.filter((l) => /^FROM /.test(l));
    expect(stages.length, 'multi-stage').to.be.at.least(2);
    const patterns = ignored();
    const copies = lines.filter((l) => /^COPY /.test(l) && !l.includes('--from='));
    expect(copies.length).to.be.greaterThan(0);
    for (const copy of copies) {
      const args = copy.replace(/^COPY\s+/, '').split(/\s+/).filter((a) => !a.startsWith('--'));
      for (const source of args.slice(0, -1)) {
        expect(existsSync(path.join(ROOT, source)), `${source} exists`).to.equal(true);
        expect(isIgnored(source, patterns), `${source} is not in .dockerignore`).to.equal(false);
      }
    }
    const finalStage = lines.slice(lines.lastIndexOf(stages[stages.length - 1]));
    expect(finalStage.some((l) => /^RUN npm ci --omit=dev\b/.test(l)), 'production dependencies only').to.equal(true);
    const user = finalStage.find((l) => /^USER /.test(l));
    expect(user, 'a USER').to.not.equal(undefined);
    expect(user).to.not.match(/^USER\s+(root|0)\b/);
    expect(finalStage.some((l) => /^HEALTHCHECK .*docker\/healthcheck\.js/.test(l))).to.equal(true);
    const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const built = /RUN npm run (\S+)/.exec(text);
    expect(built && scripts[built[1]], 'the build script exists').to.be.a('string');
    expect(existsSync(path.join(ROOT, 'bin', 'im-cloud.js'))).to.equal(true);
  });

  it('the HEALTHCHECK script answers 0 for a live node and 1 for none', async function () {
    this.timeout(20_000);
    const h = await CloudHarness.start();
    try {
      // Asynchronously: the node answering the probe runs in this process.
      const run = (port: number): Promise<number | null> => new Promise((resolve) => {
        const child = spawn(process.execPath, [path.join(DOCKER, 'healthcheck.js')], {
          env: { PATH: process.env.PATH ?? '', IM_CLOUD_ADMIN_PORT: String(port), IM_LOGIC_ADMIN_PORT: String(port) }, stdio: 'ignore',
        });
        child.on('exit', (code) => resolve(code));
      });
      expect(await run(h.node.adminPort)).to.equal(0);
      expect(await run(await freePort())).to.equal(1);
    } finally {
      await h.stop();
    }
  });
});
