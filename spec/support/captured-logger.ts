import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../system/logger';

/** One JSON log line, parsed. */
export type LogLine = Record<string, unknown> & { level: string; message: string };

/** A logger at `level` whose JSON lines are kept in `lines`, for specs that assert what an operator reads. */
export function capturedLogger(level = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  const logger = winston.createLogger({ level, format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}
