import { describeDefault, OptionSpec } from './option';

/** The README's option table for one node kind, generated from its option list. */
export function optionsMarkdown(options: readonly OptionSpec[]): string {
  const rows = options.map((o) => `| \`${o.path}\` | \`${o.env}\` | \`${describeDefault(o)}\` | ${o.doc} |`);
  return ['| option (file) | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
