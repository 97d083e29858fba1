import cluster from 'node:cluster';
import { cloudOptions } from '../config/cloud-options';
import { CloudConfig, loadCloudConfig, serverIdOf } from '../config/cloud-config';
import { optionsMarkdown } from '../config/docs';
import { loadLogicConfig } from '../config/logic-config';
import { logicOptions } from '../config/logic-options';
import { INSPECT_DEFAULT_DEPTH, INSPECT_DEFAULT_LIMIT, INSPECT_DEFAULT_URL, INSPECT_MAX_LIMIT, runInspect } from './admin/inspect-command';
import { runClient } from './cli-client';
import { CloudNode } from './cloud-node';
import { logUncaughtFaults } from './crash-log';
import { ErrorCodes, ImError } from './errors';
import { LogicNode } from './logic-node';
import { createLogger } from './logger';
import { CloudPrimary } from './workers/cloud-primary';
import { runCloudWorker } from './workers/cloud-worker';
import { WORKER_SLOT_ENV } from './workers/worker-protocol';

const USAGE = `usage: im-cloud <command> [options]

commands:
  start [--cloud-config f] [--logic-config f]
                   a logic node and a cloud node wired to each other (what \`npm start\` runs)
  cloud [--config file.json] [--workers N]
                   a cloud node: client sockets (tcp, ws; wss and TLS tcp with a certificate)
                   and the gRPC push service; with --workers N, N cloud nodes on this host
                   sharing the client ports, worker i on grpc.port + i and admin.port + i
  logic [--config file.json]
                   a logic node: auth and sessions for cloud nodes, the HTTP push API
  client --token JSON [--tcp] [--host H] [--port P] [--path /sub] [--send TEXT]...
                   connect as a client, authenticate, send each TEXT as op 4, print every
                   message received and each op 5 (\`ack\` or \`error ack\`)
  options [cloud|logic]
                   print a node kind's options as a markdown table
  inspect [--url URL] [--token T] [--depth N] [--limit N] [path]
                   print a node's actor tree from its admin endpoint (default URL
                   ${INSPECT_DEFAULT_URL}, a logic node's is on port 3191; token also from
                   IM_ADMIN_TOKEN; ${INSPECT_DEFAULT_DEPTH} levels below path, the node's root by default;
                   at most ${INSPECT_DEFAULT_LIMIT} children per actor, the rest counted)

Options come from defaults, then the JSON file (--config, or IM_CLOUD_CONFIG /
IM_LOGIC_CONFIG), then IM_CLOUD_* / IM_LOGIC_* environment variables.`;

/** Every value of a flag that may be given more than once, in order. */
function flags(args: readonly string[], name: string): string[] {
  const values: string[] = [];
  args.forEach((arg, i) => {
    if (arg === name) values.push(flag(args.slice(i), name) ?? '');
  });
  return values;
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new ImError('CONFIG_INVALID', `${name} needs a value`);
  return value;
}

/** The arguments that are neither flags nor a flag's value; `valued` names the flags that take one. */
function positionals(args: readonly string[], valued: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (valued.includes(arg)) i++;
    else if (arg.startsWith('--')) throw new ImError('CONFIG_INVALID', `unknown flag ${arg}`);
    else out.push(arg);
  }
  return out;
}

function intFlag(args: readonly string[], name: string, fallback: number, min: number, max: number): number {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new ImError('CONFIG_INVALID', `${name}: ${text} is not an integer in ${min}..${max}`);
  return n;
}

export interface Stoppable {
  /** Stops by `deadlineAt` at the latest (its own shutdown.deadlineMs from now when not given). */
  stop(deadlineAt?: number): Promise<void>;
  readonly stopped: Promise<void>;
  readonly failure: Error | null;
  readonly config: { readonly shutdown: { readonly deadlineMs: number } };
  /** What its stop still waits for. */
  pendingShutdown(): Record<string, unknown>;
}

export interface CliLog {
  info(message: string, meta: Record<string, unknown>): unknown;
  error(message: string, meta: Record<string, unknown>): unknown;
}

/** Exit code of a stop that did not end within shutdown.deadlineMs (0 after a clean stop, 1 when a critical actor failed). */
export const EXIT_DEADLINE_PASSED = 3;

/**
 * Runs nodes until a signal (drain; a second signal exits at once) or until
 * one of them stops by itself. From then on the process has the nodes'
 * shutdown.deadlineMs (the longest, when there are two) to stop them all:
 * past it, it logs what each still waited for and exits EXIT_DEADLINE_PASSED.
 */
