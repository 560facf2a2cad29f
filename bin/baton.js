#!/usr/bin/env node
// The `baton` command. From a checkout, Node 24 runs the TypeScript sources directly (type
// stripping); a published package ships the compiled `dist/` instead.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const entry = existsSync(source) ? source : new URL('../dist/cli/main.js', import.meta.url);
/** @type {unknown} */
const cli = await import(entry.href);
const { main } = /** @type {{ main: (argv: readonly string[]) => Promise<number> }} */ (cli);
// exitCode rather than exit(): output still buffered in a pipe is flushed before the end.
process.exitCode = await main(process.argv);
