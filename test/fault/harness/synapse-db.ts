/**
 * Evidence from Synapse's own database, opened read-only: the appservice transactions it has
 * stored but not delivered. Synapse deletes a transaction once the appservice acknowledged it, so
 * a row left behind while later events are delivered holds events Synapse stranded.
 */
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import type { BridgeEnv } from '../../helpers/bridge-env.js';

/** Event ids in transactions Synapse holds undelivered for the bridge's appservice. */
export async function strandedEventIds(env: BridgeEnv, appserviceId: string = env.kind): Promise<Set<string>> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(join(env.synapse.dataDir, 'homeserver.db'), sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
  });
  try {
    const rows = await new Promise<Array<{ event_ids: string }>>((resolve, reject) => {
      db.all('SELECT event_ids FROM application_services_txns WHERE as_id = ?', [appserviceId], (err, r) => (err ? reject(err) : resolve(r as Array<{ event_ids: string }>)));
    });
    return new Set(rows.flatMap((r) => JSON.parse(r.event_ids) as string[]));
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}
