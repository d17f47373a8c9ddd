import { z } from 'zod';

/**
 * The API's named schemas (they become `components/schemas` in the OpenAPI document). A
 * registry of our own, so nothing else registered in zod's global registry leaks into it.
 */
export const apiSchemas = z.registry<{ id: string; description?: string }>();
