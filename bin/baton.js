#!/usr/bin/env node
// The `baton` command. From a checkout, Node 24 runs the TypeScript sources directly (type
// stripping); a published package ships the compiled `dist/` instead.
//
// The Node.js version is checked first, before anything else is imported: on an older Node the
// sources cannot load (`.ts` files, `node:sqlite`), and a person should be told what to do
// rather than shown a loader error. So this file has no static import (imports are hoisted and
// would run before the check), no top-level await, and no syntax newer than old Nodes parse.

const MIN_NODE_MAJOR = 24;
const nodeVersion = process.versions.node;
const sourceEntry = new URL('../src/cli/main.ts', import.meta.url);

if (Number(nodeVersion.split('.')[0]) < MIN_NODE_MAJOR) {
  void import('fs')
    .then(
      (fs) => fs.existsSync(sourceEntry),
      () => false,
    )
    .then((inCheckout) => {
      process.stderr.write(nodeTooOld(inCheckout, process.argv.slice(2)));
      process.exitCode = 1;
    });
} else {
  void import('node:fs')
    .then((fs) => {
      const entry = fs.existsSync(sourceEntry)
        ? sourceEntry
        : new URL('../dist/cli/main.js', import.meta.url);
      return import(entry.href);
    })
    .then((/** @type {{ main: (argv: readonly string[]) => Promise<number> }} */ cli) =>
      cli.main(process.argv),
    )
    .then(
      (code) => {
        // exitCode rather than exit(): output still buffered in a pipe is flushed before the end.
        process.exitCode = code;
      },
      (/** @type {unknown} */ error) => {
        process.stderr.write(
          'error: ' + String(error instanceof Error ? error.stack : error) + '\n',
        );
        process.exitCode = 1;
      },
    );
}

/**
 * What to say on a Node.js older than MIN_NODE_MAJOR, and what to do about it.
 * @param {boolean} inCheckout this is a clone of Baton's repository, not an installed package
 * @param {string[]} args the arguments baton was given, to show the command to run instead
 * @returns {string}
 */
function nodeTooOld(inCheckout, args) {
  const want = 'Node.js ' + MIN_NODE_MAJOR;
  const shown = args
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : "'" + arg.replace(/'/g, "'\\''") + "'"))
    .join(' ');
  const lines = [
    'Baton needs ' + want + ' or newer; you have ' + nodeVersion + ' (' + process.execPath + ').',
  ];
  if (inCheckout) {
    lines.push(
      '  In this checkout, run `npm install` once, then `npx baton' +
        (shown === '' ? ' …' : ' ' + shown) +
        '`:',
      '  npx runs baton on the ' + want + ' that npm installs here as a dev dependency.',
      '  Or install ' +
        want +
        ' or newer (https://nodejs.org/en/download, or `nvm install ' +
        MIN_NODE_MAJOR +
        '`).',
    );
  } else {
    lines.push(
      '  Install ' +
        want +
        ' or newer (https://nodejs.org/en/download, or `nvm install ' +
        MIN_NODE_MAJOR +
        '`)',
      '  and run baton with it, e.g. `nvm exec ' +
        MIN_NODE_MAJOR +
        ' npx baton' +
        (shown === '' ? ' …' : ' ' + shown) +
        '`.',
    );
  }
  return lines.join('\n') + '\n';
}
