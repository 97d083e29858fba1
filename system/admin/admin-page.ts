/** The admin page served at `/` (a fuller page replaces this one). */
export function adminPage(): string {
  return '<!doctype html><meta charset="utf-8"><title>im-cloud admin</title><p>See /info, /actors, /top, /metrics.</p>';
}
