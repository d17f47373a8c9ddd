import { Migration } from '@mikro-orm/migrations';

export class Migration20261201101326_freeze_windows extends Migration {
  override name = 'Migration20261201101326_freeze_windows';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "freeze_windows" ("id" uuid not null, "environment_id" uuid not null, "cron_start" varchar(120) null, "cron_end" varchar(120) null, "duration_minutes" int null, "timezone" varchar(64) not null default 'UTC', "starts_at" timestamptz null, "ends_at" timestamptz null, "reason" text null, "created_by_name" varchar(255) not null, "created_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(`create index "freeze_windows_environment_id_index" on "freeze_windows" ("environment_id");`);

    this.addSql(`alter table "deployments" add "force_reason" text null;`);

    this.addSql(`alter table "environments" add "health_check_url" text null;`);

    this.addSql(
      `alter table "freeze_windows" add constraint "freeze_windows_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "freeze_windows" add constraint "freeze_windows_one_kind" check ((cron_start is null) <> (starts_at is null));`,
    );
    this.addSql(
      `alter table "freeze_windows" add constraint "freeze_windows_one_end" check (cron_start is null or ((cron_end is null) <> (duration_minutes is null)));`,
    );
    this.addSql(
      `alter table "freeze_windows" add constraint "freeze_windows_range" check (starts_at is null or (ends_at is not null and ends_at > starts_at));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "freeze_windows" cascade;`);

    this.addSql(`alter table "deployments" drop column "force_reason";`);

    this.addSql(`alter table "environments" drop column "health_check_url";`);
  }
}
