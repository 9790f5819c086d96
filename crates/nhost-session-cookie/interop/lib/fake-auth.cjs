'use strict';
// A minimal stand-in for the Nhost auth service on 127.0.0.1, for the calls the SDKs make in
// these scenarios: sign-in answers `{session, mfa: null}`, `POST /v1/token` answers a bare
// session after checking the refresh token it receives (rotation: only the expected one works).

const http = require('node:http');

function startFakeAuth({ signInSession, refreshSession, expectedRefreshToken }) {
  const received = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      let json = null;
      try {
        json = body ? JSON.parse(body) : null;
      } catch {
        json = null;
      }
      received.push({ method: request.method, path: request.url, body: json });
      const send = (status, value) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(value));
      };
      if (request.method === 'POST' && request.url === '/v1/signin/email-password' && signInSession) {
        send(200, { session: signInSession, mfa: null });
      } else if (request.method === 'POST' && request.url === '/v1/token' && refreshSession) {
        if (!json || json.refreshToken !== expectedRefreshToken) {
          send(401, { status: 401, error: 'invalid-refresh-token', message: 'Invalid or expired refresh token' });
        } else {
          send(200, refreshSession);
        }
      } else {
        send(404, { status: 404, error: 'route-not-found', message: `no route ${request.method} ${request.url}` });
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}/v1`,
        received,
        close: () => server.close(),
      });
    });
  });
}

module.exports = { startFakeAuth };
