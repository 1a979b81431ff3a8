/**
 * pmond's own log (winston): logs_dir/pmond.log (0600) and stderr.
 * The rest of the daemon sees only the small Logger interface.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import winston from 'winston';

/** What the daemon logs through. */
export interface Logger {
  error(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  debug(msg: string, meta?: Record<string, unknown>): void;
  /** Flush and close transports. */
  close(): Promise<void>;
}

export function createLogger(logsDir: string, level: string): Logger {
  const file = path.join(logsDir, 'pmond.log');
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
  const fmt = winston.format.combine(
    winston.format.timestamp(),
    winston.format.printf(({ timestamp, level: lvl, message, ...meta }) => {
      const rest = Object.keys(meta).length ? ` ${JSON.stringify(meta)}` : '';
      return `${String(timestamp)} ${lvl}: ${String(message)}${rest}`;
    }),
  );
  const w = winston.createLogger({
    level,
    format: fmt,
    transports: [
      new winston.transports.File({ filename: file }),
      new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] }),
    ],
  });
  return {
    error: (m, meta) => void w.error(m, meta),
    warn: (m, meta) => void w.warn(m, meta),
    info: (m, meta) => void w.info(m, meta),
    debug: (m, meta) => void w.debug(m, meta),
    close: () =>
      new Promise<void>((resolve) => {
        w.on('finish', () => resolve());
        w.end();
        setTimeout(resolve, 500).unref();
      }),
  };
}
