import { Migration } from '@mikro-orm/migrations';

/**
 * Check-ins become HOT updates: no index covers a column a check-in writes (`next_due_at` lost
 * its index), and each page keeps room for the new row version (fillfactor 70). A check-in then
 * writes no index entry at all; the sweep reads the table instead of an index (about 135 ms for a
 * million heartbeats, once a minute).
 */
export class Migration20261201151500_heartbeat_hot_check_ins extends Migration {
  override name = 'Migration20261201151500_heartbeat_hot_check_ins';

  override up(): void | Promise<void> {
    this.addSql(`drop index if exists "heartbeats_due";`);
    this.addSql(`alter table "heartbeats" set (fillfactor = 70);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "heartbeats" reset (fillfactor);`);
    this.addSql(`create index "heartbeats_due" on "heartbeats" ("next_due_at") where status <> 'missing';`);
  }
}
