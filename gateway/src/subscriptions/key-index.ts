/**
 * The keys of a cache by id (an item's, a board's, an organisation's), so that forgetting what
 * belongs to one id needs no scan; the cache keeps it in step from its `dispose`.
 */
export class KeyIndex {
  private readonly index = new Map<string, Set<string>>();

  add(id: string, key: string): void {
    let keys = this.index.get(id);
    if (!keys) this.index.set(id, (keys = new Set()));
    keys.add(key);
  }

  remove(id: string, key: string): void {
    const keys = this.index.get(id);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.index.delete(id);
  }

  /** A copy: dropping a key while iterating shrinks the set. */
  keys(id: string): string[] {
    return [...(this.index.get(id) ?? [])];
  }

  ids(): string[] {
    return [...this.index.keys()];
  }
}
