import { z } from 'zod';
import type { DeploymentDetail, DeploymentListItem } from '../../../core/deployments/index.js';
import { isReleaseName } from '../../../core/deployments/index.js';
import {
  DEPLOYMENT_NUMBER_PATTERN,
  DEPLOYMENT_STATUSES,
  isUuid,
  STEP_STATUSES,
} from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { gitRef, nullableTimestamp, projectParams, resourceName, timestamp } from '../schemas.js';

const deploymentFields = {
  id: z.uuid(),
  number: z.number().int().describe('The short number chat shows (`/cancel 42`)'),
  project: z.string(),
  environment: z.string(),
  kind: z.enum(['deploy', 'promote', 'rollback']),
  status: z.enum(DEPLOYMENT_STATUSES),
  ref: z.string(),
  commit_hash: z.string().nullable(),
  commit_author: z.string().nullable(),
  commit_message: z.string().nullable(),
  promoted_from: z.string().nullable(),
  requested_by: z.string(),
  source: z.string().describe('Where it was asked from: slack, web, api, …'),
  forced: z.boolean().describe('A promotion an admin forced past the test gate'),
  release: z.string().nullable(),
  failure_reason: z.string().nullable(),
  created_at: timestamp,
  started_at: nullableTimestamp,
  finished_at: nullableTimestamp,
};

const deploymentListJson = z.object(deploymentFields).strict();
apiSchemas.add(deploymentListJson, { id: 'DeploymentListItem' });

const stepJson = z
  .object({
    position: z.number().int(),
    name: z.string(),
    kind: z.enum(['action', 'hook']),
    status: z.enum(STEP_STATUSES),
    exit_code: z.number().int().nullable(),
    started_at: nullableTimestamp,
    finished_at: nullableTimestamp,
    output_tail: z.string().nullable().describe('The last lines of output, secrets redacted'),
  })
  .strict();

const deploymentJson = z
  .object({
    ...deploymentFields,
    cancel_requested_by: z.string().nullable(),
    approval: z
      .object({
        status: z.string(),
        required: z.number().int(),
        approver_role: z.string(),
        approved_by: z.array(z.string()),
        rejected_by: z.array(z.string()),
        expires_at: timestamp,
      })
      .strict()
      .nullable(),
    servers: z
      .array(z.object({ server: z.string(), steps: z.array(stepJson) }).strict())
      .describe("Envoyer's processes: each server's steps, in order"),
  })
  .strict();
apiSchemas.add(deploymentJson, { id: 'Deployment' });

function listJson(d: DeploymentListItem): z.output<typeof deploymentListJson> {
  return {
    id: d.id,
    number: d.number,
    project: d.project,
    environment: d.environment,
    kind: d.kind as 'deploy' | 'promote' | 'rollback',
    status: d.status,
    ref: d.ref,
    commit_hash: d.commit,
    commit_author: d.commitAuthor,
    commit_message: d.commitMessage,
    promoted_from: d.promotedFrom,
    requested_by: d.requestedBy,
    source: d.source,
    forced: d.forced,
    release: d.releaseName,
    failure_reason: d.failureReason,
    created_at: d.createdAt,
    started_at: d.startedAt,
    finished_at: d.finishedAt,
  };
}

export function deploymentJsonOf(d: DeploymentDetail): z.output<typeof deploymentJson> {
  const a = d.approval;
  return {
    ...listJson(d),
    cancel_requested_by: d.cancelRequestedBy,
    approval: a
      ? {
          status: a.status,
          required: a.required,
          approver_role: a.approverRole,
          approved_by: a.approvedBy,
          rejected_by: a.rejectedBy,
          expires_at: a.expiresAt,
        }
      : null,
    servers: d.servers.map((s) => ({
      server: s.server,
      steps: s.steps.map((step) => ({
        position: step.position,
        name: step.name,
        kind: step.kind,
        status: step.status,
        exit_code: step.exitCode,
        started_at: step.startedAt,
        finished_at: step.finishedAt,
        output_tail: step.outputTail,
      })),
    })),
  };
}

export const oneDeployment = z.object({ deployment: deploymentJson }).strict();

const deploymentParams = projectParams
  .extend({
    deployment: z
      .string()
      .refine(
        (value) => DEPLOYMENT_NUMBER_PATTERN.test(value) || isUuid(value),
        'deployment must be a deployment id or number',
      ),
  })
  .strict();
const environmentParams = projectParams.extend({ environment: z.string().min(1).max(100) }).strict();

const tags = ['Deployments'];

