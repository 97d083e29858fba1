/** What the children wrote to their logs: error lines are worth a look in the report. */
import fs from 'node:fs';
import path from 'node:path';
import { LOG_DIR } from './processes';

export interface LogSummary {
  readonly file: string;
  readonly errorLines: number;
  readonly first: string;
}

const ERROR_LINE = /"level":"error"|Error|error:/;

export function summarizeLogs(): LogSummary[] {
  if (!fs.existsSync(LOG_DIR)) return [];
  const out: LogSummary[] = [];
  for (const name of fs.readdirSync(LOG_DIR).filter((f) => f.endsWith('.log')).sort()) {
    const file = path.join(LOG_DIR, name);
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => ERROR_LINE.test(l));
    if (lines.length > 0) out.push({ file, errorLines: lines.length, first: lines[0].slice(0, 300) });
  }
  return out;
}
