// Structured JSON logs (pino). They name identifiers (registered-mail ids, enterprise numbers,
// fault codes) and never content: no subjects, file names, documents or requests.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'epost', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['subject', 'fileName', 'document', 'request', '*.subject', '*.fileName'], remove: true },
  });
}
