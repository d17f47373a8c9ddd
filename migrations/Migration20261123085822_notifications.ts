import { Migration } from '@mikro-orm/migrations';

export class Migration20261123085822_notifications extends Migration {
  override name = 'Migration20261123085822_notifications';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "notification_events" ("id" uuid not null, "seq" bigserial, "type" varchar(50) not null, "project_id" uuid null, "subject" varchar(100) null, "data" jsonb not null, "created_at" timestamptz not null default now(), "fanned_out_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "notification_events" add constraint "notification_events_seq_unique" unique ("seq");`,
    );
    this.addSql(
      `create index "notification_events_created_at_index" on "notification_events" ("created_at");`,
    );
    this.addSql(
      `create index "notification_events_unannounced" on "notification_events" ("seq") where fanned_out_at is null;`,
    );

    this.addSql(
      `create table "notification_messages" ("id" uuid not null, "channel_id" uuid not null, "subject" varchar(100) not null, "ref" jsonb not null, "last_seq" bigint not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "notification_messages" add constraint "notification_messages_one_per_subject" unique ("channel_id", "subject");`,
    );

    this.addSql(
      `create table "notification_deliveries" ("id" uuid not null, "event_id" uuid not null, "channel_id" uuid not null, "subject" varchar(100) null, "seq" bigint not null, "status" text not null default 'pending', "attempts" int not null default 0, "in_doubt" boolean not null default false, "next_attempt_at" timestamptz not null default now(), "slot_at" timestamptz null, "claimed_by" varchar(100) null, "claimed_at" timestamptz null, "delivered_at" timestamptz null, "last_error" text null, "last_status" int null, "message" jsonb null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `create index "notification_deliveries_due" on "notification_deliveries" ("next_attempt_at") where status in ('pending', 'retrying');`,
    );
    this.addSql(
      `create index "notification_deliveries_open_by_subject" on "notification_deliveries" ("channel_id", "subject", "seq") where status in ('pending', 'sending', 'retrying');`,
    );
    this.addSql(
      `create index "notification_deliveries_sending" on "notification_deliveries" ("claimed_by") where status = 'sending';`,
    );
    this.addSql(
      `create index "notification_deliveries_failed" on "notification_deliveries" ("channel_id", "created_at") where status = 'failed';`,
    );
    this.addSql(
      `alter table "notification_deliveries" add constraint "notification_deliveries_once" unique ("event_id", "channel_id");`,
    );

    this.addSql(
      `alter table "notification_channels" add "target_hint" varchar(255) not null default '', add "last_error" text null, add "last_error_at" timestamptz null, add "last_delivered_at" timestamptz null, add "next_send_at" timestamptz null;`,
    );

    this.addSql(`alter table "heartbeats" add "missing_since" timestamptz null;`);
    this.addSql(
      `create index "heartbeats_held" on "heartbeats" ("alert_held_since") where alert_held_since is not null;`,
    );

    this.addSql(
      `alter table "notification_events" add constraint "notification_events_project_id_foreign" foreign key ("project_id") references "projects" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "notification_messages" add constraint "notification_messages_channel_id_foreign" foreign key ("channel_id") references "notification_channels" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "notification_deliveries" add constraint "notification_deliveries_event_id_foreign" foreign key ("event_id") references "notification_events" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "notification_deliveries" add constraint "notification_deliveries_channel_id_foreign" foreign key ("channel_id") references "notification_channels" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "notification_deliveries" add constraint "notification_deliveries_status_check" check ("status" in ('pending', 'sending', 'retrying', 'delivered', 'failed', 'superseded', 'skipped'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(
      `alter table "notification_deliveries" drop constraint "notification_deliveries_event_id_foreign";`,
    );

    this.addSql(`drop table if exists "notification_events" cascade;`);
    this.addSql(`drop table if exists "notification_messages" cascade;`);
    this.addSql(`drop table if exists "notification_deliveries" cascade;`);

    this.addSql(`drop index "heartbeats_held";`);
    this.addSql(`alter table "heartbeats" drop column "missing_since";`);

    this.addSql(
      `alter table "notification_channels" drop column "target_hint", drop column "last_error", drop column "last_error_at", drop column "last_delivered_at", drop column "next_send_at";`,
    );
  }
}
