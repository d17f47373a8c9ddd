import { Migration } from '@mikro-orm/migrations';

export class Migration20261201102745_pipelines extends Migration {
  override name = 'Migration20261201102745_pipelines';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "pipeline_executions" ("id" uuid not null, "pipeline_id" uuid not null, "project_id" uuid not null, "run_number" int not null, "status" text not null default 'new', "ref" varchar(255) not null, "commit_hash" varchar(64) not null, "commit_message" text null, "commit_author" varchar(255) null, "requested_by_id" uuid null, "requested_by_name" varchar(255) not null, "source" varchar(32) not null, "confirmed" boolean not null default false, "forced" boolean not null default false, "force_reason" text null, "failure_reason" text null, "messages" jsonb not null default '[]', "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "started_at" timestamptz null, "finished_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `create index "pipeline_executions_status_updated_at_index" on "pipeline_executions" ("status", "updated_at");`,
    );
    this.addSql(
      `alter table "pipeline_executions" add constraint "pipeline_executions_run_number" unique ("pipeline_id", "run_number");`,
    );
    this.addSql(
      `create unique index "pipeline_executions_one_active" on "pipeline_executions" ("pipeline_id") where status in ('new', 'pending', 'running');`,
    );

    this.addSql(
      `create table "pipeline_execution_steps" ("id" uuid not null, "execution_id" uuid not null, "phase" int not null, "environment_id" uuid null, "environment_name" varchar(255) not null, "position" int not null, "kind" text not null, "config" jsonb not null default '{}', "status" text not null default 'new', "deployment_id" uuid null, "decided_by_id" uuid null, "decided_by_name" varchar(255) null, "detail" text null, "attempts" int not null default 0, "runner_id" varchar(100) null, "started_at" timestamptz null, "finished_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `create index "pipeline_execution_steps_deployment_id_index" on "pipeline_execution_steps" ("deployment_id");`,
    );
    this.addSql(
      `alter table "pipeline_execution_steps" add constraint "pipeline_execution_steps_execution_id_phase_position_unique" unique ("execution_id", "phase", "position");`,
    );

    // No release ever wrote pipelines (the entities were defined, nothing used them); a row that
    // exists anyway has no signing secret to sign its webhooks with, and cannot be kept.
    this.addSql(`delete from "pipelines";`);
    this.addSql(
      `alter table "pipelines" add "signing_secret" text not null, add "updated_at" timestamptz not null default now();`,
    );
    this.addSql(
      `alter table "pipelines" alter column "name" type varchar(100) using ("name"::varchar(100));`,
    );

    this.addSql(`alter table "pipeline_stages" drop column "name";`);

    this.addSql(
      `alter table "pipeline_executions" add constraint "pipeline_executions_pipeline_id_foreign" foreign key ("pipeline_id") references "pipelines" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "pipeline_executions" add constraint "pipeline_executions_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "pipeline_executions" add constraint "pipeline_executions_requested_by_id_foreign" foreign key ("requested_by_id") references "members" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "pipeline_executions" add constraint "pipeline_executions_status_check" check ("status" in ('new', 'pending', 'running', 'ok', 'failed'));`,
    );

    this.addSql(
      `alter table "pipeline_execution_steps" add constraint "pipeline_execution_steps_execution_id_foreign" foreign key ("execution_id") references "pipeline_executions" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "pipeline_execution_steps" add constraint "pipeline_execution_steps_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "pipeline_execution_steps" add constraint "pipeline_execution_steps_deployment_id_foreign" foreign key ("deployment_id") references "deployments" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "pipeline_execution_steps" add constraint "pipeline_execution_steps_decided_by_id_foreign" foreign key ("decided_by_id") references "members" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "pipeline_execution_steps" add constraint "pipeline_execution_steps_kind_check" check ("kind" in ('deploy', 'confirmation', 'run-smoke', 'webhook-trigger'));`,
    );
    this.addSql(
      `alter table "pipeline_execution_steps" add constraint "pipeline_execution_steps_status_check" check ("status" in ('new', 'pending', 'running', 'ok', 'failed', 'skipped'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(
      `alter table "pipeline_execution_steps" drop constraint "pipeline_execution_steps_execution_id_foreign";`,
    );

    this.addSql(`drop table if exists "pipeline_executions" cascade;`);
    this.addSql(`drop table if exists "pipeline_execution_steps" cascade;`);

    this.addSql(`alter table "pipeline_stages" add "name" varchar(255) not null;`);

    this.addSql(`alter table "pipelines" drop column "signing_secret", drop column "updated_at";`);
    this.addSql(
      `alter table "pipelines" alter column "name" type varchar(255) using ("name"::varchar(255));`,
    );
  }
}
