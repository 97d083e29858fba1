/**
 * What the primary and its cloud workers tell each other: a worker's slot
 * (its index and ports) goes in its environment when it is forked; over the
 * IPC channel a worker says it started and the primary asks it to drain.
 */
import type { CloudConfig } from '../../config/cloud-config';

/** The environment variable a worker finds its slot in; set by the primary only. */
export const WORKER_SLOT_ENV = 'IM_WORKER_SLOT';

/** One worker's place: the same for every worker the primary starts in it. */
export interface WorkerSlot {
  readonly index: number;
  readonly tcp: number;
  readonly ws: number;
  readonly grpc: number;
  readonly admin: number;
  /** Workers started in this slot before this one (after exits the primary did not ask for). */
  readonly restarts: number;
}

export interface WorkerStarted {
  readonly type: 'im-cloud-worker-started';
  readonly index: number;
  readonly serverId: string;
  readonly grpc: number;
  readonly admin: number;
}

export interface WorkerStop {
  readonly type: 'im-cloud-worker-stop';
}

const SLOT_FIELDS = ['index', 'tcp', 'ws', 'grpc', 'admin', 'restarts'] as const;

export function encodeSlot(slot: WorkerSlot): string {
  return JSON.stringify(slot);
}

function field(value: object, name: string): unknown {
  return Object.getOwnPropertyDescriptor(value, name)?.value;
}

/** The slot in `text`, or null when it is not one (every field a non-negative integer). */
export function parseSlot(text: string | undefined): WorkerSlot | null {
  if (text === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object') return null;
  const values: number[] = [];
  for (const name of SLOT_FIELDS) {
    const value = field(parsed, name);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) return null;
    values.push(value);
  }
  const [index, tcp, ws, grpc, admin, restarts] = values;
  return { index, tcp, ws, grpc, admin, restarts };
}

/** The worker's own config: the shared one with the slot's ports. */
export function slotConfig(config: CloudConfig, slot: WorkerSlot): CloudConfig {
  return {
    ...config,
    tcp: { ...config.tcp, port: slot.tcp },
    ws: { ...config.ws, port: slot.ws },
    grpc: { ...config.grpc, port: slot.grpc },
    admin: { ...config.admin, port: slot.admin },
  };
}

export function isWorkerStarted(message: unknown): message is WorkerStarted {
  if (message === null || typeof message !== 'object') return false;
  return field(message, 'type') === 'im-cloud-worker-started'
    && typeof field(message, 'index') === 'number' && typeof field(message, 'serverId') === 'string'
    && typeof field(message, 'grpc') === 'number' && typeof field(message, 'admin') === 'number';
}

export function isWorkerStop(message: unknown): message is WorkerStop {
  return message !== null && typeof message === 'object' && field(message, 'type') === 'im-cloud-worker-stop';
}
