import { Migration } from '@mikro-orm/migrations';

export class Migration20261122045635_initial extends Migration {
  override name = 'Migration20261122045635_initial';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "audit_events" ("id" bigserial primary key, "at" timestamptz not null default now(), "actor_id" uuid null, "actor_name" varchar(255) not null, "source" varchar(32) not null, "action" varchar(100) not null, "project_id" uuid null, "target_type" varchar(50) null, "target_id" varchar(100) null, "result" text not null, "details" jsonb not null default '{}');`,
    );
    this.addSql(`create index "audit_events_project_id_at_index" on "audit_events" ("project_id", "at");`);
    this.addSql(`create index "audit_events_at_index" on "audit_events" ("at");`);
    this.addSql(
      `alter table "audit_events" add constraint "audit_events_result_check" check ("result" in ('ok', 'refused', 'failed'));`,
    );

    this.addSql(
      `create table "members" ("id" uuid not null, "display_name" varchar(255) not null, "global_role" text null, "created_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "members" add constraint "members_global_role_check" check ("global_role" in ('viewer', 'deployer', 'approver', 'admin'));`,
    );

    this.addSql(
      `create table "chat_identities" ("id" uuid not null, "member_id" uuid not null, "platform" text not null, "workspace" varchar(255) not null, "user_id" varchar(255) not null, "created_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "chat_identities" add constraint "chat_identities_platform_workspace_user_id_unique" unique ("platform", "workspace", "user_id");`,
    );
    this.addSql(
      `alter table "chat_identities" add constraint "chat_identities_platform_check" check ("platform" in ('slack', 'discord', 'teams', 'web'));`,
    );

