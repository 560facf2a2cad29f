/**
 * A TCP proxy on loopback between a client and a server, to lose replies on purpose: in
 * `drop-replies` mode the client's bytes still reach the server (its commands run) but the
 * server's answers are thrown away, and `cut()` then closes every connection, as a network
 * failure would after a request arrived and before its reply did.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  /** `pass`: forward both ways. `drop-replies`: forward requests, discard what the server sends. */
  mode: 'pass' | 'drop-replies';
  /** Close every open connection, both sides; new connections are accepted as before. */
  cut(): void;
  /** Stop listening and close every connection. */
  close(): Promise<void>;
}

/** Listen on a free loopback port and forward each connection to 127.0.0.1:targetPort. */
export async function startProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const proxy: { mode: TcpProxy['mode'] } = { mode: 'pass' };
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (proxy.mode === 'pass') client.write(chunk);
    });
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const cut = (): void => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port: address.port,
    get mode() {
      return proxy.mode;
    },
    set mode(value) {
      proxy.mode = value;
    },
    cut,
    close() {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
