import { z } from 'zod';
import type { PipelineExecutionSnapshot } from '../../../core/notifications/index.js';
import {
  MAX_PAGE_SIZE,
  type PipelineDefinitionView,
  pipelineDefinitionSchema,
  writtenStep,
} from '../../../core/pipelines/index.js';
import { PIPELINE_STATUSES, PIPELINE_STEP_KINDS, PIPELINE_STEP_STATUSES } from '../../../vocabulary.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { apiSchemas } from '../registry.js';
import { type ApiInstance, operation } from '../route.js';
import { gitRef, projectParams, resourceName, timestamp } from '../schemas.js';

const stepJson = z.record(z.string(), z.record(z.string(), z.unknown())).describe('One key: the step type');
const pipelineJson = z
  .object({
    id: z.uuid(),
    project: z.string(),
    name: z.string(),
    stages: z.array(
      z
        .object({
          environment: z.string(),
          steps: z.array(stepJson).describe('In the order they run, the deploy included'),
        })
        .strict(),
    ),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .strict();
apiSchemas.add(pipelineJson, { id: 'Pipeline' });

function pipelineJsonOf(p: PipelineDefinitionView): z.output<typeof pipelineJson> {
  return {
    id: p.id,
    project: p.project,
    name: p.name,
    stages: p.stages.map((stage) => ({
      environment: stage.environment,
      steps: stage.steps.map((step) => writtenStep(step) as Record<string, Record<string, unknown>>),
    })),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

const isoTime = z.string().describe('ISO 8601');
const people = z.array(z.object({ user: z.string(), name: z.string().nullable() }).strict());
const executionJson = z
  .object({
    id: z.uuid(),
    run_nr: z.number().int().describe("The run's number within its pipeline"),
    pipeline: z.string(),
    project: z.string(),
    status: z.enum(PIPELINE_STATUSES).describe('`pending` also while waiting at a confirmation'),
    ref: z.string(),
    commit: z
      .object({ sha: z.string(), message: z.string().nullable(), author: z.string().nullable() })
      .strict(),
    requested_by: z.string(),
    source: z.string(),
    forced: z.boolean(),
    force_reason: z.string().nullable(),
    failure_reason: z.string().nullable(),
    created_at: isoTime,
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable(),
    waiting_for: z
      .object({ phase: z.string(), step_id: z.uuid(), role: z.string().nullable(), users: people })
      .strict()
      .nullable()
      .describe('The confirmation the run waits at'),
    phases: z.array(
      z
        .object({
          name: z.string(),
          environment: z.string(),
          status: z.enum(PIPELINE_STATUSES),
          steps: z.array(
            z
              .object({
                id: z.uuid(),
                type: z.enum(PIPELINE_STEP_KINDS),
                status: z.enum(PIPELINE_STEP_STATUSES),
                deployment: z
                  .object({ id: z.uuid(), number: z.number().int(), kind: z.string(), status: z.string() })
                  .strict()
                  .nullable(),
                role: z.string().nullable(),
                users: people,
                decided_by: z.string().nullable(),
                command: z.string().nullable(),
                host: z.string().nullable().describe("A webhook-trigger's host"),
                detail: z.string().nullable(),
                started_at: isoTime.nullable(),
                finished_at: isoTime.nullable(),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict();
apiSchemas.add(executionJson, { id: 'PipelineExecution' });

export function executionJsonOf(e: PipelineExecutionSnapshot): z.output<typeof executionJson> {
  const users = (list: { key: string; name: string | null }[]) =>
    list.map((u) => ({ user: u.key, name: u.name }));
  return {
    id: e.id,
    run_nr: e.runNumber,
    pipeline: e.pipeline,
    project: e.project,
    status: e.status,
    ref: e.ref,
    commit: { sha: e.commit, message: e.commitMessage, author: e.commitAuthor },
    requested_by: e.requestedBy,
    source: e.source,
    forced: e.forced,
    force_reason: e.forceReason,
    failure_reason: e.failureReason,
    created_at: e.createdAt,
    started_at: e.startedAt,
    finished_at: e.finishedAt,
    waiting_for: e.waitingFor
      ? {
          phase: e.waitingFor.phase,
          step_id: e.waitingFor.stepId,
          role: e.waitingFor.role,
          users: users(e.waitingFor.users),
        }
      : null,
    phases: e.phases.map((phase) => ({
      name: phase.name,
      environment: phase.environment,
      status: phase.status,
      steps: phase.steps.map((s) => ({
        id: s.id,
        type: s.type,
        status: s.status,
        deployment: s.deployment,
        role: s.role,
        users: users(s.users),
        decided_by: s.decidedBy,
        command: s.command,
        host: s.host,
        detail: s.detail,
        started_at: s.startedAt,
        finished_at: s.finishedAt,
      })),
    })),
  };
}

const pipelineParams = projectParams.extend({ pipeline: resourceName('pipeline') }).strict();
const executionParams = pipelineParams
  .extend({
    execution: z
      .string()
      .regex(/^(\d{1,9}|[0-9a-f-]{36})$/i, 'execution must be a run number or an execution id'),
  })
  .strict();
const tags = ['Pipelines'];

/** Escape's pipelines: definitions, executions (paged with page_size / page_from), confirmations. */
export function registerPipelineRoutes(api: ApiInstance, deps: ApiDeps): void {
  const base = '/projects/:project/pipelines';

  api.get(base, {
    schema: operation(
      { tags, summary: "List a project's pipelines", role: 'viewer' },
      { params: projectParams, response: { 200: z.array(pipelineJson) } },
    ),
    handler: async (request) => (await deps.pipelines.list(request.params.project)).map(pipelineJsonOf),
  });

  api.get(`${base}/:pipeline`, {
    schema: operation(
      { tags, summary: 'Get a pipeline: its stages and their steps', role: 'viewer' },
      { params: pipelineParams, response: { 200: pipelineJson } },
    ),
    handler: async (request) =>
      pipelineJsonOf(await deps.pipelines.get(request.params.project, request.params.pipeline)),
  });

  api.put(`${base}/:pipeline`, {
    schema: operation(
      {
        tags,
        summary: 'Create or replace a pipeline',
        description:
          "Stages in order, each naming the environment it deploys and its steps (one-key maps): `confirmation: {role}` or `{users: [platform:workspace:user, …]}`, `run-smoke: {command}`, `webhook-trigger: {url}`, and optionally `deploy: {}` to place the deploy (by default it comes after the stage's leading confirmations). A run under way keeps the steps it started with. Webhook bodies are signed (`X-Slipway-Signature: sha256=…`, HMAC-SHA256) with the pipeline's signing secret: give `signing_secret`, or one is generated and returned once, in `signing_secret` of the 201. Smoke commands on a `local` server run on the Slipway host: global admins only.",
        scope: 'projects:create',
        role: 'admin',
        action: 'change pipelines',
      },
      {
        params: pipelineParams,
        body: z
          .object({
            stages: z.array(z.unknown()),
            signing_secret: z
              .string()
              .min(16, 'signing_secret must be at least 16 characters')
              .max(500)
              .optional(),
          })
          .strict()
          .superRefine((body, ctx) => {
            const parsed = pipelineDefinitionSchema.safeParse({ stages: body.stages });
            if (parsed.success) return;
            for (const issue of parsed.error.issues)
              ctx.addIssue({ ...issue, code: 'custom', path: issue.path });
          }),
        response: {
          200: pipelineJson,
          201: pipelineJson.extend({ signing_secret: z.string().nullable() }).strict(),
        },
      },
    ),
    handler: async (request, reply) => {
      const { project, pipeline } = request.params;
      const saved = await deps.pipelines.save(
        actorOf(request),
        project,
        pipeline,
        { stages: request.body.stages as never },
        { signingSecret: request.body.signing_secret ?? null },
      );
      if (!saved.created) return pipelineJsonOf(saved.pipeline);
      reply.code(201);
      return { ...pipelineJsonOf(saved.pipeline), signing_secret: saved.signingSecret };
    },
  });

  api.delete(`${base}/:pipeline`, {
    schema: operation(
      {
        tags,
        summary: 'Delete a pipeline and its runs',
        scope: 'projects:delete',
        role: 'admin',
        action: 'delete pipelines',
      },
      { params: pipelineParams, response: { 204: z.undefined() } },
    ),
    handler: async (request, reply) => {
      await deps.pipelines.remove(actorOf(request), request.params.project, request.params.pipeline);
      return reply.code(204).send();
    },
  });

  api.post(`${base}/:pipeline/signing_secret`, {
    schema: operation(
      {
        tags,
        summary: "Rotate the pipeline's signing secret",
        description: 'The new secret (given, or generated) is returned once.',
        scope: 'projects:create',
        role: 'admin',
        action: 'change pipelines',
      },
      {
        params: pipelineParams,
        body: z
          .object({
            signing_secret: z
              .string()
              .min(16, 'signing_secret must be at least 16 characters')
              .max(500)
              .optional(),
          })
          .strict()
          .nullish(),
        response: { 200: z.object({ signing_secret: z.string() }).strict() },
      },
    ),
    handler: async (request) => ({
      signing_secret: await deps.pipelines.rotateSecret(
        actorOf(request),
        request.params.project,
        request.params.pipeline,
        request.body?.signing_secret,
      ),
    }),
  });

  api.post(`${base}/:pipeline/executions`, {
    schema: operation(
      {
        tags,
        summary: 'Run the pipeline for a commit',
        description:
          "Resolves `sha`, `branch` or `tag` (default: the first stage's branch) to one commit and deploys it stage by stage: each stage's deploy (the first deploys, later ones promote from the stage before), confirmations (Approve/Reject to the people they name; the one who started the run cannot confirm), smoke commands and webhooks. Every stage's test gate (`confirm` past `warn`; an admin's `force`) and freeze (an admin's `force` with a `reason`) are checked first. 400 when the pipeline is still running (one run at a time).",
        scope: 'deployments:create',
        role: 'deployer',
        action: 'run pipelines',
      },
      {
        params: pipelineParams,
        body: z
          .object({
            sha: z
              .string()
              .regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'sha must be a full 40-character lowercase commit id')
              .optional(),
            branch: gitRef('branch').optional(),
            tag: gitRef('tag').optional(),
            confirm: z.boolean().optional(),
            force: z.boolean().optional(),
            reason: z.string().min(1).max(500).optional(),
          })
          .strict()
          .refine((b) => [b.sha, b.branch, b.tag].filter((v) => v !== undefined).length <= 1, {
            path: ['tag'],
            message: 'give one of sha, branch or tag',
          })
          .nullish(),
        response: { 201: executionJson },
      },
    ),
    handler: async (request, reply) => {
      const b = request.body ?? {};
      const ref = b.sha ?? b.branch ?? b.tag;
      const started = await deps.executions.start(
        actorOf(request),
        request.params.project,
        request.params.pipeline,
        {
          ...(ref ? { ref } : {}),
          ...(b.confirm ? { confirm: true } : {}),
          ...(b.force ? { force: true } : {}),
          ...(b.reason ? { reason: b.reason } : {}),
        },
      );
      reply.code(201);
      return executionJsonOf(started);
    },
  });

  api.get(`${base}/:pipeline/executions`, {
    schema: operation(
      {
        tags,
        summary: "A pipeline's runs, newest first",
        description:
          "Escape's paging: at most `page_size` runs (default 20), each with a run number below `page_from`; `next_page_from` is what to pass for the next page (null on the last).",
        role: 'viewer',
      },
      {
        params: pipelineParams,
        querystring: z
          .object({
            page_size: z.coerce
              .number({ error: 'page_size must be a number' })
              .int('page_size must be a whole number')
              .min(1, `page_size must be between 1 and ${MAX_PAGE_SIZE}`)
              .max(MAX_PAGE_SIZE, `page_size must be between 1 and ${MAX_PAGE_SIZE}`)
              .default(20),
            page_from: z.coerce
              .number({ error: 'page_from must be a run number' })
              .int('page_from must be a run number')
              .min(1, 'page_from must be a run number')
              .optional(),
          })
          .strict(),
        response: {
          200: z
            .object({ executions: z.array(executionJson), next_page_from: z.number().int().nullable() })
            .strict(),
        },
      },
    ),
    handler: async (request) => {
      const page = await deps.executions.page(request.params.project, request.params.pipeline, {
        pageSize: request.query.page_size,
        ...(request.query.page_from !== undefined ? { pageFrom: request.query.page_from } : {}),
      });
      return { executions: page.executions.map(executionJsonOf), next_page_from: page.nextPageFrom };
    },
  });

  api.get(`${base}/:pipeline/executions/:execution`, {
    schema: operation(
      { tags, summary: 'Get a run (by run number or id): its phases and steps', role: 'viewer' },
      { params: executionParams, response: { 200: executionJson } },
    ),
    handler: async (request) => {
      const { project, pipeline, execution } = request.params;
      return executionJsonOf(await deps.executions.get(project, pipeline, execution));
    },
  });

  for (const decision of ['confirm', 'reject'] as const) {
    api.post(`${base}/:pipeline/executions/:execution/${decision}`, {
      schema: operation(
        {
          tags,
          summary: decision === 'confirm' ? 'Confirm the step a run waits at' : 'Reject it: the run fails',
          description:
            'The same rules as the chat buttons: the role the step names on the project, or one of the people it names; never the person who started the run.',
          scope: 'deployments:create',
          role: 'any',
        },
        { params: executionParams, response: { 200: executionJson } },
      ),
      handler: async (request) => {
        const { project, pipeline, execution } = request.params;
        const found = await deps.executions.get(project, pipeline, execution);
        return executionJsonOf(await deps.executions.decide(actorOf(request), found.id, decision));
      },
    });
  }
}