export function registerDeploymentRoutes(api: ApiInstance, deps: ApiDeps): void {
  const { records, deployments } = deps;
  const detail = async (project: string, id: string) => ({
    deployment: deploymentJsonOf(await records.detail(project, id)),
  });
  /** Environments in paths may be names or ids; the core's deployment calls take names. */
  const environmentName = async (project: string, key: string) =>
    (await deps.environments.get(project, key)).name;

  api.get('/projects/:project/deployments', {
    schema: operation(
      { tags, summary: "List a project's deployments, newest first", role: 'viewer' },
      {
        params: projectParams,
        querystring: z
          .object({
            limit: z.coerce
              .number({ error: 'limit must be a number' })
              .int('limit must be a whole number')
              .min(1, 'limit must be between 1 and 100')
              .max(100, 'limit must be between 1 and 100')
              .default(20),
            offset: z.coerce
              .number({ error: 'offset must be a number' })
              .int('offset must be a whole number')
              .min(0, 'offset must be 0 or more')
              .default(0),
            environment: z.string().min(1).max(100).optional(),
            status: z.enum(DEPLOYMENT_STATUSES).optional(),
          })
          .strict(),
        response: {
          200: z
            .object({
              deployments: z.array(deploymentListJson),
              meta: z
                .object({ total: z.number().int(), limit: z.number().int(), offset: z.number().int() })
                .strict(),
            })
            .strict(),
        },
      },
    ),
    handler: async (request) => {
      const q = request.query;
      const page = await records.page(request.params.project, {
        limit: q.limit,
        offset: q.offset,
        environment: q.environment,
        status: q.status,
      });
      return {
        deployments: page.items.map(listJson),
        meta: { total: page.total, limit: q.limit, offset: q.offset },
      };
    },
  });

  api.get('/projects/:project/deployments/:deployment', {
    schema: operation(
      { tags, summary: 'Get a deployment with its steps on each server', role: 'viewer' },
      { params: deploymentParams, response: { 200: oneDeployment } },
    ),
    handler: async (request) => {
      return detail(request.params.project, request.params.deployment);
    },
  });

  api.post('/projects/:project/deployments', {
    schema: operation(
      {
        tags,
        summary: 'Deploy a branch, tag or commit to an environment',
        description:
          "Envoyer's targets: without `from`, the environment's branch; `from: branch` with `branch`, `from: tag` with `tag`, `from: sha` with a full `sha`. A deploy to a staging or production environment passes the project's test gate, like a promotion: `block` refuses a commit whose tests did not pass (400), `warn` needs `confirm: true`; `force: true` skips it (admins only, 403 otherwise; recorded in the audit log). An environment that needs approvals answers `awaiting_approval`: approvers approve it like a chat request.",
        scope: 'deployments:create',
        role: 'deployer',
        action: 'deploy',
      },
      {
        params: projectParams,
        body: z
          .object({
            environment: resourceName('environment'),
            from: z.enum(['branch', 'tag', 'sha'], { error: 'from must be branch, tag or sha' }).optional(),
            branch: gitRef('branch').optional(),
            tag: gitRef('tag').optional(),
            sha: z
              .string()
              .regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'sha must be a full 40-character lowercase commit id')
              .optional(),
            confirm: z.boolean().optional().describe('Go on past a `warn` test gate'),
            force: z
              .boolean()
              .optional()
              .describe('Admins: skip the test gate, and with a `reason` a freeze (audited)'),
            reason: z.string().min(1).max(500).optional().describe('Why it is forced'),
          })
          .strict()
          .superRefine((b, ctx) => {
            if (b.from && b[b.from] === undefined) {
              ctx.addIssue({
                code: 'custom',
                path: [b.from],
                message: `${b.from} is required when from is ${b.from}`,
              });
            }
            const given = (['branch', 'tag', 'sha'] as const).filter((k) => b[k] !== undefined);
            if (given.length > 1) {
              ctx.addIssue({ code: 'custom', path: [given[1]!], message: 'give one of branch, tag or sha' });
            }
          }),
        response: { 201: oneDeployment },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const { project } = request.params;
      const b = request.body;
      const ref = b.from ? b[b.from] : (b.branch ?? b.tag ?? b.sha);
      const created = await deployments.requestDeploy(actor, {
        project,
        environment: b.environment,
        ...(ref !== undefined ? { ref } : {}),
        ...(b.confirm ? { confirm: true } : {}),
        ...(b.force ? { force: true } : {}),
        ...(b.reason ? { reason: b.reason } : {}),
      });
      reply.code(201);
      return detail(project, created.id);
    },
  });

  api.delete('/projects/:project/deployments/:deployment', {
    schema: operation(
      {
        tags,
        summary: 'Cancel a deployment',
        description:
          'A waiting or queued deployment is cancelled at once; a running one is asked to stop, which it does before activation (after it, the cancel comes too late and it finishes).',
        scope: 'deployments:delete',
        role: 'deployer',
        action: 'cancel deployments',
      },
      { params: deploymentParams, response: { 200: oneDeployment } },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const { project, deployment } = request.params;
      const found = await records.detail(project, deployment);
      await deployments.cancel(actor, found.id);
      return detail(project, found.id);
    },
  });

  for (const decision of ['approve', 'reject'] as const) {
    api.post(`/projects/:project/deployments/:deployment/${decision}`, {
      schema: operation(
        {
          tags,
          summary: decision === 'approve' ? 'Approve a deployment' : 'Reject a deployment',
          description:
            'The same rules as the chat buttons: the approver role set on the environment, never the requester, one decision per person; one rejection ends the request.',
          scope: 'deployments:create',
          role: 'environment approver',
        },
        { params: deploymentParams, response: { 200: oneDeployment } },
      ),
      handler: async (request) => {
        const actor = actorOf(request);
        const { project, deployment } = request.params;
        const found = await records.detail(project, deployment);
        await deps.approvals.decide(actor, found.id, decision);
        return detail(project, found.id);
      },
    });
  }

  api.post('/projects/:project/environments/:environment/rollback', {
    schema: operation(
      {
        tags,
        summary: 'Roll an environment back',
        description:
          'Points `current` back to the release before the live one on every server, or to `release` (a release name, or `#42` for the release deployment 42 built; `deployment: 42` says the same). The target is checked on the servers first: when there is nothing to go back to, or the release is not kept on every server, the answer is 400 naming the releases that exist, and nothing is recorded.',
        scope: 'deployments:create',
        role: 'deployer',
        action: 'roll back',
      },
      {
        params: environmentParams,
        body: z
          .object({
            release: z
              .string()
              .refine(
                (value) => isReleaseName(value) || /^#\d{1,9}$/.test(value),
                'release must be a release name like 20260101120000-0000000042, or #42',
              )
              .optional(),
            deployment: z
              .number()
              .int()
              .min(1)
              .optional()
              .describe('The number of the deploy or promote whose release to go back to'),
          })
          .strict()
          .refine((b) => b.release === undefined || b.deployment === undefined, {
            path: ['deployment'],
            message: 'give release or deployment, not both',
          })
          .nullish()
          .describe('Optional'),
        response: { 201: oneDeployment },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const { project } = request.params;
      const environment = await environmentName(project, request.params.environment);
      const release =
        request.body?.release ??
        (request.body?.deployment !== undefined ? `#${request.body.deployment}` : undefined);
      const created = await deployments.requestRollback(actor, {
        project,
        environment,
        ...(release ? { release } : {}),
      });
      reply.code(201);
      return detail(project, created.id);
    },
  });

  const lockJson = z
    .object({
      environment: z.string(),
      holder: z.string(),
      reason: z.string().nullable(),
      since: timestamp,
      expires_at: nullableTimestamp,
    })
    .strict();

  api.post('/projects/:project/environments/:environment/lock', {
    schema: operation(
      {
        tags: ['Locks'],
        summary: 'Lock an environment',
        description: 'A locked environment refuses deploys and promotes by anyone but the holder.',
        scope: 'deployments:create',
        role: 'deployer',
        action: 'lock environments',
      },
      {
        params: environmentParams,
        body: z
          .object({
            reason: z.string().max(500).optional(),
            minutes: z
              .number()
              .int()
              .min(1, 'minutes must be at least 1')
              .max(43_200, 'minutes is at most 30 days')
              .optional(),
          })
          .strict()
          .nullish()
          .describe('Optional'),
        response: { 200: z.object({ lock: lockJson }).strict() },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const { project } = request.params;
      const environment = await environmentName(project, request.params.environment);
      const lock = await deps.locks.lock(actor, {
        project,
        environment,
        reason: request.body?.reason ?? null,
        minutes: request.body?.minutes ?? null,
      });
      return {
        lock: {
          environment: lock.environment,
          holder: lock.holder,
          reason: lock.reason,
          since: lock.since,
          expires_at: lock.expiresAt,
        },
      };
    },
  });

  api.delete('/projects/:project/environments/:environment/lock', {
    schema: operation(
      {
        tags: ['Locks'],
        summary: 'Unlock an environment',
        description: "The holder unlocks; an admin may break someone else's lock (recorded).",
        scope: 'deployments:create',
        role: 'deployer',
        action: 'unlock environments',
      },
      {
        params: environmentParams,
        response: {
          200: z.object({ broke: lockJson.nullable().describe("Someone else's lock, broken") }).strict(),
        },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      const { project } = request.params;
      const environment = await environmentName(project, request.params.environment);
      const { broke } = await deps.locks.unlock(actor, { project, environment });
      return {
        broke: broke
          ? {
              environment: broke.environment,
              holder: broke.holder,
              reason: broke.reason,
              since: broke.since,
              expires_at: broke.expiresAt,
            }
          : null,
      };
    },
  });
}
