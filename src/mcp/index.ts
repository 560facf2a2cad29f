/** Baton's MCP tool server (docs/mcp.md): one definition of the tools, two transports. */
export {
  writeMcpConfig,
  type McpAttempt,
  type McpConfigFile,
  type McpConfigOptions,
} from './config.ts';
export { ToolError, type ToolErrorCode } from './errors.ts';
export {
  ALL_SCOPES,
  isAttemptToken,
  mintAttemptToken,
  resolveMcpKey,
  verifyAttemptToken,
  type AttemptGrant,
  type McpCaller,
  type McpScope,
} from './identity.ts';
export { QUERY_LIMITS, QUERY_VIEWS, QueryRunner } from './query.ts';
export { FILE_LIMITS, Sandbox } from './sandbox.ts';
export {
  callerFromEnv,
  checkGrantNamespace,
  HttpSessions,
  openQueryRunner,
  serveStdio,
} from './server.ts';
export { createMcpServer, errorResult, type ToolContext } from './tools.ts';
