import type { EntityManager } from '@mikro-orm/postgresql';
import { withConstraintErrors } from '../../db/constraint-errors.js';
import { ChatIdentity, type IProject, Member, Project, ProjectRole } from '../../db/entities/index.js';
import type { Orm } from '../../db/orm.js';
import { SlipwayError } from '../../errors.js';
import { type ChatPlatform, type Role, roleAtLeast } from '../../vocabulary.js';
import { findProject } from '../lookup.js';
import type { Actor } from './actor.js';
import { recordAudit } from './audit-log.js';

export interface ChatIdentityRef {
  platform: ChatPlatform;
  workspace: string;
  userId: string;
  displayName: string;
}

export interface MemberRoleRow {
  memberId: string;
  name: string;
  role: Role;
  scope: 'global' | 'project';
  identities: string[];
}

const VERB: Record<Role, string> = {
  viewer: 'view it',
  deployer: 'deploy',
  approver: 'approve',
  admin: 'administer it',
};

/**
 * Who is who and who may do what. A chat identity (platform, workspace, user) belongs to one
 * member; a member holds a role per project (viewer < deployer < approver < admin) or a global
 * role. The identities listed in SLIPWAY_ADMINS are global admins from their first message.
 */
const RESOLVE_CACHE_MS = 60_000;

export class AccessPolicy {
  private readonly admins: Set<string>;
  /** Identity → member, for a minute: every chat request resolves its sender first. */
  private readonly known = new Map<string, { actor: Actor; displayName: string; at: number }>();

  constructor(
    private readonly orm: Orm,
    admins: readonly { platform: string; workspace: string; userId: string }[],
  ) {
    this.admins = new Set(admins.map((a) => identityKey(a.platform, a.workspace, a.userId)));
  }

  /** The member behind a chat identity, created on first contact (seeded admins get `admin`). */
  async resolve(identity: ChatIdentityRef): Promise<Actor> {
    const key = identityKey(identity.platform, identity.workspace, identity.userId);
    const cached = this.known.get(key);
    if (cached && cached.displayName === identity.displayName && Date.now() - cached.at < RESOLVE_CACHE_MS) {
      return cached.actor;
    }
    const actor = await this.lookup(identity);
    if (this.known.size > 10_000) this.known.clear();
    this.known.set(key, { actor, displayName: identity.displayName, at: Date.now() });
    return actor;
  }

  private async lookup(identity: ChatIdentityRef): Promise<Actor> {
    const em = this.orm.em.fork();
    const seededAdmin = this.admins.has(identityKey(identity.platform, identity.workspace, identity.userId));
    const where = { platform: identity.platform, workspace: identity.workspace, userId: identity.userId };
    const found = await em.findOne(ChatIdentity, where, { populate: ['member'] });
    if (found) {
      const member = found.member;
      let dirty = false;
      if (seededAdmin && member.globalRole !== 'admin') {
        member.globalRole = 'admin';
        dirty = true;
      }
      if (identity.displayName && member.displayName !== identity.displayName) {
        member.displayName = identity.displayName.slice(0, 255);
        dirty = true;
      }
      if (dirty) await em.flush();
      return { memberId: member.id, name: member.displayName, source: identity.platform };
    }
    try {
      const member = await em.transactional(async (tx) => {
        const created = tx.create(Member, {
          displayName: (identity.displayName || identity.userId).slice(0, 255),
          globalRole: seededAdmin ? 'admin' : null,
        });
        tx.create(ChatIdentity, { member: created, ...where });
        return created;
      });
      return { memberId: member.id, name: member.displayName, source: identity.platform };
    } catch (error) {
      // Two first messages at once: the other one created the member.
      const again = await this.orm.em.fork().findOne(ChatIdentity, where, { populate: ['member'] });
      if (!again) throw error;
      return { memberId: again.member.id, name: again.member.displayName, source: identity.platform };
    }
  }

