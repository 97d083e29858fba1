/** Command-line options of the bench scripts: `--name value`. */

/** The value after `--name` in this process's argv, or undefined. */
export function optionValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

/** The value after `--name`, or `fallback`. */
export function argValue(name: string, fallback: string): string {
  return optionValue(name) ?? fallback;
}
