#!/usr/bin/env node
// The `lowbit` executable (package.json "bin"): see main.ts.

import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
