#!/usr/bin/env node
// Installed entry point: runs the compiled CLI (npm run build). In a checkout, `npm start`
// and `npm run slipway -- <command>` run the TypeScript sources directly.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write(
    'slipway: dist/ is missing; run `npm run build` first (or use `npm start` in a checkout).\n',
  );
  process.exit(1);
}
await import(compiled.href);
