// Fails the run at once, with the same clear message as the program, under an old Node.
import '../../src/node-version-check.js';
