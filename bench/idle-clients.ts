/**
 * Load-generator process for the idle-connection check: opens N clients to a
 * cloud node, authenticates each with the goim token, and reports over IPC.
 * Runs apart from the server so the server's memory is measured alone.
 * Every client joins room live://bench, or (rooms `distinct`) a room of its own.
 */
import net from 'node:net';
import WebSocket from 'ws';
import { encodePacket, Op } from '../system/codec/packet';

const [portArg, countArg, transport = 'ws', hostArg = '127.0.0.1', rooms = 'one'] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const CONCURRENCY = 200;
const sockets: Array<WebSocket | net.Socket> = [];

/** Resolves when op 8 arrives: the client is online. A 4-byte op check is all the parsing needed. */
function openOne(i: number): Promise<void> {
  const auth = encodePacket(1, Op.Auth, 1, JSON.stringify({ mid: 1, key: `idle-${i}`, room_id: rooms === 'distinct' ? `live://bench-${i}` : 'live://bench', platform: 'web', accepts: [1000] }));
  return new Promise((resolve, reject) => {
    const isAuthReply = (buf: Buffer): boolean => buf.length >= 16 && buf.readInt32BE(8) === Op.AuthReply;
    if (transport === 'tcp') {
      const s = net.connect({ port, host: hostArg });
      s.once('connect', () => s.write(auth));
      s.once('data', (d: Buffer) => (isAuthReply(d) ? resolve() : reject(new Error(`client ${i}: no op 8`))));
      s.once('error', reject);
      sockets.push(s);
    } else {
      const ws = new WebSocket(`ws://${hostArg}:${port}/sub`, { perMessageDeflate: false });
      ws.once('open', () => ws.send(auth));
      ws.once('message', (d: Buffer) => (isAuthReply(d) ? resolve() : reject(new Error(`client ${i}: no op 8`))));
      ws.once('error', reject);
      sockets.push(ws);
    }
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await openOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
  process.send?.({ type: 'ready', count, ms: Date.now() - started });
}

process.on('message', (msg: { type: string }) => {
  if (msg.type !== 'close') return;
  for (const s of sockets) {
    if (s instanceof net.Socket) s.resetAndDestroy();
    else s.terminate();
  }
  process.exit(0);
});

main().catch((err: Error) => {
  process.send?.({ type: 'error', message: err.message });
  process.exit(1);
});
