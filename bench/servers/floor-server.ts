/**
 * The floor: a bare `ws` server speaking just enough goim (op 7 -> op 8,
 * op 2 -> op 3) and sending one pre-built Buffer per socket. No actors, no
 * logic node, no limits: what ws and the kernel cost on their own.
 *
 *   POST /push?key=K  (body)   one packet op 1000 with that body to client K
 *   POST /room?batched=0|1     the pre-built packet (or op-9 frame of 20) to every client
 *   POST /room?room=R          the pre-built packet to the clients whose token named room_id R
 */
import { WebSocket, WebSocketServer } from 'ws';
import { encodePacket } from '../../system/codec';
import type { ServerCommands } from '../lib/commands';
import { failStart, serveIpc } from '../lib/ipc';
import { BATCH_SIZE, TEST_BODY, controlServer, listen, measureMemory } from './server-kit';

const OP_HEARTBEAT = 2;
const OP_AUTH = 7;
const OP_RAW = 9;
const single = encodePacket(1, 1000, 0, TEST_BODY);
const batch = encodePacket(1, OP_RAW, 0, Buffer.concat(Array.from({ length: BATCH_SIZE }, () => single)));
const authReply = encodePacket(1, 8, 1, Buffer.alloc(0));
const heartbeatReply = encodePacket(1, 3, 1, Buffer.alloc(4));

const members = new Set<WebSocket>();
const byKey = new Map<string, WebSocket>();
const rooms = new Map<string, Set<WebSocket>>();

interface Token { readonly key: string; readonly room: string }

function tokenOf(packet: Buffer): Token | null {
  try {
    const token = JSON.parse(packet.toString('utf8', 16)) as { key?: unknown; room_id?: unknown };
    if (typeof token.key !== 'string') return null;
    return { key: token.key, room: typeof token.room_id === 'string' ? token.room_id : '' };
  } catch {
    return null;
  }
}

function leave(room: string, ws: WebSocket): void {
  const set = rooms.get(room);
  if (!set) return;
  set.delete(ws);
  if (set.size === 0) rooms.delete(room);
}

function onConnection(ws: WebSocket): void {
  let key: string | null = null;
  let room = '';
  ws.on('message', (data: Buffer) => {
    if (data.length < 16) return;
    const op = data.readInt32BE(8);
    if (op === OP_AUTH && key === null) {
      const token = tokenOf(data);
      if (token === null) {
        ws.terminate();
        return;
      }
      key = token.key;
      room = token.room;
      byKey.set(key, ws);
      members.add(ws);
      let set = rooms.get(room);
      if (!set) rooms.set(room, (set = new Set()));
      set.add(ws);
      ws.send(authReply);
    } else if (op === OP_HEARTBEAT) {
      ws.send(heartbeatReply);
    }
  });
  ws.on('close', () => {
    members.delete(ws);
    leave(room, ws);
    if (key !== null && byKey.get(key) === ws) byKey.delete(key);
  });
  ws.on('error', () => ws.terminate());
}

async function main(): Promise<void> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: 16 + 4096 });
  const server = controlServer({
    push: (q, body) => {
      const ws = byKey.get(q.get('key') ?? '');
      if (!ws) return 0;
      ws.send(encodePacket(1, 1000, 0, body));
      return 1;
    },
    room: (q) => {
      const name = q.get('room');
      if (name !== null) {
        const set = rooms.get(name);
        for (const ws of set ?? []) ws.send(single);
        return set?.size ?? 0;
      }
      const frame = q.get('batched') === '1' ? batch : single;
      for (const ws of members) ws.send(frame);
      return members.size;
    },
  });
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.startsWith('/sub')) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, onConnection);
  });
  const port = await listen(server);
  serveIpc<ServerCommands>({ memory: () => measureMemory(members.size), status: () => ({ connections: members.size, pending: 0 }) }, { ws: port, http: port });
}

main().catch(failStart);
