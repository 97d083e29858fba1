/**
 * Typed request/reply over Node's child-process IPC channel. The parent
 * wraps a forked child in a `Peer` and `ask`s it; the child `serveIpc`s a
 * handler per command. Every ask has a deadline.
 */
import type { ChildProcess } from 'node:child_process';

export type CommandMap = Record<string, { args: unknown; result: unknown }>;

type Handlers<C extends CommandMap> = { [K in keyof C]: (args: C[K]['args']) => Promise<C[K]['result']> | C[K]['result'] };

interface Request { readonly kind: 'request'; readonly id: number; readonly cmd: string; readonly args: unknown }
interface Reply { readonly kind: 'reply'; readonly id: number; readonly ok: boolean; readonly result?: unknown; readonly error?: string }
interface Ready { readonly kind: 'ready'; readonly info: unknown }
type ChildMessage = Reply | Ready;

function isChildMessage(m: unknown): m is ChildMessage {
  return typeof m === 'object' && m !== null && ((m as { kind?: unknown }).kind === 'reply' || (m as { kind?: unknown }).kind === 'ready');
}

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

export class Peer<C extends CommandMap, R = unknown> {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly readyInfo: Promise<R>;
  private exited: Error | null = null;

  constructor(readonly child: ChildProcess, readonly name: string, startTimeoutMs = 60_000) {
    this.readyInfo = new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not ready after ${startTimeoutMs} ms`)), startTimeoutMs);
      child.on('message', (m: unknown) => {
        if (!isChildMessage(m)) return;
        if (m.kind === 'ready') {
          clearTimeout(timer);
          resolve(m.info as R);
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.ok) p.resolve(m.result);
        else p.reject(new Error(`${name}: ${m.error ?? 'failed'}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.exited = new Error(`${name} exited (code ${code}, signal ${signal})`);
        reject(this.exited);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(this.exited);
        }
        this.pending.clear();
      });
    });
    // A failed start is reported by whoever awaits ready(); avoid an unhandled rejection meanwhile.
    this.readyInfo.catch(() => undefined);
  }

  /** The info the child passed to `serveIpc` once it was up. */
  ready(): Promise<R> {
    return this.readyInfo;
  }

  ask<K extends keyof C & string>(cmd: K, args: C[K]['args'], timeoutMs = 30_000): Promise<C[K]['result']> {
    if (this.exited) return Promise.reject(this.exited);
    const id = ++this.nextId;
    return new Promise<C[K]['result']>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} took more than ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: (v) => resolve(v as C[K]['result']), reject, timer });
      const request: Request = { kind: 'request', id, cmd, args };
      this.child.send(request);
    });
  }
}

/** Child side: answers the parent's requests and announces `info` once ready. Exits when the parent goes away. */
export function serveIpc<C extends CommandMap>(handlers: Handlers<C>, info: unknown): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('serveIpc: not started with an IPC channel (use fork)');
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: unknown) => {
    const req = m as Request;
    if (typeof req !== 'object' || req === null || req.kind !== 'request') return;
    const handler = (handlers as Record<string, ((args: unknown) => unknown) | undefined>)[req.cmd];
    const reply = (r: Omit<Reply, 'kind' | 'id'>): void => {
      if (process.connected) send({ kind: 'reply', id: req.id, ...r });
    };
    if (!handler) {
      reply({ ok: false, error: `unknown command ${req.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(req.args))
      .then((result) => reply({ ok: true, result: result ?? null }), (err: Error) => reply({ ok: false, error: err.message }));
  });
  const ready: Ready = { kind: 'ready', info };
  send(ready);
}

/** Child side: report a start-up failure and exit. */
export function failStart(err: unknown): never {
  const message = err instanceof Error ? err.stack ?? err.message : String(err);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
