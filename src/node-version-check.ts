/**
 * Imported first by every entry point. The system Node on many machines is older than what
 * Slipway is built for; failing here with a clear message beats a confusing crash later.
 */
const MINIMUM_MAJOR = 22;
const major = Number(process.versions.node.split('.')[0]);
if (major < MINIMUM_MAJOR) {
  process.stderr.write(
    `Slipway needs Node ${MINIMUM_MAJOR} or newer (Node 24 LTS recommended); this is Node ${process.versions.node}.\n` +
      'Run it through npm (npm start, npm test), which uses the Node 24 installed in node_modules,\n' +
      'or put it first on PATH: export PATH=$PWD/node_modules/.bin:$PATH\n',
  );
  process.exit(1);
}

export {};
