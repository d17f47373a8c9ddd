import { Migration } from '@mikro-orm/migrations';

export class Migration20261201100353_console_sign_in extends Migration {
  override name = 'Migration20261201100353_console_sign_in';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "console_sessions" ("id" uuid not null, "token_hash" varchar(64) not null, "platform" text not null, "workspace" varchar(255) not null, "user_id" varchar(255) not null, "display_name" varchar(255) not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz not null, "revoked_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "console_sessions" add constraint "console_sessions_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(`create index "console_sessions_expires_at_index" on "console_sessions" ("expires_at");`);

    this.addSql(
      `create table "console_sign_in_links" ("id" uuid not null, "token_hash" varchar(64) not null, "platform" text not null, "workspace" varchar(255) not null, "user_id" varchar(255) not null, "display_name" varchar(255) not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz not null, "used_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "console_sign_in_links" add constraint "console_sign_in_links_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(
      `create index "console_sign_in_links_expires_at_index" on "console_sign_in_links" ("expires_at");`,
    );

    this.addSql(
      `alter table "console_sessions" add constraint "console_sessions_platform_check" check ("platform" in ('slack', 'discord', 'teams', 'web'));`,
    );

    this.addSql(
      `alter table "console_sign_in_links" add constraint "console_sign_in_links_platform_check" check ("platform" in ('slack', 'discord', 'teams', 'web'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "console_sessions" cascade;`);
    this.addSql(`drop table if exists "console_sign_in_links" cascade;`);
  }
}
