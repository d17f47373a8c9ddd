import type { FastifyBaseLogger } from 'fastify';

type Bindings = Record<string, unknown>;
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
type Log = (...args: unknown[]) => void;

/**
 * A request's logger, made only when something logs through it. Fastify gives every request a
 * child of the server's logger, and pino builds each child's bindings through its redaction: at
 * 10,000 check-ins a second that was about 2% of the service's CPU (a CPU profile of
 * bench:heartbeats), for loggers that almost never log. Request lines are off (metrics count
 * requests), so mostly only the error handler writes to one.
 */
export class DeferredRequestLogger implements FastifyBaseLogger {
  #logger: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  private get logger(): FastifyBaseLogger {
    this.#logger ??= this.parent.child(this.bindings, this.options);
    return this.#logger;
  }

  get level(): string {
    return this.#logger?.level ?? this.options?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  // Methods on the prototype, not arrow fields: a request must not pay for seven closures.
  fatal(...args: unknown[]): void {
    (this.logger.fatal as Log)(...args);
  }
  error(...args: unknown[]): void {
    (this.logger.error as Log)(...args);
  }
  warn(...args: unknown[]): void {
    (this.logger.warn as Log)(...args);
  }
  info(...args: unknown[]): void {
    (this.logger.info as Log)(...args);
  }
  debug(...args: unknown[]): void {
    (this.logger.debug as Log)(...args);
  }
  trace(...args: unknown[]): void {
    (this.logger.trace as Log)(...args);
  }
  silent(...args: unknown[]): void {
    (this.logger.silent as Log)(...args);
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }
}
