import { Migration } from '@mikro-orm/migrations';

export class Migration20261123083934_api_tokens extends Migration {
  override name = 'Migration20261123083934_api_tokens';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "api_tokens" ("id" uuid not null, "member_id" uuid not null, "name" varchar(100) not null, "token_hash" varchar(64) not null, "prefix" varchar(16) not null, "scopes" jsonb not null default '[]', "created_by_name" varchar(255) not null, "created_at" timestamptz not null default now(), "last_used_at" timestamptz null, "expires_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "api_tokens" add constraint "api_tokens_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(`create index "api_tokens_member_id_index" on "api_tokens" ("member_id");`);

    this.addSql(
      `create table "commit_statuses" ("id" uuid not null, "project_id" uuid not null, "commit_hash" varchar(64) not null, "context" varchar(100) not null, "state" text not null, "description" text null, "target_url" text null, "reported_by_name" varchar(255) not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "commit_statuses" add constraint "commit_statuses_one_per_context" unique ("project_id", "commit_hash", "context");`,
    );

    this.addSql(`alter table "projects" add "environment_key_hash" text null;`);

    this.addSql(
      `alter table "api_tokens" add constraint "api_tokens_member_id_foreign" foreign key ("member_id") references "members" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "commit_statuses" add constraint "commit_statuses_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "commit_statuses" add constraint "commit_statuses_state_check" check ("state" in ('pending', 'success', 'failure', 'error'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "api_tokens" cascade;`);
    this.addSql(`drop table if exists "commit_statuses" cascade;`);

    this.addSql(`alter table "projects" drop column "environment_key_hash";`);
  }
}
