/**
 * Runs the real CLI (`node bin/im-cloud.js ...`) as a child process, parses
 * its JSON log lines from stdout, and makes sure it never outlives a test.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

/** The repository root, from dist/spec/support. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(REPO_ROOT, 'bin', 'im-cloud.js');

export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly code?: string;
  readonly [field: string]: unknown;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ChildNodeOptions {
  /** CLI arguments, e.g. ['cloud'] or ['cloud', '--config', file]. */
  readonly args: readonly string[];
  /** Added to the environment; every inherited IM_CLOUD_* variable is removed first. */
  readonly env?: Readonly<Record<string, string>>;
  /** Soft open-file limit of the child (`ulimit -n`), when given. */
  readonly openFileLimit?: number;
}

export interface StartedPorts {
  readonly tcp: number;
  readonly ws: number;
  readonly grpc: number;
}

const running = new Set<ChildNode>();

// Last line of defence: a test run that ends without its afterEach (mocha --exit, a crash) leaves no node behind.
process.once('exit', () => {
  for (const child of running) child.process.kill('SIGKILL');
});

export class ChildNode {
  readonly logs: LogLine[] = [];
  /** stdout lines that are not JSON. */
  readonly otherStdout: string[] = [];
  /** Everything written to stdout, as it came. */
  stdout = '';
  stderr = '';
  exit: Exit | null = null;
  readonly exited: Promise<Exit>;
  private stdoutRest = '';
  private readonly watchers = new Set<() => void>();

  private constructor(readonly process: ChildProcess) {
    running.add(this);
    process.stdout?.setEncoding('utf8');
    process.stderr?.setEncoding('utf8');
    process.stdout?.on('data', (chunk: string) => this.onStdout(chunk));
    process.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
      this.notify();
    });
    // 'close', not 'exit': it comes after stdout and stderr have been read to the end.
    this.exited = new Promise((resolve) => {
      process.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.exit = { code, signal };
        running.delete(this);
        this.notify();
        resolve(this.exit);
      });
    });
  }

  static spawn(options: ChildNodeOptions): ChildNode {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('IM_CLOUD_')) env[k] = v;
    Object.assign(env, options.env ?? {});
    const quoted = [CLI, ...options.args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = options.openFileLimit === undefined
      ? spawn(process.execPath, [CLI, ...options.args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
      // `exec` keeps one process, so signals reach node itself.
      : spawn('bash', ['-c', `ulimit -n ${options.openFileLimit} && exec '${process.execPath}' ${quoted}`], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ChildNode(child);
  }

  /** Kills every child still running (for after/afterEach hooks). */
  static async killAll(): Promise<void> {
    await Promise.all([...running].map((c) => c.kill()));
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** Waits for "cloud node started" and returns the bound ports it logs. */
  async started(timeoutMs = 10000): Promise<StartedPorts> {
    const line = await this.waitForLog((l) => l.message === 'cloud node started', timeoutMs, '"cloud node started"');
    return { tcp: Number(line.tcp), ws: Number(line.ws), grpc: Number(line.grpc) };
  }

  logsWith(message: string): LogLine[] {
    return this.logs.filter((l) => l.message === message);
  }

  /** Resolves with the first log line matching `predicate` (already logged or future). */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 5000, what = 'a log line'): Promise<LogLine> {
    return this.waitUntil(() => this.logs.find(predicate), timeoutMs, what);
  }

  waitForExit(timeoutMs = 10000): Promise<Exit> {
    return this.waitUntil(() => this.exit ?? undefined, timeoutMs, 'the process to exit');
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.process.kill(signal);
  }

  /** SIGKILL unless already gone; resolves once it has exited. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.process.kill('SIGKILL');
    await this.exited;
  }

  /** What a failed assertion should show: the tail of the child's output. */
  describe(): string {
    const tail = this.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n');
    return `exit=${JSON.stringify(this.exit)}\nstderr:\n${this.stderr}\nlast log lines:\n${tail}`;
  }

  private waitUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const value = probe();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`child node: timed out after ${timeoutMs} ms waiting for ${what}\n${this.describe()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.watchers.delete(check);
      };
      this.watchers.add(check);
      check();
    });
  }

  private onStdout(chunk: string): void {
    this.stdout += chunk;
    const text = this.stdoutRest + chunk;
    const lines = text.split('\n');
    this.stdoutRest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed && typeof parsed === 'object' && 'message' in parsed) this.logs.push(parsed as LogLine);
        else this.otherStdout.push(line);
      } catch {
        this.otherStdout.push(line);
      }
    }
    this.notify();
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
