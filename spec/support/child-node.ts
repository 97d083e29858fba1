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
  /** Inherited variables with these prefixes are removed too (IM_CLOUD_* always is), e.g. ['IM_LOGIC_']. */
  readonly removeEnvPrefixes?: readonly string[];
}

export interface ShellChildOptions {
  /** Added to the environment; inherited variables with `removeEnvPrefixes` (default IM_CLOUD_, IM_LOGIC_) are removed first. */
  readonly env?: Readonly<Record<string, string>>;
  readonly removeEnvPrefixes?: readonly string[];
}

export interface StartedPorts {
  readonly tcp: number;
  readonly ws: number;
  readonly grpc: number;
}

const running = new Set<ChildNode>();

// Last line of defence: a test run that ends without its afterEach (mocha --exit, a crash) leaves no node behind.
process.once('exit', () => {
  for (const child of running) child.killNow();
});

function childEnv(extra: Readonly<Record<string, string>> | undefined, removePrefixes: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !removePrefixes.some((p) => k.startsWith(p))) env[k] = v;
  Object.assign(env, extra ?? {});
  return env;
}

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

  private constructor(readonly process: ChildProcess, private readonly ownGroup = false) {
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
    const env = childEnv(options.env, ['IM_CLOUD_', ...(options.removeEnvPrefixes ?? [])]);
    const quoted = [CLI, ...options.args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = options.openFileLimit === undefined
      ? spawn(process.execPath, [CLI, ...options.args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
      // `exec` keeps one process, so signals reach node itself.
      : spawn('bash', ['-c', `ulimit -n ${options.openFileLimit} && exec '${process.execPath}' ${quoted}`], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ChildNode(child);
  }

  /**
   * Runs a command line with `bash -c` in the repository root, as a user would
   * paste it into a terminal. The child leads its own process group, so kill()
   * also ends anything bash started.
   */
  static shell(command: string, options: ShellChildOptions = {}): ChildNode {
    const env = childEnv(options.env, options.removeEnvPrefixes ?? ['IM_CLOUD_', 'IM_LOGIC_']);
    const child = spawn('bash', ['-c', command], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    return new ChildNode(child, true);
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

  /** Resolves with the first stdout line that is not JSON and matches `predicate` (already printed or future). */
  waitForLine(predicate: (line: string) => boolean, timeoutMs = 5000, what = 'a stdout line'): Promise<string> {
    return this.waitUntil(() => this.otherStdout.find(predicate), timeoutMs, what);
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
    this.killNow();
    await this.exited;
  }

  /** SIGKILL, to the whole process group for shell children. */
  killNow(): void {
    const pid = this.process.pid;
    if (this.ownGroup && pid !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL');
        return;
      } catch {
        // The group is gone already; fall through to the child itself.
      }
    }
    this.process.kill('SIGKILL');
  }

  /** What a failed assertion should show: the tail of the child's output. */
  describe(): string {
    const tail = this.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n');
    const other = this.otherStdout.length === 0 ? '' : `\nlast other stdout lines:\n${this.otherStdout.slice(-15).join('\n')}`;
    return `exit=${JSON.stringify(this.exit)}\nstderr:\n${this.stderr}\nlast log lines:\n${tail}${other}`;
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
