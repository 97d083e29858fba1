/**
 * The peer: a Socket.IO server, websocket transport only, no compression.
 * Clients join the room their auth object names ("bench" when none) and
 * register under its key.
 *
 *   POST /push?key=K  (body)   socket.emit('m', body as a string)
 *   POST /room?batched=0|1     io.to('bench').emit('m', {test:1})  or  emit('b', [20 x {test:1}])
 *   POST /room?room=R          io.to(R).emit('m', {test:1})
 */
import { Server, Socket } from 'socket.io';
import type { ServerCommands } from '../lib/commands';
import { failStart, serveIpc } from '../lib/ipc';
import { BATCH_SIZE, controlServer, listen, measureMemory } from './server-kit';

const ROOM = 'bench';
const message = { test: 1 };
const batch = Array.from({ length: BATCH_SIZE }, () => message);
const byKey = new Map<string, Socket>();

async function main(): Promise<void> {
  let io: Server | null = null;
  const server = controlServer({
    push: (q, body) => {
      const socket = byKey.get(q.get('key') ?? '');
      if (!socket) return 0;
      socket.emit('m', body.toString('latin1'));
      return 1;
    },
    room: (q) => {
      if (!io) return 0;
      const room = q.get('room');
      if (room !== null) {
        io.to(room).emit('m', message);
        return io.sockets.adapter.rooms.get(room)?.size ?? 0;
      }
      if (q.get('batched') === '1') io.to(ROOM).emit('b', batch);
      else io.to(ROOM).emit('m', message);
      return io.engine.clientsCount;
    },
  });
  io = new Server(server, {
    transports: ['websocket'], perMessageDeflate: false, httpCompression: false, serveClient: false, maxHttpBufferSize: 4096,
  });
  io.on('connection', (socket) => {
    const auth: Record<string, unknown> = socket.handshake.auth;
    const key = typeof auth.key === 'string' ? auth.key : socket.id;
    byKey.set(key, socket);
    void socket.join(typeof auth.room === 'string' ? auth.room : ROOM);
    socket.on('disconnect', () => {
      if (byKey.get(key) === socket) byKey.delete(key);
    });
  });
  const port = await listen(server);
  const engine = io.engine;
  serveIpc<ServerCommands>({ memory: () => measureMemory(engine.clientsCount), status: () => ({ connections: engine.clientsCount, pending: 0 }) }, { ws: port, http: port });
}

main().catch(failStart);