export async function runUntilStopped(nodes: readonly Stoppable[], log: CliLog): Promise<number> {
  let signals = 0;
  const deadlineMs = Math.max(...nodes.map((n) => n.config.shutdown.deadlineMs));
  let passed: () => void = () => undefined;
  const deadlinePassed = new Promise<'passed'>((resolve) => { passed = () => resolve('passed'); });
  let timer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | null = null;
  // In order: a cloud node drains first, so its Disconnects still find logic; all by one deadline.
  const stopAll = (): Promise<void> => {
    if (!stopping) {
      const deadlineAt = Date.now() + deadlineMs;
      timer = setTimeout(passed, deadlineMs);
      stopping = (async () => {
        for (const node of nodes) await node.stop(deadlineAt);
      })();
    }
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.info('second signal; exiting without drain', { component: 'cli', signal });
      process.exit(1);
    }
    log.info('signal received; draining', { component: 'cli', signal, deadlineMs });
    void stopAll();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const first = await Promise.race([Promise.race(nodes.map((n) => n.stopped)), deadlinePassed]);
  const outcome = first === 'passed' ? first : await Promise.race([stopAll(), deadlinePassed]);
  clearTimeout(timer);
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  if (outcome === 'passed') {
    log.error('shutdown deadline passed; exiting before the stop finished', {
      component: 'cli', code: ErrorCodes.SHUTDOWN_DEADLINE.code, deadlineMs, pending: nodes.map((n) => n.pendingShutdown()),
    });
    // Lets the log line leave before the process exits.
    await new Promise((resolve) => setImmediate(resolve));
    return EXIT_DEADLINE_PASSED;
  }
  return nodes.some((n) => n.failure) ? 1 : 0;
}

async function runCloud(args: readonly string[]): Promise<number> {
  const workers = flag(args, '--workers');
  const config = loadCloudConfig({
    file: flag(args, '--config') ?? process.env.IM_CLOUD_CONFIG, env: process.env, overrides: workers === undefined ? {} : { workers: { count: workers } },
  });
  if (cluster.isWorker) return runCloudWorker(config, process.env[WORKER_SLOT_ENV]);
  if (config.workers.count > 1) {
    const log = createLogger(config.log.level, { node: 'cloud', role: 'primary' });
    logUncaughtFaults(log);
    const primary = await CloudPrimary.start(config, __filename, ['cloud', ...args], log);
    return primary.done;
  }
  const node = await CloudNode.start(config);
  logUncaughtFaults(node.log);
  return runUntilStopped([node], node.log);
}

async function runLogic(args: readonly string[]): Promise<number> {
  const config = loadLogicConfig({ file: flag(args, '--config') ?? process.env.IM_LOGIC_CONFIG, env: process.env });
  const node = await LogicNode.start(config);
  logUncaughtFaults(node.log);
  return runUntilStopped([node], node.log);
}

