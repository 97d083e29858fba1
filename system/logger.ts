import winston from 'winston';

export type Logger = winston.Logger;

/** JSON lines on stdout: one line per event, `component` names the part that logged it. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return winston.createLogger({
    level,
    defaultMeta: base,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: [] })],
  });
}

/** A logger that drops everything: for tests that assert on behaviour, not on log lines. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