  /** The role a member holds on a project (the higher of the global and the project role), or null. */
  async roleOf(em: EntityManager, memberId: string | null, project: IProject | null): Promise<Role | null> {
    if (!memberId) return null;
    // One round trip: the member's global role and their role on the project.
    const rows = await em.getConnection().execute<{ global_role: Role | null; project_role: Role | null }[]>(
      'select m.global_role, pr.role as project_role from members m left join project_roles pr on pr.member_id = m.id and pr.project_id = ? where m.id = ?',
      [project?.id ?? null, memberId],
      'all',
      // Inside a caller's transaction (approvals), read on its connection.
      em.getTransactionContext(),
    );
    const row = rows[0];
    if (!row) return null;
    const role = row.global_role;
    const projectRole = row.project_role;
    if (projectRole && (!role || roleAtLeast(projectRole, role))) return projectRole;
    return role;
  }

  /** Whether the member holds at least `needed` on the project (no audit: for filtering lists). */
  async can(actor: Actor, projectName: string, needed: Role): Promise<boolean> {
    const em = this.orm.em.fork();
    const project = await em.findOne(Project, { name: projectName });
    if (!project) return false;
    const held = await this.roleOf(em, actor.memberId, project);
    return !!held && roleAtLeast(held, needed);
  }

  /** Throws `forbidden` naming the role needed and the role held; records the refusal. */
  async require(actor: Actor, projectName: string | null, needed: Role, what?: string): Promise<void> {
    const em = this.orm.em.fork();
    // Every chat command starts here: the project's existence and both roles in one round trip.
    // The slow path (unknown project, refusal) looks things up again for its message and audit.
    const [row] = await em
      .getConnection()
      .execute<{ project_id: string | null; global_role: Role | null; project_role: Role | null }[]>(
        `select p.id as project_id, m.global_role, pr.role as project_role
         from (select 1) one
         left join projects p on p.name = ?
         left join members m on m.id = ?
         left join project_roles pr on pr.member_id = m.id and pr.project_id = p.id`,
        [projectName, actor.memberId],
      );
    const found = !projectName || !!row?.project_id;
    if (found && row) {
      const fast = higherRole(row.global_role, projectName ? row.project_role : null);
      if (fast && roleAtLeast(fast, needed)) return;
    }
    const project = projectName ? await this.visibleProject(em, actor, projectName) : null;
    const held = await this.roleOf(em, actor.memberId, project);
    if (held && roleAtLeast(held, needed)) return;
    const scope = project ? ` on ${project.name}` : '';
    recordAudit(em, actor, {
      action: 'access.refused',
      result: 'refused',
      projectId: project?.id ?? null,
      details: { needed, held, what: what ?? null },
    });
    await em.flush();
    throw new SlipwayError(
      'forbidden',
      `You need the ${needed} role${scope} to ${what ?? VERB[needed]}; you have ${held ? `the ${held} role` : 'no role'}. Ask an admin: \`members grant <project> @you ${needed}\`.`,
    );
  }

  /**
   * The project by name; when there is none, the error lists only the projects this person may
   * see (all of them for a global role), so a stranger learns no names from a typo.
   */
  private async visibleProject(em: EntityManager, actor: Actor, name: string): Promise<IProject> {
    const project = await em.findOne(Project, { name });
    if (project) return project;
    const global = await this.roleOf(em, actor.memberId, null);
    const visible = global
      ? await em.find(Project, {}, { fields: ['name'], orderBy: { name: 'asc' }, limit: 20 })
      : actor.memberId
        ? (
            await em.find(
              ProjectRole,
              { member: actor.memberId },
              { populate: ['project'], orderBy: { project: { name: 'asc' } }, limit: 20 },
            )
          ).map((role) => role.project)
        : [];
    throw new SlipwayError(
      'not_found',
      visible.length
        ? `There is no project "${name}". Projects: ${visible.map((p) => p.name).join(', ')}.`
        : `There is no project "${name}" that you can see.`,
    );
  }