function reachable(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** Where a browser finds an admin page (an IPv6 host in brackets). */
export function adminUrl(host: string, port: number): string {
  const shown = reachable(host);
  return `http://${shown.includes(':') && !shown.startsWith('[') ? `[${shown}]` : shown}:${port}/`;
}

/** The banner `npm start` prints: where to connect (over TLS too, when wss and TLS tcp are bound), and two commands that show a push arriving. */
export function startBanner(
  cloud: CloudConfig, cloudPorts: { tcp: number; ws: number; wss?: number; tls?: number }, httpPort: number, httpHost: string,
  adminUrls: { cloud: string; logic: string },
): string {
  const host = reachable(cloud.node.bindHost);
  const token = JSON.stringify({ mid: 123, room_id: 'live://1000', platform: 'web', accepts: [1000, 1001, 1002] });
  return [
    '',
    'im-cloud is running: a logic node and a cloud node.',
    `  clients connect to  ws://${host}:${cloudPorts.ws}${cloud.ws.path}  or  tcp ${host}:${cloudPorts.tcp}`,
    ...(cloudPorts.wss ? [`  or over TLS to      wss://${host}:${cloudPorts.wss}${cloud.ws.path}  or  tls ${host}:${cloudPorts.tls ?? 0}`] : []),
    `  applications push   http://${reachable(httpHost)}:${httpPort}/im/push/...`,
    `  operators inspect   ${adminUrls.cloud} (cloud node)  ${adminUrls.logic} (logic node)`,
    '',
    'See a push arrive: in one terminal run a client,',
    `  node bin/im-cloud.js client${host === '127.0.0.1' ? '' : ` --host ${host}`} --port ${cloudPorts.ws}${cloud.ws.path === '/sub' ? '' : ` --path ${cloud.ws.path}`} --token '${token}'`,
    'and in another push to its user (mid 123):',
    `  curl -d 'hello from im-cloud' 'http://${reachable(httpHost)}:${httpPort}/im/push/mids?operation=1000&mids=123'`,
    '',
  ].join('\n');
}

async function runStart(args: readonly string[]): Promise<number> {
  const env = process.env;
  const cloudFile = flag(args, '--cloud-config') ?? env.IM_CLOUD_CONFIG;
  const logicFile = flag(args, '--logic-config') ?? env.IM_LOGIC_CONFIG;
  const cloudBase = loadCloudConfig({ file: cloudFile, env });
  if (cloudBase.workers.count > 1) throw new ImError('CONFIG_INVALID', `workers.count ${cloudBase.workers.count}: start runs one cloud node; use \`im-cloud cloud --workers N\``);
  // Wire the two to each other unless the operator said otherwise.
  const logic = loadLogicConfig({
    file: logicFile, env,
    overrides: env.IM_LOGIC_CLOUD_NODES ? {} : { cloud: { nodes: [serverIdOf(cloudBase, cloudBase.grpc.port)] } },
  });
  const logicNode = await LogicNode.start(logic);
  const cloud = loadCloudConfig({
    file: cloudFile, env,
    overrides: env.IM_CLOUD_LOGIC_NODES ? {} : { logic: { nodes: [`127.0.0.1:${logicNode.ports.grpc}`] } },
  });
  let cloudNode: CloudNode;
  try {
    cloudNode = await CloudNode.start(cloud);
  } catch (err) {
    await logicNode.stop();
    throw err;
  }
  const adminUrls = { cloud: adminUrl(cloud.admin.host, cloudNode.adminPort), logic: adminUrl(logic.admin.host, logicNode.adminPort) };
  process.stdout.write(startBanner(cloud, cloudNode.ports, logicNode.ports.http, logic.node.bindHost, adminUrls) + '\n');
  logUncaughtFaults(cloudNode.log);
  return runUntilStopped([cloudNode, logicNode], cloudNode.log);
}

async function runClientCommand(args: readonly string[]): Promise<number> {
  const token = flag(args, '--token');
  if (token === undefined) throw new ImError('CONFIG_INVALID', '--token is required');
  const tcp = args.includes('--tcp');
  const port = Number(flag(args, '--port') ?? (tcp ? 3101 : 3102));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ImError('CONFIG_INVALID', `--port: ${port} is not a port`);
  return runClient({
    token, transport: tcp ? 'tcp' : 'ws', host: flag(args, '--host') ?? '127.0.0.1', port, path: flag(args, '--path') ?? '/sub',
    send: flags(args, '--send'),
    out: (line) => process.stdout.write(line + '\n'),
  });
}

async function runInspectCommand(args: readonly string[]): Promise<number> {
  const rest = positionals(args, ['--url', '--token', '--depth', '--limit']);
  if (rest.length > 1) throw new ImError('CONFIG_INVALID', `inspect takes one path, got ${rest.join(' ')}`);
  return runInspect({
    url: flag(args, '--url') ?? INSPECT_DEFAULT_URL,
    token: flag(args, '--token') ?? process.env.IM_ADMIN_TOKEN ?? '',
    depth: intFlag(args, '--depth', INSPECT_DEFAULT_DEPTH, 0, 64),
    limit: intFlag(args, '--limit', INSPECT_DEFAULT_LIMIT, 1, INSPECT_MAX_LIMIT),
    path: rest[0],
    width: process.stdout.isTTY ? process.stdout.columns : null,
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'start':
        return await runStart(args);
      case 'cloud':
        return await runCloud(args);
      case 'logic':
        return await runLogic(args);
      case 'client':
        return await runClientCommand(args);
      case 'inspect':
        return await runInspectCommand(args);
      case 'options': {
        const kind = args[0] ?? 'cloud';
        if (kind !== 'cloud' && kind !== 'logic') throw new ImError('CONFIG_INVALID', `options: unknown node kind ${kind}`);
        process.stdout.write(optionsMarkdown(kind === 'cloud' ? cloudOptions : logicOptions) + '\n');
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`unknown command: ${command}\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ImError) {
      process.stderr.write(`${err.code}: ${err.message}\n`);
      return 2;
    }
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`im-cloud: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
