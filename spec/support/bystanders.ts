/**
 * Clients that are already online while a test misbehaves next to them: one
 * ws and one tcp. Tests use them to show that trouble on one connection
 * leaves every other connection served.
 */
import type { CloudHarness } from './cloud-harness';
import { TestClient } from './test-client';

export interface Bystanders {
  readonly ws: TestClient;
  readonly tcp: TestClient;
  readonly keys: string[];
}

export async function bystandersOnline(h: CloudHarness): Promise<Bystanders> {
  const ws = await TestClient.online('ws', h.ports.ws);
  const tcp = await TestClient.online('tcp', h.ports.tcp);
  return { ws: ws.client, tcp: tcp.client, keys: [ws.auth.key, tcp.auth.key] };
}

let pushSerial = 0;

/** Pushes (op 1000) to the bystanders' keys and waits until both have it. */
export async function expectBystandersServed(h: CloudHarness, b: Bystanders): Promise<void> {
  const body = `bystander check ${++pushSerial}`;
  await h.pushMsg(b.keys, 1000, { op: 1000, body });
  await Promise.all([b.ws, b.tcp].map((c) =>
    c.waitFor((p) => p.op === 1000 && p.body.toString('utf8') === body, 5000, `push "${body}" to the ${c.transport} bystander`)));
}

export function closeBystanders(b: Bystanders | undefined): void {
  b?.ws.destroy();
  b?.tcp.destroy();
}
