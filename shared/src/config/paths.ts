import { isAbsolute, join } from 'node:path';
import type { CoreConfig } from './schema.js';

/**
 * A path from the config resolved against data_dir (database.uri for sqlite,
 * encryption.store_key_file); absolute paths are kept.
 */
export function resolveDataPath(config: Pick<CoreConfig, 'data_dir'>, path: string): string {
  return isAbsolute(path) ? path : join(config.data_dir, path);
}
