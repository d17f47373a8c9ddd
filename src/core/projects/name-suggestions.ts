import type { Orm } from '../../db/orm.js';

/** Discord shows at most 25 choices; no platform needs more while someone types. */
const MOST = 25;

/**
 * Names to offer while someone types a command (Discord's option autocomplete): the projects a
 * member may view, and a project's environments when they may view it. One indexed query each,
 * answered on the request path, so it reads nothing else. Every role is at least `viewer`, so
 * any global role, or any role on the project, lets a member see the project's names.
 * Names that start with what was typed come first, then names that contain it.
 */
export class NameSuggestions {
  constructor(private readonly orm: Orm) {}

  async projects(memberId: string | null, typed: string): Promise<string[]> {
    if (!memberId) return [];
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ name: string }[]>(
        `select p.name from projects p
         join members m on m.id = ?
         where strpos(lower(p.name), lower(?)) > 0
           and (m.global_role is not null
                or exists (select 1 from project_roles pr where pr.member_id = m.id and pr.project_id = p.id))
         order by strpos(lower(p.name), lower(?)) = 1 desc, p.name
         limit ${MOST}`,
        [memberId, typed, typed],
      );
    return rows.map((row) => row.name);
  }

  async environments(memberId: string | null, project: string, typed: string): Promise<string[]> {
    if (!memberId) return [];
    const rows = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ name: string }[]>(
        `select e.name from environments e
         join projects p on p.id = e.project_id and p.name = ?
         join members m on m.id = ?
         where strpos(lower(e.name), lower(?)) > 0
           and (m.global_role is not null
                or exists (select 1 from project_roles pr where pr.member_id = m.id and pr.project_id = p.id))
         order by strpos(lower(e.name), lower(?)) = 1 desc, e.name
         limit ${MOST}`,
        [project, memberId, typed, typed],
      );
    return rows.map((row) => row.name);
  }
}
