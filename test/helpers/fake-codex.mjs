#!/usr/bin/env node
/**
 * A fake `codex` (OpenAI Codex CLI) for tests: takes `codex exec --json [--model M] -`, reads the
 * prompt from stdin, does what its `fake:` directives say (fake-agent-lib.mjs), and writes the
 * JSONL events of `codex exec --json`: thread.started, turn.started, item.completed
 * (agent_message, command_execution, file_change), and turn.completed with token usage and no
 * cost (or turn.failed).
 */
import { randomUUID } from 'node:crypto';

import {
  directives,
  emit,
  processDirective,
  readPrompt,
  recordStart,
  writeFile,
} from './fake-agent-lib.mjs';

const argv = process.argv.slice(2);
if (argv[0] !== 'exec' || !argv.includes('--json') || argv.at(-1) !== '-') {
  process.stderr.write(`fake codex: expected exec --json … -, got ${argv.join(' ')}\n`);
  process.exit(2);
}
const prompt = readPrompt();
recordStart(prompt);
emit({ type: 'thread.started', thread_id: randomUUID() });
emit({ type: 'turn.started' });

let tokens = [1200, 300];
let failed = null;
let exitCode = 0;
let item = 0;
const steps = directives(prompt);
if (!steps.some((s) => s.verb === 'say')) steps.push({ verb: 'say', rest: 'Done.' });
for (const { verb, rest } of steps) {
  switch (verb) {
    case 'say':
      emit({
        type: 'item.completed',
        item: { id: `item_${item++}`, type: 'agent_message', text: rest },
      });
      break;
    case 'write': {
      const { path } = writeFile(rest);
      emit({
        type: 'item.completed',
        item: {
          id: `item_${item++}`,
          type: 'command_execution',
          command: `bash -lc 'cat > ${path}'`,
          aggregated_output: '',
          exit_code: 0,
          status: 'completed',
        },
      });
      emit({
        type: 'item.completed',
        item: {
          id: `item_${item++}`,
          type: 'file_change',
          changes: [{ path, kind: 'add' }],
          status: 'completed',
        },
      });
      break;
    }
    case 'tokens':
      tokens = rest.split(' ').map(Number);
      break;
    case 'result':
      failed = rest.trim();
      break;
    case 'stderr':
      process.stderr.write(`${rest}\n`);
      break;
    case 'exit':
      exitCode = Number(rest);
      break;
    default:
      await processDirective(verb, rest);
  }
}
if (failed !== null) {
  emit({ type: 'turn.failed', error: { message: `stream error: ${failed}` } });
  process.exitCode = 1;
} else {
  emit({
    type: 'turn.completed',
    usage: { input_tokens: tokens[0], cached_input_tokens: 200, output_tokens: tokens[1] },
  });
  process.exitCode = exitCode;
}
