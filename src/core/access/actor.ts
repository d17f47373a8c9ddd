/** Who asked for something, and through what: carried from every entry point into the core. */
export interface Actor {
  /** The member, when the person is known to Slipway (null for system actions such as the reaper). */
  memberId: string | null;
  name: string;
  /** `slack`, `discord`, `teams`, `web`, `api`, `cli`, `github`, `system`, … */
  source: string;
}

export const SYSTEM_ACTOR: Actor = { memberId: null, name: 'Slipway', source: 'system' };