  async grant(
    actor: Actor,
    projectName: string,
    target: ChatIdentityRef,
    role: Role,
  ): Promise<MemberRoleRow> {
    await this.require(actor, projectName, 'admin', 'grant roles');
    return this.assignRole(actor, projectName, target, role);
  }

  /**
   * `grant` without the role check, for callers that hold authority of their own: `slipway
   * apply`, which runs with the database's credentials. Audited like a grant.
   */
  async assignRole(
    actor: Actor,
    projectName: string,
    target: ChatIdentityRef,
    role: Role,
  ): Promise<MemberRoleRow> {
    const targetActor = await this.resolve(target);
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const existing = await em.findOne(ProjectRole, { member: targetActor.memberId, project });
    if (existing) existing.role = role;
    else em.create(ProjectRole, { member: targetActor.memberId as string, project, role });
    recordAudit(em, actor, {
      action: 'member.grant',
      result: 'ok',
      projectId: project.id,
      targetType: 'member',
      targetId: targetActor.memberId ?? undefined,
      details: { role, member: targetActor.name },
    });
    await withConstraintErrors(() => em.flush());
    return {
      memberId: targetActor.memberId as string,
      name: targetActor.name,
      role,
      scope: 'project',
      identities: [identityKey(target.platform, target.workspace, target.userId)],
    };
  }

  async revoke(actor: Actor, projectName: string, target: ChatIdentityRef): Promise<boolean> {
    await this.require(actor, projectName, 'admin', 'revoke roles');
    return this.removeRole(actor, projectName, target);
  }

  /** `revoke` without the role check (see assignRole). */
  async removeRole(actor: Actor, projectName: string, target: ChatIdentityRef): Promise<boolean> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const identity = await em.findOne(ChatIdentity, {
      platform: target.platform,
      workspace: target.workspace,
      userId: target.userId,
    });
    const removed = identity ? await em.nativeDelete(ProjectRole, { member: identity.member, project }) : 0;
    recordAudit(em, actor, {
      action: 'member.revoke',
      result: removed ? 'ok' : 'refused',
      projectId: project.id,
      targetType: 'member',
      targetId: identity?.member.id,
    });
    await em.flush();
    return removed > 0;
  }

  async list(actor: Actor, projectName: string): Promise<MemberRoleRow[]> {
    await this.require(actor, projectName, 'admin', 'list members');
    return this.roles(projectName);
  }

  /** Who holds which role on a project (global roles included), without a role check. */
  async roles(projectName: string): Promise<MemberRoleRow[]> {
    const em = this.orm.em.fork();
    const project = await findProject(em, projectName);
    const roles = await em.find(ProjectRole, { project }, { populate: ['member'] });
    const globals = await em.find(Member, { globalRole: { $ne: null } });
    const rows: MemberRoleRow[] = [
      ...globals.map((m) => ({
        memberId: m.id,
        name: m.displayName,
        role: m.globalRole as Role,
        scope: 'global' as const,
        identities: [],
      })),
      ...roles.map((r) => ({
        memberId: r.member.id,
        name: r.member.displayName,
        role: r.role,
        scope: 'project' as const,
        identities: [],
      })),
    ];
    const identities = await em.find(ChatIdentity, { member: { $in: rows.map((r) => r.memberId) } });
    for (const row of rows) {
      row.identities = identities
        .filter((i) => i.member.id === row.memberId)
        .map((i) => identityKey(i.platform, i.workspace, i.userId));
    }
    return rows;
  }
}

function higherRole(a: Role | null, b: Role | null): Role | null {
  if (!a) return b;
  if (!b) return a;
  return roleAtLeast(a, b) ? a : b;
}

export function identityKey(platform: string, workspace: string, userId: string): string {
  return `${platform}:${workspace}:${userId}`;
}