    this.addSql(
      `create table "projects" ("id" uuid not null, "name" varchar(100) not null, "repository" text not null, "provider" text not null default 'git', "default_branch" varchar(255) not null default 'main', "releases_to_keep" int not null default 5, "push_to_deploy" boolean not null default false, "install_command" text null, "environment_file" text null, "ssh_private_key" text not null, "ssh_public_key" text not null, "health_check_url" text null, "rollback_on_health_failure" boolean not null default false, "test_gates" jsonb not null default '{"staging":"warn","production":"block"}', "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(`alter table "projects" add constraint "projects_name_unique" unique ("name");`);
    this.addSql(
      `alter table "projects" add constraint "projects_releases_to_keep_check" check (releases_to_keep >= 2 and releases_to_keep <= 100);`,
    );
    this.addSql(
      `alter table "projects" add constraint "projects_provider_check" check ("provider" in ('github', 'gitlab', 'bitbucket', 'git'));`,
    );

    this.addSql(
      `create table "pipelines" ("id" uuid not null, "project_id" uuid not null, "name" varchar(255) not null, "created_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "pipelines" add constraint "pipelines_project_id_name_unique" unique ("project_id", "name");`,
    );

    this.addSql(
      `create table "notification_channels" ("id" uuid not null, "project_id" uuid null, "name" varchar(255) not null, "platform" text not null, "target" text not null, "secret" text null, "events" jsonb not null default '[]', "active" boolean not null default true, "consecutive_failures" int not null default 0, "failing_since" timestamptz null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "notification_channels" add constraint "notification_channels_project_id_name_unique" unique ("project_id", "name");`,
    );
    this.addSql(
      `alter table "notification_channels" add constraint "notification_channels_platform_check" check ("platform" in ('slack', 'discord', 'teams', 'webhook', 'email'));`,
    );

    this.addSql(
      `create table "linked_folders" ("id" uuid not null, "project_id" uuid not null, "from" varchar(500) not null, "to" varchar(500) not null, "created_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "linked_folders" add constraint "linked_folders_project_id_from_unique" unique ("project_id", "from");`,
    );

    this.addSql(
      `create table "hooks" ("id" uuid not null, "project_id" uuid not null, "name" varchar(255) not null, "script" text not null, "run_as" varchar(64) null, "action" text not null, "timing" text not null, "sequence" int not null default 0, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `create index "hooks_project_id_action_timing_sequence_index" on "hooks" ("project_id", "action", "timing", "sequence");`,
    );
    this.addSql(
      `alter table "hooks" add constraint "hooks_action_check" check ("action" in ('clone', 'install', 'activate', 'purge'));`,
    );
    this.addSql(
      `alter table "hooks" add constraint "hooks_timing_check" check ("timing" in ('before', 'after'));`,
    );

    this.addSql(
      `create table "heartbeats" ("id" uuid not null, "project_id" uuid not null, "name" varchar(255) not null, "token" varchar(64) not null, "interval_minutes" int null, "cron" varchar(120) null, "timezone" varchar(64) not null default 'UTC', "grace_minutes" int not null default 0, "status" text not null default 'new', "last_check_in_at" timestamptz null, "next_due_at" timestamptz null, "alert_held_since" timestamptz null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(`alter table "heartbeats" add constraint "heartbeats_token_unique" unique ("token");`);
    this.addSql(`create index "heartbeats_due" on "heartbeats" ("next_due_at") where status <> 'missing';`);
    this.addSql(
      `alter table "heartbeats" add constraint "heartbeats_project_id_name_unique" unique ("project_id", "name");`,
    );
    this.addSql(
      `alter table "heartbeats" add constraint "heartbeats_one_schedule" check ((interval_minutes is null) <> (cron is null));`,
    );
    this.addSql(
      `alter table "heartbeats" add constraint "heartbeats_grace_minutes_check" check (grace_minutes >= 0 and grace_minutes <= 44640);`,
    );
    this.addSql(
      `alter table "heartbeats" add constraint "heartbeats_status_check" check ("status" in ('new', 'healthy', 'missing'));`,
    );

    this.addSql(
      `create table "environments" ("id" uuid not null, "project_id" uuid not null, "name" varchar(255) not null, "slug" varchar(64) not null, "tier" text not null default 'other', "branch" varchar(255) not null, "external_url" text null, "description" text null, "state" text not null default 'available', "auto_stop_setting" text not null default 'always', "auto_stop_at" timestamptz null, "commit_behaviour" text not null default 'do_nothing', "approvals_required" int not null default 0, "approver_role" text not null default 'approver', "approval_ttl_minutes" int not null default 30, "cloned_from_id" uuid null, "auto_destroy" boolean not null default false, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_project_id_name_unique" unique ("project_id", "name");`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_project_id_slug_unique" unique ("project_id", "slug");`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_approvals_required_check" check (approvals_required >= 0 and approvals_required <= 10);`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_approval_ttl_minutes_check" check (approval_ttl_minutes >= 1 and approval_ttl_minutes <= 10080);`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_tier_check" check ("tier" in ('production', 'staging', 'testing', 'development', 'other'));`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_state_check" check ("state" in ('available', 'stopping', 'stopped'));`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_auto_stop_setting_check" check ("auto_stop_setting" in ('always', 'with_action'));`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_commit_behaviour_check" check ("commit_behaviour" in ('do_nothing', 'create_new_build', 'update_previous_build'));`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_approver_role_check" check ("approver_role" in ('viewer', 'deployer', 'approver', 'admin'));`,
    );

    this.addSql(
      `create table "pipeline_stages" ("id" uuid not null, "pipeline_id" uuid not null, "position" int not null, "name" varchar(255) not null, "environment_id" uuid null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "pipeline_stages" add constraint "pipeline_stages_pipeline_id_position_unique" unique ("pipeline_id", "position");`,
    );

    this.addSql(
      `create table "pipeline_steps" ("id" uuid not null, "stage_id" uuid not null, "position" int not null, "kind" text not null, "config" jsonb not null default '{}', primary key ("id"));`,
    );
    this.addSql(
      `alter table "pipeline_steps" add constraint "pipeline_steps_stage_id_position_unique" unique ("stage_id", "position");`,
    );
    this.addSql(
      `alter table "pipeline_steps" add constraint "pipeline_steps_kind_check" check ("kind" in ('deploy', 'confirmation', 'run-smoke', 'webhook-trigger'));`,
    );

    this.addSql(
      `create table "locks" ("id" uuid not null, "environment_id" uuid not null, "holder_id" uuid null, "holder_name" varchar(255) not null, "reason" text null, "created_at" timestamptz not null default now(), "expires_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`alter table "locks" add constraint "locks_one_per_environment" unique ("environment_id");`);

    this.addSql(
      `create table "deployments" ("id" uuid not null, "number" serial, "project_id" uuid not null, "environment_id" uuid not null, "kind" text not null default 'deploy', "status" text not null, "ref" varchar(255) not null, "commit_hash" varchar(64) null, "commit_author" varchar(255) null, "commit_message" text null, "release_name" varchar(100) null, "target_release" varchar(100) null, "promoted_from_id" uuid null, "requested_by_id" uuid null, "requested_by_name" varchar(255) not null, "source" varchar(32) not null, "forced" boolean not null default false, "failure_reason" text null, "failure_code" varchar(50) null, "cancel_requested_at" timestamptz null, "cancel_requested_by" varchar(255) null, "runner_id" varchar(100) null, "runner_seen_at" timestamptz null, "created_at" timestamptz not null default now(), "queued_at" timestamptz null, "started_at" timestamptz null, "finished_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`alter table "deployments" add constraint "deployments_number_unique" unique ("number");`);
    this.addSql(
      `create index "deployments_environment_id_created_at_index" on "deployments" ("environment_id", "created_at");`,
    );
    this.addSql(`create index "deployments_status_index" on "deployments" ("status");`);
    this.addSql(
      `create unique index "deployments_one_active_per_environment" on "deployments" ("environment_id") where status in ('queued', 'running');`,
    );
    this.addSql(
      `alter table "deployments" add constraint "deployments_kind_check" check ("kind" in ('deploy', 'promote', 'rollback'));`,
    );
    this.addSql(
      `alter table "deployments" add constraint "deployments_status_check" check ("status" in ('awaiting_approval', 'queued', 'running', 'finished', 'failed', 'cancelled', 'rejected', 'expired'));`,
    );

    this.addSql(
      `create table "approval_requests" ("id" uuid not null, "deployment_id" uuid not null, "required_count" int not null, "approver_role" text not null default 'approver', "status" text not null default 'pending', "expires_at" timestamptz not null, "messages" jsonb not null default '[]', "created_at" timestamptz not null default now(), "closed_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `create index "approval_requests_status_expires_at_index" on "approval_requests" ("status", "expires_at");`,
    );
    this.addSql(
      `alter table "approval_requests" add constraint "approval_requests_one_per_deployment" unique ("deployment_id");`,
    );
    this.addSql(
      `alter table "approval_requests" add constraint "approval_requests_required_count_check" check (required_count >= 1 and required_count <= 10);`,
    );
    this.addSql(
      `alter table "approval_requests" add constraint "approval_requests_approver_role_check" check ("approver_role" in ('viewer', 'deployer', 'approver', 'admin'));`,
    );
    this.addSql(
      `alter table "approval_requests" add constraint "approval_requests_status_check" check ("status" in ('pending', 'approved', 'rejected', 'expired', 'cancelled'));`,
    );

    this.addSql(
      `create table "approvals" ("id" uuid not null, "request_id" uuid not null, "member_id" uuid not null, "member_name" varchar(255) not null, "decision" text not null, "comment" text null, "created_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "approvals" add constraint "approvals_one_per_member" unique ("request_id", "member_id");`,
    );
    this.addSql(
      `alter table "approvals" add constraint "approvals_decision_check" check ("decision" in ('approve', 'reject'));`,
    );

    this.addSql(
      `create table "project_roles" ("id" uuid not null, "member_id" uuid not null, "project_id" uuid not null, "role" text not null, "created_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "project_roles" add constraint "project_roles_member_id_project_id_unique" unique ("member_id", "project_id");`,
    );
    this.addSql(
      `alter table "project_roles" add constraint "project_roles_role_check" check ("role" in ('viewer', 'deployer', 'approver', 'admin'));`,
    );

    this.addSql(
      `create table "servers" ("id" uuid not null, "project_id" uuid not null, "name" varchar(100) not null, "host" varchar(255) not null, "port" int not null default 22, "connect_as" varchar(64) not null, "deploy_path" text not null, "transport" text not null default 'ssh', "receives_code_deployments" boolean not null default true, "host_key_fingerprint" varchar(100) null, "connection_status" text not null default 'unknown', "connection_checked_at" timestamptz null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "servers" add constraint "servers_project_id_name_unique" unique ("project_id", "name");`,
    );
    this.addSql(
      `alter table "servers" add constraint "servers_port_check" check (port >= 1 and port <= 65535);`,
    );
    this.addSql(
      `alter table "servers" add constraint "servers_transport_check" check ("transport" in ('ssh', 'local'));`,
    );
    this.addSql(
      `alter table "servers" add constraint "servers_connection_status_check" check ("connection_status" in ('unknown', 'successful', 'failed'));`,
    );

    this.addSql(
      `create table "hook_servers" ("hook_id" uuid not null, "server_id" uuid not null, primary key ("hook_id", "server_id"));`,
    );

    this.addSql(
      `create table "environment_servers" ("environment_id" uuid not null, "server_id" uuid not null, primary key ("environment_id", "server_id"));`,
    );

    this.addSql(
      `create table "deployment_steps" ("id" uuid not null, "deployment_id" uuid not null, "server_id" uuid null, "server_name" varchar(100) not null, "position" int not null, "name" varchar(255) not null, "kind" text not null, "status" text not null default 'pending', "exit_code" int null, "started_at" timestamptz null, "finished_at" timestamptz null, "output_tail" text null, "output" text null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "deployment_steps" add constraint "deployment_steps_deployment_id_server_name_position_unique" unique ("deployment_id", "server_name", "position");`,
    );
    this.addSql(
      `alter table "deployment_steps" add constraint "deployment_steps_kind_check" check ("kind" in ('action', 'hook'));`,
    );
    this.addSql(
      `alter table "deployment_steps" add constraint "deployment_steps_status_check" check ("status" in ('pending', 'running', 'finished', 'failed', 'cancelled', 'skipped'));`,
    );

    this.addSql(
      `alter table "chat_identities" add constraint "chat_identities_member_id_foreign" foreign key ("member_id") references "members" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "pipelines" add constraint "pipelines_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "notification_channels" add constraint "notification_channels_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "linked_folders" add constraint "linked_folders_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "hooks" add constraint "hooks_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "heartbeats" add constraint "heartbeats_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "environments" add constraint "environments_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_cloned_from_id_foreign" foreign key ("cloned_from_id") references "environments" ("id") on delete set null;`,
    );

    this.addSql(
      `alter table "pipeline_stages" add constraint "pipeline_stages_pipeline_id_foreign" foreign key ("pipeline_id") references "pipelines" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "pipeline_stages" add constraint "pipeline_stages_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on delete set null;`,
    );

    this.addSql(
      `alter table "pipeline_steps" add constraint "pipeline_steps_stage_id_foreign" foreign key ("stage_id") references "pipeline_stages" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "locks" add constraint "locks_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "locks" add constraint "locks_holder_id_foreign" foreign key ("holder_id") references "members" ("id") on delete set null;`,
    );

    this.addSql(
      `alter table "deployments" add constraint "deployments_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "deployments" add constraint "deployments_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "deployments" add constraint "deployments_promoted_from_id_foreign" foreign key ("promoted_from_id") references "environments" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "deployments" add constraint "deployments_requested_by_id_foreign" foreign key ("requested_by_id") references "members" ("id") on delete set null;`,
    );

    this.addSql(
      `alter table "approval_requests" add constraint "approval_requests_deployment_id_foreign" foreign key ("deployment_id") references "deployments" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "approvals" add constraint "approvals_request_id_foreign" foreign key ("request_id") references "approval_requests" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "approvals" add constraint "approvals_member_id_foreign" foreign key ("member_id") references "members" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "project_roles" add constraint "project_roles_member_id_foreign" foreign key ("member_id") references "members" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "project_roles" add constraint "project_roles_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "servers" add constraint "servers_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "hook_servers" add constraint "hook_servers_hook_id_foreign" foreign key ("hook_id") references "hooks" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "hook_servers" add constraint "hook_servers_server_id_foreign" foreign key ("server_id") references "servers" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "environment_servers" add constraint "environment_servers_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "environment_servers" add constraint "environment_servers_server_id_foreign" foreign key ("server_id") references "servers" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "deployment_steps" add constraint "deployment_steps_deployment_id_foreign" foreign key ("deployment_id") references "deployments" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "deployment_steps" add constraint "deployment_steps_server_id_foreign" foreign key ("server_id") references "servers" ("id") on delete set null;`,
    );
  }
}
