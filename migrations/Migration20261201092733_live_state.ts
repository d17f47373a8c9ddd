import { Migration } from '@mikro-orm/migrations';

export class Migration20261201092733_live_state extends Migration {
  override name = 'Migration20261201092733_live_state';

  override up(): void | Promise<void> {
    this.addSql(`alter table "deployments" add "previous_release" varchar(100) null;`);

    this.addSql(
      `alter table "environments" add "live_release" varchar(100) null, add "live_commit" varchar(64) null, add "live_deployment_id" uuid null, add "live_since" timestamptz null;`,
    );
    this.addSql(
      `alter table "environments" add constraint "environments_live_deployment_id_foreign" foreign key ("live_deployment_id") references "deployments" ("id") on delete set null;`,
    );

    // Backfill, once, from history: an environment's live release is the one its last finished
    // deploy, promote or rollback left `current` on; its commit comes from the deployment that
    // built that release. (A deploy that failed its health check after activating cannot be told
    // apart in history; the next activation or rollback corrects the row.)
    this.addSql(`with last as (
        select distinct on (d.environment_id) d.environment_id, d.project_id, d.finished_at,
               case when d.kind = 'rollback' then coalesce(d.target_release, d.release_name) else d.release_name end as release
          from deployments d
         where d.status = 'finished'
         order by d.environment_id, d.finished_at desc nulls last, d.number desc)
      update environments e
         set live_release = last.release, live_since = last.finished_at,
             live_commit = origin.commit_hash, live_deployment_id = origin.id
        from last
        left join lateral (select o.id, o.commit_hash from deployments o
                            where o.project_id = last.project_id and o.release_name = last.release
                              and o.kind in ('deploy', 'promote')
                            order by o.number desc limit 1) origin on true
       where e.id = last.environment_id and last.release is not null;`);
    // And what each finished deployment replaced, so its card knows whether there is a release to go back to.
    this.addSql(`update deployments d set previous_release = prev.release
        from (select id, lag(case when kind = 'rollback' then coalesce(target_release, release_name) else release_name end)
                     over (partition by environment_id order by finished_at, number) as release
                from deployments where status = 'finished') prev
       where d.id = prev.id and prev.release is not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "environments" drop constraint "environments_live_deployment_id_foreign";`);

    this.addSql(`alter table "deployments" drop column "previous_release";`);

    this.addSql(
      `alter table "environments" drop column "live_release", drop column "live_commit", drop column "live_deployment_id", drop column "live_since";`,
    );
  }
}
