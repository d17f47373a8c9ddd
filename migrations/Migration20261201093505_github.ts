import { Migration } from '@mikro-orm/migrations';

export class Migration20261201093505_github extends Migration {
  override name = 'Migration20261201093505_github';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "pending_commits" ("id" uuid not null, "seq" bigserial, "environment_id" uuid not null, "commit_hash" varchar(64) not null, "message" text null, "author" varchar(255) null, "pushed_by" varchar(255) not null, "pushed_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(`alter table "pending_commits" add constraint "pending_commits_seq_unique" unique ("seq");`);
    this.addSql(
      `alter table "pending_commits" add constraint "pending_commits_once" unique ("environment_id", "commit_hash");`,
    );

    this.addSql(`alter table "projects" add "github_repository" varchar(200) null;`);
    this.addSql(`create index "projects_github_repository_index" on "projects" ("github_repository");`);

    this.addSql(
      `alter table "pending_commits" add constraint "pending_commits_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on delete cascade;`,
    );

    // Deployments are reported to GitHub through notification channels of their own platform.
    this.addSql(
      `alter table "notification_channels" drop constraint if exists "notification_channels_platform_check";`,
    );
    this.addSql(
      `alter table "notification_channels" add constraint "notification_channels_platform_check" check ("platform" in ('slack', 'discord', 'teams', 'webhook', 'email', 'github'));`,
    );

    // Projects that already deploy from github.com get their owner/name, as new ones do
    // (the same rules as githubRepositoryOf in src/core/projects/repository-url.ts).
    this.addSql(`update "projects"
      set "github_repository" = regexp_replace(
        substring(lower("repository") from '^(?:(?:https?|ssh|git)://(?:[^@/]+@)?(?:www\\.)?github\\.com(?::[0-9]+)?/|git@github\\.com:)([a-z0-9_.-]+/[a-z0-9_.-]+)/?$'),
        '\\.git$', '')
      where "github_repository" is null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "pending_commits" cascade;`);

    this.addSql(`delete from "notification_channels" where "platform" = 'github';`);
    this.addSql(
      `alter table "notification_channels" drop constraint if exists "notification_channels_platform_check";`,
    );
    this.addSql(
      `alter table "notification_channels" add constraint "notification_channels_platform_check" check ("platform" in ('slack', 'discord', 'teams', 'webhook', 'email'));`,
    );

    this.addSql(`drop index "projects_github_repository_index";`);
    this.addSql(`alter table "projects" drop column "github_repository";`);
  }
}
