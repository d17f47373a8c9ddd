import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredApiRoutes } from '../../src/http/api/index.js';
import { API_SCOPES } from '../../src/vocabulary.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ApiStack, startApiStack } from './api-harness.js';

type Operation = { security?: { bearerAuth: string[] }[]; responses: Record<string, unknown> };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

describe('OpenAPI 3.1 document and docs page', () => {
  let database: TestDatabase;
  let api: ApiStack;
  let document: Document;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiStack(database);
    const reply = await api.call<Document>('GET', '/api/openapi.json');
    expect(reply.status).toBe(200);
    document = reply.body;
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toBe('3.1.0');
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
  });

  it('describes every registered API route, with its scope and error responses', () => {
    const routes = registeredApiRoutes(api.slipway.http);
    expect(routes.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const route of routes) {
      const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
      const operation = document.paths[path]?.[route.method.toLowerCase()];
      if (!operation) {
        missing.push(`${route.method} ${path}`);
        continue;
      }
      expect(operation.security, path).toBeDefined();
      const scope = operation.security![0]!.bearerAuth[0];
      if (route.method === 'GET') expect(scope, `${route.method} ${path}`).toBeUndefined();
      else if (scope) expect(API_SCOPES).toContain(scope);
      for (const status of ['401', '403', '404', '422', '429']) {
        expect(operation.responses[status], `${route.method} ${path} ${status}`).toBeDefined();
      }
    }
    expect(missing).toEqual([]);
    // And nothing documented that is not a route (the docs page and the document itself are hidden).
    const documented = Object.entries(document.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const registered = new Set(routes.map((r) => `${r.method} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`));
    expect(documented.filter((op) => !registered.has(op))).toEqual([]);
  });

  it('documents every scope on at least one operation', () => {
    const used = new Set(
      Object.values(document.paths).flatMap((ops) =>
        Object.values(ops).flatMap((op) => op.security?.[0]?.bearerAuth ?? []),
      ),
    );
    for (const scope of API_SCOPES) expect(used, scope).toContain(scope);
  });

  it('serves the docs page and its assets from this machine', async () => {
    const page = await api.call('GET', '/docs/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('swagger-ui');
    const scripts = [...page.text.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) {
      expect(script).not.toMatch(/^https?:/);
      const url = script.startsWith('/') ? script : `/docs/${script.replace(/^\.\//, '')}`;
      expect((await api.call('GET', url)).status, url).toBe(200);
    }
    const initializer = await api.call('GET', '/docs/static/swagger-initializer.js');
    expect(initializer.status).toBe(200);
    expect((await api.call('GET', '/docs/json')).status).toBe(200);
  });
});
