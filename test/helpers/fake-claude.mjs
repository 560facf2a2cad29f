#!/usr/bin/env node
/**
 * A fake `claude` (Claude Code) for tests: takes the arguments of
 * `claude -p --output-format stream-json --verbose [--model M] [--max-budget-usd X] [--max-turns N]
 * [--mcp-config F]`, reads its prompt from stdin, does what the prompt's `fake:` directives say
 * (fake-agent-lib.mjs), and writes stream-json in the shape of the real transcript in
 * ../shared/fixtures/claude-code-stream-json.jsonl: `system/init`, `assistant` lines whose usage is
 * the opening snapshot (output_tokens 1), `user` tool results, and one `result` line with the
 * totals (`total_cost_usd`, per-model `modelUsage` with `costUSD`).
 */
import { randomUUID } from 'node:crypto';

import {
  directives,
  emit,
  mcpClient,
  processDirective,
  readPrompt,
  recordStart,
  unionConflict,
  unmetNeed,
  writeFile,
} from './fake-agent-lib.mjs';

/** USD per million tokens (input, output), as list prices. */
const PRICES = {
  'claude-sonnet-4-5': [3, 15],
  'claude-haiku-4-5': [1, 5],
  'claude-opus-4-1': [15, 75],
};

const argv = process.argv.slice(2);
const flag = (name) => {
  const at = argv.indexOf(name);
  return at === -1 ? undefined : argv[at + 1];
};
if (
  !argv.includes('-p') ||
  flag('--output-format') !== 'stream-json' ||
  !argv.includes('--verbose')
) {
  process.stderr.write(
    'Error: When using --print, --output-format=stream-json requires --verbose\n',
  );
  process.exit(1);
}
const model = flag('--model') ?? 'claude-sonnet-4-5';
const maxBudget =
  flag('--max-budget-usd') === undefined ? undefined : Number(flag('--max-budget-usd'));
const session = randomUUID();
const prompt = readPrompt();
recordStart(prompt);

emit({
  type: 'system',
  subtype: 'init',
  cwd: process.cwd(),
  session_id: session,
  tools: ['Task', 'Bash', 'Edit', 'Read', 'Write'],
  mcp_servers: flag('--mcp-config') === undefined ? [] : [{ name: 'baton', status: 'connected' }],
  model,
  permissionMode: 'default',
  apiKeySource: 'ANTHROPIC_API_KEY',
  claude_code_version: '2.1.337',
  uuid: randomUUID(),
});

let tokens = [1000, 500];
let subtype = 'success';
let withResult = true;
let exitCode = 0;
const subagents = [];
let turns = 0;
let lastText = '';
let message = 0;
let mcp;

