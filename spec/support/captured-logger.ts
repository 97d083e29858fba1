import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../system/logger';

/** One JSON log line, parsed. */
export type LogLine = Record<string, unknown> & { level: string; message: string };

/** A logger at `level` whose JSON lines are kept in `lines`, for specs that assert what an operator reads. */
export function capturedLogger(level = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { logger: loggerInto(lines, level), lines };
}

/** A logger at `level` (debug unless told) appending each JSON line, parsed, to `lines`. */
export function loggerInto(lines: Array<Record<string, unknown>>, level = 'debug'): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return winston.createLogger({ level, format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
}
