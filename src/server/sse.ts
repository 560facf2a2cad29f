/**
 * Server-Sent Events: a response that writes items as they come, with a keep-alive comment, until
 * they end, the client goes away or the server closes (which aborts every open stream).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

import { BatonError } from '../core/errors.ts';

const SSE_KEEPALIVE_MS = 15_000;

/**
 * Answer the request with an event stream of `open`'s items: `frame` turns an item into its SSE
 * text (null skips it); `end`, when the items ran out by themselves, is written last. A failure
 * is written as an `error` event with its code. `streams` holds the controller of every open
 * stream, so closing the server can end them.
 */
export async function streamSse<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  streams: Set<AbortController>,
  open: (signal: AbortSignal) => AsyncIterable<T>,
  frame: (item: T) => string | null,
  end?: () => string,
): Promise<void> {
  const controller = new AbortController();
  streams.add(controller);
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...(reply.getHeader('access-control-allow-origin') === undefined
      ? {}
      : { 'access-control-allow-origin': String(reply.getHeader('access-control-allow-origin')) }),
  });
  raw.write(': baton event stream\n\n');
  const stop = (): void => controller.abort();
  request.raw.socket.once('close', stop);
  // A write racing the client's disconnect errors the response; that only ends the stream.
  raw.on('error', stop);
  const keepalive = setInterval(() => {
    if (!raw.destroyed) raw.write(': keepalive\n\n');
  }, SSE_KEEPALIVE_MS);
  try {
    for await (const item of open(controller.signal)) {
      if (raw.destroyed) break;
      const text = frame(item);
      if (text === null) continue;
      const ok = raw.write(text);
      if (!ok && !controller.signal.aborted) {
        await new Promise<void>((resolve) => {
          raw.once('drain', resolve);
          controller.signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
    }
    if (end !== undefined && !controller.signal.aborted && !raw.destroyed) raw.write(end());
  } catch (error) {
    if (!controller.signal.aborted) {
      const status = error instanceof BatonError ? error.code : 'BATON_INTERNAL';
      raw.write(`event: error\ndata: ${JSON.stringify({ code: status })}\n\n`);
      request.log.error({ err: error }, 'event stream failed');
    }
  } finally {
    clearInterval(keepalive);
    request.raw.socket.off('close', stop);
    streams.delete(controller);
    raw.end();
  }
}
