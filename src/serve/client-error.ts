// Errors Node's HTTP parser meets before a request reaches a route: a request not received in full
// by the deadline (408), headers too large (431), bytes that are not HTTP (400). They are answered
// like every other error, JSON { error, code } naming the cause (fastify's default says only
// "Client Timeout" or "Client Error"), and the connection is closed.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError } from 'fastify';

export function clientErrorHandler(timeoutMs: number): (error: ConnectionError, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, code, message] = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', `the request was not received in full within ${timeoutMs} ms (the server's deadline)`]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts']
        : [400, 'BAD_HTTP', `the request is not well-formed HTTP (${error.code}: ${error.message})`];
    const body = JSON.stringify({ error: message, code });
    if (socket.writable) {
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy(error);
  };
}
