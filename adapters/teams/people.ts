import type { ChatUser } from '../../src/chat/index.js';
import type { Logger } from '../../src/logger.js';
import type { TeamsBot, TeamsReference } from './bot.js';

const KNOWN_MS = 6 * 3_600_000;
const ABSENT_MS = 10 * 60_000;
const MAX_ENTRIES = 20_000;
const LOOKUPS_AT_ONCE = 4;

interface Known {
  teamsId: string;
  objectId: string;
  name: string;
  at: number;
}

/**
 * Teams names a person two ways: the Entra object id (Slipway's identity, `teams:<tenant>:<id>`)
 * and the Teams user id (`29:…`) that mentions and a card's refresh.userIds use. Every activity
 * teaches both; the rest comes from the conversation's roster through the Bot Connector
 * (`TeamsInfo.getMember`, which takes either id), remembered for a few hours. Kept in this
 * process only: any replica can look a person up again.
 */
export class TeamsPeople {
  private readonly byObjectId = new Map<string, Known>();
  private readonly byTeamsId = new Map<string, Known>();
  /** Looked up and not in the conversation, until then (a 404 is not asked again at once). */
  private readonly absent = new Map<string, number>();

  constructor(
    private readonly bot: TeamsBot,
    private readonly logger: Logger,
  ) {}

  /** What an activity says about its sender. */
  learn(tenant: string, objectId: string, teamsId: string, name: string): void {
    if (this.byObjectId.size > MAX_ENTRIES) {
      this.byObjectId.clear();
      this.byTeamsId.clear();
    }
    const known = { teamsId, objectId, name, at: Date.now() };
    this.byObjectId.set(`${tenant}|${objectId}`, known);
    this.byTeamsId.set(teamsId, known);
  }

  /** The Teams user ids already known for these people (no request: for answers that cannot wait). */
  known(people: readonly ChatUser[]): string[] {
    return people.flatMap((person) => {
      const known = this.fresh(this.byObjectId.get(`${person.workspace}|${person.userId}`));
      return known ? [known.teamsId] : [];
    });
  }

  /**
   * The Teams user ids of these people in the conversation, asking the roster for the ones not
   * known yet (a few at a time) within `budgetMs`; people not in it, or not found in time, are
   * left out.
   */
  async teamsIds(target: TeamsReference, people: readonly ChatUser[], budgetMs = 5_000): Promise<string[]> {
    const missing = people.filter(
      (person) =>
        !this.fresh(this.byObjectId.get(`${person.workspace}|${person.userId}`)) &&
        (this.absent.get(this.absentKey(target, person.userId)) ?? 0) < Date.now(),
    );
    if (missing.length) {
      const lookups = (async () => {
        for (let i = 0; i < missing.length; i += LOOKUPS_AT_ONCE) {
          await Promise.all(
            missing.slice(i, i + LOOKUPS_AT_ONCE).map((person) => this.lookUp(target, person.userId)),
          );
        }
      })();
      await Promise.race([lookups, new Promise((resolve) => setTimeout(resolve, budgetMs).unref())]);
    }
    return this.known(people);
  }

  /**
   * The Entra object id (and name) behind a Teams user id, from what activities taught or the
   * roster; null when they are not in the conversation. Throws when the Bot Connector fails.
   */
  async objectIdOf(
    target: TeamsReference,
    teamsId: string,
  ): Promise<{ objectId: string; name: string } | null> {
    const known = this.fresh(this.byTeamsId.get(teamsId)) ?? (await this.lookUp(target, teamsId, true));
    return known ? { objectId: known.objectId, name: known.name } : null;
  }

  private async lookUp(target: TeamsReference, userId: string, rethrow = false): Promise<Known | null> {
    try {
      const member = await this.bot.member(target, userId);
      if (!member?.id || !member.aadObjectId) {
        this.absent.set(this.absentKey(target, userId), Date.now() + ABSENT_MS);
        return null;
      }
      this.learn(target.tenantId, member.aadObjectId, member.id, member.name ?? member.aadObjectId);
      return this.byTeamsId.get(member.id) ?? null;
    } catch (error) {
      this.logger.warn({ err: error, userId }, 'could not look up a Teams member');
      if (rethrow) throw error;
      return null;
    }
  }

  private absentKey(target: TeamsReference, userId: string): string {
    return `${target.teamId ?? target.conversationId}|${userId}`;
  }

  private fresh(known: Known | undefined): Known | undefined {
    return known && Date.now() - known.at < KNOWN_MS ? known : undefined;
  }
}
