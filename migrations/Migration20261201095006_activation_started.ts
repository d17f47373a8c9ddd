import { Migration } from '@mikro-orm/migrations';

export class Migration20261201095006_activation_started extends Migration {
  override name = 'Migration20261201095006_activation_started';

  override up(): void | Promise<void> {
    this.addSql(`alter table "deployments" add "activation_started_at" timestamptz null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "deployments" drop column "activation_started_at";`);
  }
}
