import { Migration } from '@mikro-orm/migrations';

export class Migration20261201092309_inbound_and_messages extends Migration {
  override name = 'Migration20261201092309_inbound_and_messages';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "inbound_requests" ("key" varchar(200) not null, "received_at" timestamptz not null default now(), "expires_at" timestamptz not null, primary key ("key"));`,
    );
    this.addSql(`create index "inbound_requests_expires_at_index" on "inbound_requests" ("expires_at");`);

    this.addSql(
      `create table "deployment_messages" ("id" uuid not null, "deployment_id" uuid not null, "platform" varchar(20) not null, "channel" varchar(255) not null, "message_id" varchar(255) not null, "reference" jsonb null, "created_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `alter table "deployment_messages" add constraint "deployment_messages_one_per_message" unique ("deployment_id", "platform", "channel", "message_id");`,
    );

    this.addSql(
      `alter table "deployment_messages" add constraint "deployment_messages_deployment_id_foreign" foreign key ("deployment_id") references "deployments" ("id") on delete cascade;`,
    );

    // The approval cards remembered until now move to the new table, then the old column goes.
    this.addSql(`insert into "deployment_messages" ("id", "deployment_id", "platform", "channel", "message_id")
      select gen_random_uuid(), r."deployment_id", m->>'platform', m->>'channel', m->>'messageId'
        from "approval_requests" r, jsonb_array_elements(r."messages") m
       where m ? 'platform' and m ? 'channel' and m ? 'messageId'
      on conflict do nothing;`);
    this.addSql(`alter table "approval_requests" drop column "messages";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "inbound_requests" cascade;`);
    this.addSql(`drop table if exists "deployment_messages" cascade;`);

    this.addSql(`alter table "approval_requests" add "messages" jsonb not null default '[]';`);
  }
}
