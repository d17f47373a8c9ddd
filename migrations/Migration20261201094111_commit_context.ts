import { Migration } from '@mikro-orm/migrations';

export class Migration20261201094111_commit_context extends Migration {
  override name = 'Migration20261201094111_commit_context';

  override up(): void | Promise<void> {
    this.addSql(`alter table "deployments" add "changes" jsonb null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "deployments" drop column "changes";`);
  }
}