function assistant(content) {
  message += 1;
  turns += 1;
  emit({
    type: 'assistant',
    message: {
      id: `msg_${message}`,
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: null,
      stop_sequence: null,
      // The stream's opening snapshot, as the real CLI writes it: not the message's final count.
      usage: {
        input_tokens: tokens[0],
        output_tokens: 1,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    },
    parent_tool_use_id: null,
    session_id: session,
    uuid: randomUUID(),
  });
}

const steps = directives(prompt);
if (!steps.some((s) => s.verb === 'say')) steps.push({ verb: 'say', rest: 'Hello from fake' });
for (const { verb, rest } of steps) {
  switch (verb) {
    case 'say':
      assistant([{ type: 'text', text: rest }]);
      lastText = rest;
      break;
    case 'write': {
      const id = `toolu_${message + 1}`;
      const { path, content } = {
        path: rest.split(' ')[0],
        content: rest.split(' ').slice(1).join(' '),
      };
      assistant([{ type: 'tool_use', id, name: 'Write', input: { file_path: path, content } }]);
      writeFile(rest);
      emit({
        type: 'user',
        message: {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: id,
              content: `File created successfully at: ${path}`,
            },
          ],
        },
        session_id: session,
        uuid: randomUUID(),
      });
      break;
    }
    case 'need-file': {
      const why = unmetNeed(rest);
      if (why !== null) {
        process.stderr.write(`fake claude: ${why}\n`);
        process.exit(3);
      }
      break;
    }
    case 'union':
      if (!unionConflict(rest.trim())) {
        process.stderr.write(`fake claude: no conflict markers in ${rest.trim()}\n`);
        process.exit(3);
      }
      break;
    case 'result':
      subtype = rest.trim();
      break;
    case 'tokens':
      tokens = rest.split(' ').map(Number);
      break;
    case 'subagent':
      subagents.push(rest.trim());
      break;
    case 'no-result':
      withResult = false;
      break;
    case 'stderr':
      process.stderr.write(`${rest}\n`);
      break;
    case 'exit':
      exitCode = Number(rest);
      break;
    case 'need': {
      // Succeeds only when the prompt (not counting the directives) holds this text: an
      // agent that gets it right first time only when the expertise told it how.
      const told = prompt
        .split('\n')
        .filter((line) => !/^\s*fake:/.test(line))
        .join('\n');
      if (!told.includes(rest.trim())) {
        subtype = 'error_during_execution';
        lastText = `did not know: ${rest.trim()}`;
      }
      break;
    }
    case 'mcp': {
      const configPath = flag('--mcp-config');
      if (configPath === undefined) {
        process.stderr.write('fake: mcp needs --mcp-config\n');
        process.exit(1);
      }
      mcp ??= await mcpClient(configPath);
      const [tool, ...json] = rest.split(' ');
      const input = json.length === 0 ? {} : JSON.parse(json.join(' '));
      const id = `toolu_${message + 1}`;
      assistant([{ type: 'tool_use', id, name: `mcp__baton__${tool}`, input }]);
      const answer = await mcp.callTool({ name: tool, arguments: input });
      const text = /** @type {{ text?: string }[]} */ (answer.content)
        .map((c) => c.text ?? '')
        .join('\n');
      emit({
        type: 'user',
        message: {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: id,
              content: text,
              is_error: answer.isError === true,
            },
          ],
        },
        session_id: session,
        uuid: randomUUID(),
      });
      if (answer.isError === true) {
        process.stderr.write(`${tool}: ${text}\n`);
        await mcp.close();
        process.exit(1);
      }
      break;
    }
    default:
      await processDirective(verb, rest);
  }
}
await mcp?.close();

function usageOf(name, input, output) {
  const [pin, pout] = PRICES[name] ?? [3, 15];
  const costUSD = (input * pin + output * pout) / 1e6;
  return {
    inputTokens: input,
    outputTokens: output,
    cacheReadInputTokens: 0,
    cacheCreationInputTokens: 0,
    webSearchRequests: 0,
    costUSD,
    contextWindow: 200000,
    maxOutputTokens: 32000,
    thinkingTokens: 0,
    canonicalModel: name,
    provider: 'firstParty',
    costBasis: 'list',
  };
}

if (withResult) {
  const modelUsage = { [model]: usageOf(model, tokens[0], tokens[1]) };
  for (const sub of subagents) modelUsage[sub] = usageOf(sub, 100, 50);
  const total = Object.values(modelUsage).reduce((sum, u) => sum + u.costUSD, 0);
  if (maxBudget !== undefined && total > maxBudget && subtype === 'success')
    subtype = 'error_max_budget_usd';
  const isError = subtype !== 'success';
  emit({
    duration_api_ms: 211,
    stop_reason: 'end_turn',
    session_id: session,
    total_cost_usd: total,
    usage: {
      input_tokens: tokens[0],
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: tokens[1],
    },
    modelUsage,
    permission_denials: [],
    is_error: isError || subtype === 'is_error',
    num_turns: Math.max(1, turns),
    subtype: subtype === 'is_error' ? 'success' : subtype,
    ...(isError && subtype !== 'is_error'
      ? { errors: [`stopped: ${subtype}`] }
      : { result: lastText }),
    ...(subtype === 'is_error' ? { result: 'API Error: 500 internal server error' } : {}),
    type: 'result',
    duration_ms: 849,
    uuid: randomUUID(),
  });
}
process.exitCode = exitCode;
