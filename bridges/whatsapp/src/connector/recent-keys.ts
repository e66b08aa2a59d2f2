/** Remembers the last few thousand keys (a Set keeps insertion order), to drop a second report of one thing. */
export class RecentKeys {
  private readonly keys = new Set<string>();
  constructor(private readonly max = 4096) {}
  /** True the first time a key is seen. */
  first(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
  has(key: string): boolean {
    return this.keys.has(key);
  }
}
