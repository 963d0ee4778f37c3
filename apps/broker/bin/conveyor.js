#!/usr/bin/env node
// The `conveyor` command. A committed stub (not dist/cli.js itself) so that `npm ci` can link the
// bin before anything is built; it runs the built CLI (`npm run build` first).
import '../dist/cli.js';
