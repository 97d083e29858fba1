/**
 * Heap measurements of a child node through the V8 inspector: the child is
 * started with NODE_OPTIONS=--inspect=127.0.0.1:0 (the node's own code is
 * unchanged), this forces full collections and reads heapUsed afterwards.
 * Runtime is never enabled, so the inspector keeps no console messages.
 */
import WebSocket from 'ws';
import type { ChildNode } from '../child-node';

/** The inspector flag for a child's environment: any free loopback port, printed on stderr. */
export const INSPECT_NODE_OPTIONS = '--inspect=127.0.0.1:0';

const LISTENING = /Debugger listening on (ws:\/\/\S+)/;

/** stderr lines the inspector writes itself; anything else on a node's stderr is a fault. */
export function inspectorNoise(line: string): boolean {
  return LISTENING.test(line) || line.startsWith('For help, see: https://nodejs.org/en/docs/inspector') || line === 'Debugger attached.'
    || line.startsWith('Waiting for the debugger to disconnect');
}

interface Reply {
  readonly id?: number;
  readonly method?: string;
  readonly params?: { readonly chunk?: string };
  readonly result?: { readonly result?: { readonly value?: unknown } };
  readonly error?: { readonly message: string };
}

interface HeapSnapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: [string[], ...unknown[]] } };
  readonly nodes: number[];
}

/** Snapshot node types that are V8's own bookkeeping or native memory, not objects the program holds. */
const V8_OWN: ReadonlySet<string> = new Set(['code', 'hidden', 'object shape', 'synthetic', 'native']);

export class InspectorHeap {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private snapshot: string[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const reply = JSON.parse(data.toString('utf8')) as Reply;
      if (reply.method === 'HeapProfiler.addHeapSnapshotChunk') this.snapshot.push(reply.params?.chunk ?? '');
      if (reply.id === undefined) return;
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  static async attach(child: ChildNode, timeoutMs = 10_000): Promise<InspectorHeap> {
    const deadline = Date.now() + timeoutMs;
    let url: string | undefined;
    while (url === undefined) {
      url = LISTENING.exec(child.stderr)?.[1];
      if (url !== undefined) break;
      if (Date.now() > deadline || !child.alive) throw new Error(`no inspector URL on the child's stderr\n${child.describe()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new InspectorHeap(ws);
  }

  /** heapUsed after full collections (two: objects freed by finalizers of the first go in the second). */
  async heapUsedAfterGc(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const reply = await this.call('Runtime.evaluate', { expression: 'process.memoryUsage().heapUsed', returnByValue: true });
    const value = reply.result?.result?.value;
    if (typeof value !== 'number') throw new Error(`heapUsed: unexpected inspector reply ${JSON.stringify(reply)}`);
    return value;
  }

  /**
   * Bytes of the objects the program holds, after full collections: the
   * self sizes in a heap snapshot, less what V8 keeps for itself (compiled
   * code with its deopt and relocation data, hidden classes, internal
   * arrays) and native memory. heapUsed counts those too, and they grow with
   * every path the JIT optimizes: noise to a leak check, not a leak.
   */
  async objectBytesAfterGc(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    this.snapshot = [];
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    const parsed = JSON.parse(this.snapshot.join('')) as HeapSnapshot;
    this.snapshot = [];
    const fields = parsed.snapshot.meta.node_fields;
    const types = parsed.snapshot.meta.node_types[0];
    const typeAt = fields.indexOf('type');
    const sizeAt = fields.indexOf('self_size');
    let total = 0;
    for (let i = 0; i < parsed.nodes.length; i += fields.length) {
      if (!V8_OWN.has(types[parsed.nodes[i + typeAt]])) total += parsed.nodes[i + sizeAt];
    }
    return total;
  }

  close(): void {
    this.ws.close();
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector: no answer to ${method}`));
      }, 15_000);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error) reject(new Error(`inspector ${method}: ${reply.error.message}`));
        else resolve(reply);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
}
