import { cloudOptions } from '../config/cloud-options';
import { loadCloudConfig } from '../config/cloud-config';
import { optionsMarkdown } from '../config/docs';
import { ImError } from './errors';
import { CloudNode } from './cloud-node';

const USAGE = `usage: im-cloud <command> [--config file.json]

commands:
  cloud            run a cloud node (client sockets + gRPC push service)
  start            what \`npm start\` runs: a cloud node on the defaults
  options          print every cloud option as a markdown table

Options come from defaults, then the JSON file (--config or IM_CLOUD_CONFIG),
then IM_CLOUD_* environment variables. See the README for the full list.`;

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new ImError('CONFIG_INVALID', `${name} needs a value`);
  return value;
}

async function runCloud(args: readonly string[]): Promise<number> {
  const config = loadCloudConfig({ file: flag(args, '--config') ?? process.env.IM_CLOUD_CONFIG, env: process.env });
  const node = await CloudNode.start(config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      node.log.warn('second signal; exiting without drain', { component: 'cli', signal });
      process.exit(1);
    }
    node.log.info('signal received; draining', { component: 'cli', signal });
    void node.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await node.stopped;
  return node.failure ? 1 : 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'cloud':
      case 'start':
        return await runCloud(args);
      case 'options':
        process.stdout.write(optionsMarkdown(cloudOptions) + '\n');
        return 0;
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
