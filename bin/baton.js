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
  let inCheckout = false;
  const builtEntry = new URL('../dist/cli/main.js', import.meta.url);
  void import('node:fs')
    .then((fs) => {
      inCheckout = fs.existsSync(sourceEntry);
      return import((inCheckout ? sourceEntry : builtEntry).href);
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
        process.stderr.write(cannotStart(error, inCheckout, builtEntry));
        process.exitCode = 1;
      },
    );
}

/**
 * What to say when the CLI cannot be loaded: a checkout without `npm install`, or a package
 * without its build, get what to do; anything else its stack.
 * @param {unknown} error
 * @param {boolean} inCheckout
 * @param {URL} builtEntry
 * @returns {string}
 */
function cannotStart(error, inCheckout, builtEntry) {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const root = decodeURIComponent(new URL('..', import.meta.url).pathname).replace(/\/$/, '');
  const dependency = /^Cannot find package '([^']+)'/.exec(message);
  if (code === 'ERR_MODULE_NOT_FOUND' && dependency !== null) {
    return inCheckout
      ? 'Baton cannot load its dependency ' +
          dependency[1] +
          ': this checkout has no node_modules yet.\n' +
          '  Run `npm install` in ' +
          root +
          ' once, then `npx baton …`.\n'
      : 'Baton cannot load its dependency ' +
          dependency[1] +
          ': the package in ' +
          root +
          ' is installed without it.\n' +
          '  Install it again with npm (`npm install`), which installs its dependencies too.\n';
  }
  if (code === 'ERR_MODULE_NOT_FOUND' && !inCheckout && message.includes(builtEntry.pathname)) {
    return (
      'Baton has no build in ' +
      root +
      ' (dist/cli/main.js is missing).\n' +
      '  Install it from a package made by `npm pack` (which builds dist/), or run `npm run build` there.\n'
    );
  }
  return 'error: ' + String(error instanceof Error ? error.stack : error) + '\n';
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
