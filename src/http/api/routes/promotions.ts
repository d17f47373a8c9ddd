import { z } from 'zod';
import { COMMIT_BEHAVIOURS, COMMIT_STATUS_STATES, TEST_GATE_MODES } from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { type ApiInstance, operation } from '../route.js';
import {
  deploymentSummary,
  gitRef,
  projectParams,
  resourceName,
  summaryJson,
  tier,
  timestamp,
} from '../schemas.js';
import { deploymentJsonOf, oneDeployment } from './deployments.js';
import { environmentJson, environmentJsonOf, environmentParams } from './environments.js';

const combined = z.enum(['success', 'pending', 'failure', 'none']);
const statusesJson = z
  .object({
    commit: z.string(),
    state: combined.describe('Combined: any failure or error fails, else any pending is pending'),
    statuses: z.array(
      z
        .object({
          context: z.string(),
          state: z.enum(COMMIT_STATUS_STATES),
          description: z.string().nullable(),
          target_url: z.string().nullable(),
          reported_by: z.string(),
          updated_at: timestamp,
        })
        .strict(),
    ),
  })
  .strict();

const tags = ['Promotions'];

/** The promotion platform's environment actions: clone, commit behaviour, build, promote, pipeline. */
export function registerPromotionRoutes(api: ApiInstance, deps: ApiDeps): void {
  api.post('/projects/:project/environments/:environment/clone', {
    schema: operation(
      {
        tags,
        summary: 'Clone an environment onto a new branch (a review app)',
        description:
          "The clone copies the commit behaviour and the approval policy. It gets the servers named in `servers` and none otherwise: environments that share a server share its deploy path, so a clone on the source's servers would replace the source's release. With `autoDestroy`, stopping it deletes it.",
        scope: 'environments:create',
        role: 'deployer',
        action: 'clone environments',
      },
      {
        params: environmentParams,
        body: z
          .object({
            targetBranch: gitRef('targetBranch'),
            name: resourceName('name').optional(),
            targetType: tier.optional().describe('The tier of the clone (default development)'),
            autoDestroy: z.boolean().optional(),
            servers: z.array(z.string().min(1).max(100)).max(1000).optional(),
          })
          .strict(),
        response: { 201: environmentJson },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const b = request.body;
      const clone = await deps.reviewApps.clone(actor, request.params.project, request.params.environment, {
        targetBranch: b.targetBranch,
        name: b.name,
        targetType: b.targetType,
        autoDestroy: b.autoDestroy,
        servers: b.servers,
      });
      reply.code(201);
      return environmentJsonOf(clone);
    },
  });

  api.put('/projects/:project/environments/:environment/commit_behavior', {
    schema: operation(
      {
        tags,
        summary: 'Set how the environment handles new commits',
        description:
          '`do_nothing`: a manual build (or deploy) builds pending commits; `create_new_build`: each push deploys; `update_previous_build`: a push replaces the queued deployment.',
        scope: 'environments:create',
        role: 'admin',
        action: 'change environments',
      },
      {
        params: environmentParams,
        body: z
          .object({
            behavior: z.enum(COMMIT_BEHAVIOURS, {
              error: `behavior must be one of ${COMMIT_BEHAVIOURS.join(', ')}`,
            }),
          })
          .strict(),
        response: { 200: environmentJson },
      },
    ),
    handler: async (request) => {
      const actor = actorOf(request);
      return environmentJsonOf(
        await deps.environments.setCommitBehaviour(
          actor,
          request.params.project,
          request.params.environment,
          request.body.behavior,
        ),
      );
    },
  });

  api.post('/projects/:project/environments/:environment/build', {
    schema: operation(
      {
        tags,
        summary: 'Trigger a manual build of pending commits',
        description:
          "For `do_nothing` environments: deploys the head of the environment's branch, through the test gate like any deploy (`confirm`, an admin's `force`). 400 when that commit is already live, or for other commit behaviours.",
        scope: 'deployments:create',
        role: 'deployer',
        action: 'build',
      },
      {
        params: environmentParams,
        body: z
          .object({
            confirm: z.boolean().optional().describe('Go on past a `warn` test gate'),
            force: z.boolean().optional().describe('Admins: skip the test gate (audited)'),
          })
          .strict()
          .nullish()
          .describe('Optional'),
        response: { 202: oneDeployment },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const { project } = request.params;
      const deployment = await deps.promotions.manualBuild(actor, project, request.params.environment, {
        ...(request.body?.confirm ? { confirm: true } : {}),
        ...(request.body?.force ? { force: true } : {}),
      });
      reply.code(202);
      return { deployment: deploymentJsonOf(await deps.records.detail(project, deployment.id)) };
    },
  });

  api.post('/projects/:project/environments/:environment/promote', {
    schema: operation(
      {
        tags,
        summary: 'Promote or demote: deploy what is live here to the environment at another stage',
        description:
          'Deploys exactly the commit live on this environment to the environment whose tier is `targetStage` (name it with `target` when there are several), through its lock, run slot and approvals. Promoting to staging or production passes the test gate: `block` refuses a commit without passing tests (400); `warn` needs `confirm: true`. `forcePromote` skips the test gate: admins only (403 otherwise), recorded in the audit log.',
        scope: 'deployments:create',
        role: 'deployer',
        action: 'promote',
      },
      {
        params: environmentParams,
        body: z
          .object({
            targetStage: tier,
            target: resourceName('target').optional(),
            forcePromote: z.boolean().optional(),
            confirm: z.boolean().optional(),
            reason: z
              .string()
              .min(1)
              .max(500)
              .optional()
              .describe('Why it is forced: with forcePromote, it goes through a freeze of the target'),
          })
          .strict(),
        response: {
          202: oneDeployment
            .extend({
              direction: z.enum(['promote', 'demote', 'lateral']),
              from: z.string(),
              to: z.string(),
              forced: z.boolean(),
              test_gate: z
                .object({ mode: z.enum(TEST_GATE_MODES).nullable(), state: combined, message: z.string() })
                .strict(),
            })
            .strict(),
        },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const { project } = request.params;
      const b = request.body;
      const outcome = await deps.promotions.promote(actor, project, request.params.environment, {
        targetStage: b.targetStage,
        target: b.target,
        forcePromote: b.forcePromote,
        confirm: b.confirm,
        ...(b.reason ? { reason: b.reason } : {}),
      });
      reply.code(202);
      return {
        deployment: deploymentJsonOf(await deps.records.detail(project, outcome.deployment.id)),
        direction: outcome.direction,
        from: outcome.from,
        to: outcome.to,
        forced: outcome.forced,
        test_gate: { mode: outcome.gate.mode, state: outcome.gate.state, message: outcome.gate.message },
      };
    },
  });

  api.get('/projects/:project/pipeline', {
    schema: operation(
      {
        tags,
        summary: 'Pipeline data: stages with their environments, what is live, recent deployments',
        description:
          "With an Escape pipeline (the first by name, or `pipeline`), the stages are its stages in order, each with its environment, its steps and the pipeline's latest run; without one, the environments grouped by tier. `live_commit` and `live_release` are what `current` points at (rollbacks included).",
        role: 'viewer',
      },
      {
        params: projectParams,
        querystring: z
          .object({
            recentDeployments: z.coerce
              .number({ error: 'recentDeployments must be a number' })
              .int('recentDeployments must be a whole number')
              .min(1, 'recentDeployments must be between 1 and 10')
              .max(10, 'recentDeployments must be between 1 and 10')
              .default(1),
            pipeline: resourceName('pipeline').optional(),
          })
          .strict(),
        response: {
          200: z
            .object({
              project: z.string(),
              testGates: z
                .object({ staging: z.enum(TEST_GATE_MODES), production: z.enum(TEST_GATE_MODES) })
                .strict(),
              pipeline: z
                .object({
                  name: z.string(),
                  pipelines: z.array(z.string()),
                  latest_execution: z
                    .object({
                      id: z.uuid(),
                      run_nr: z.number().int(),
                      status: z.string(),
                      commit: z.string(),
                    })
                    .strict()
                    .nullable(),
                })
                .strict()
                .nullable(),
              stages: z.array(
                z
                  .object({
                    stage: z.string().describe('A tier, or a pipeline stage (its environment)'),
                    environments: z.array(
                      z
                        .object({
                          id: z.uuid(),
                          name: z.string(),
                          tier,
                          branch: z.string(),
                          state: z.string(),
                          live_commit: z.string().nullable(),
                          live_release: z.string().nullable(),
                          test_status: combined.nullable(),
                          locked: z.boolean(),
                          recent_deployments: z.array(deploymentSummary),
                        })
                        .strict(),
                    ),
                    steps: z.array(
                      z
                        .object({
                          type: z.string(),
                          role: z.string().nullable(),
                          users: z.array(z.string()),
                          command: z.string().nullable(),
                          host: z.string().nullable(),
                        })
                        .strict(),
                    ),
                  })
                  .strict(),
              ),
            })
            .strict(),
        },
      },
    ),
    handler: async (request) => {
      const data = await deps.pipeline.pipeline(
        request.params.project,
        request.query.recentDeployments,
        request.query.pipeline,
      );
      const latest = data.pipeline?.latest;
      return {
        project: data.project,
        testGates: data.testGates,
        pipeline: data.pipeline
          ? {
              name: data.pipeline.name,
              pipelines: data.pipeline.pipelines,
              latest_execution: latest
                ? { id: latest.id, run_nr: latest.runNumber, status: latest.status, commit: latest.commit }
                : null,
            }
          : null,
        stages: data.stages.map((stage) => ({
          stage: stage.stage,
          environments: stage.environments.map((e) => ({
            id: e.id,
            name: e.name,
            tier: e.tier,
            branch: e.branch,
            state: e.state,
            live_commit: e.liveCommit,
            live_release: e.liveRelease,
            test_status: e.testStatus,
            locked: e.locked,
            recent_deployments: e.recentDeployments.map(summaryJson),
          })),
          steps: stage.steps,
        })),
      };
    },
  });

  const shaParams = projectParams
    .extend({ sha: z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'sha must be a full commit id') })
    .strict();
  const statusesOf = (s: Awaited<ReturnType<typeof deps.statuses.list>>) => ({
    commit: s.commit,
    state: s.state,
    statuses: s.statuses.map((row) => ({
      context: row.context,
      state: row.state,
      description: row.description,
      target_url: row.targetUrl,
      reported_by: row.reportedBy,
      updated_at: row.updatedAt,
    })),
  });

  api.get('/projects/:project/commits/:sha/statuses', {
    schema: operation(
      { tags, summary: "A commit's test results, as test gates read them", role: 'viewer' },
      { params: shaParams, response: { 200: statusesJson } },
    ),
    handler: async (request) => {
      return statusesOf(await deps.statuses.list(request.params.project, request.params.sha));
    },
  });

  api.post('/projects/:project/commits/:sha/statuses', {
    schema: operation(
      {
        tags,
        summary: "Report a commit's test result (from CI)",
        description:
          "GitHub's commit statuses: one state per `context`; the latest report for a context wins.",
        scope: 'deployments:create',
        role: 'deployer',
        action: 'report test results',
      },
      {
        params: shaParams,
        body: z
          .object({
            state: z.enum(COMMIT_STATUS_STATES, {
              error: `state must be one of ${COMMIT_STATUS_STATES.join(', ')}`,
            }),
            context: z
              .string()
              .regex(
                /^[A-Za-z0-9][A-Za-z0-9 ._/:-]{0,99}$/,
                'context must be 1 to 100 letters, digits, spaces or . _ / : -',
              )
              .optional(),
            description: z.string().max(1000).nullable().optional(),
            target_url: z.url({ error: 'target_url must be a URL' }).max(2000).nullable().optional(),
          })
          .strict(),
        response: { 201: statusesJson },
      },
    ),
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const b = request.body;
      const result = await deps.statuses.report(actor, request.params.project, request.params.sha, {
        state: b.state,
        context: b.context,
        description: b.description,
        targetUrl: b.target_url,
      });
      reply.code(201);
      return statusesOf(result);
    },
  });
}
