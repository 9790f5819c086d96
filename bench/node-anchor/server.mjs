// The anchor of the benchmarks: what a Node SSR server does per request when it follows Nhost's
// recommended flow with @nhost/nhost-js 4 (the "Next.js middleware" example in the docs of
// `createServerClient`, nhost-js 4.7.0 dist/src/nhost.d.ts):
//
//   const nhost = createServerClient({ ..., storage: {
//     get: () => JSON.parse(request.cookies.get(key)?.value),   // the request's cookie
//     set: (value) => response.cookies.set({ name: key, value: JSON.stringify(value),
//                        path: "/", httpOnly: false, secure, sameSite: "lax", maxAge: 30 days }),
//     remove: () => response.cookies.delete(key),
//   }});
//   const session = await nhost.refreshSession(60);
//
// Next's `request.cookies` decodes values with decodeURIComponent and `response.cookies.set`
// encodes them with encodeURIComponent, and a later `set` of the same name replaces an earlier
// one: this file does the same on plain `node:http`, so that the cookie is byte-compatible with
// nhost-js's own CookieStorage and with nhost-session-cookie's NhostJs4 format.
//
// GET /page answers 200 {"user":"<id>"} with a session, 401 {"user":null} without one.
// Env: NHOST_AUTH_URL (the auth service, ending in /v1), PORT (0 = any). Prints
// "listening 127.0.0.1:PORT" on stdout once it accepts connections.

import http from 'node:http';
import { createServerClient } from '@nhost/nhost-js';

const AUTH_URL = process.env.NHOST_AUTH_URL;
if (!AUTH_URL) {
  console.error('NHOST_AUTH_URL is not set');
  process.exit(2);
}
const KEY = 'nhostSession';
const SECURE = process.env.NODE_ENV === 'production';
const MAX_AGE = 60 * 60 * 24 * 30;

/** The value of cookie `name` in a Cookie header, URI-decoded (as Next's request.cookies). */
function readCookie(header, name) {
  if (!header) return null;
  for (const part of header.split(/;\s*/)) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return null;
}

const server = http.createServer(async (req, res) => {
  if (req.method !== 'GET' || !req.url.startsWith('/page')) {
    res.writeHead(404).end();
    return;
  }
  // Set-Cookie headers by cookie name: a later set replaces an earlier one, as in Next.
  const pending = new Map();
  try {
    const nhost = createServerClient({
      authUrl: AUTH_URL,
      storage: {
        get: () => {
          const raw = readCookie(req.headers.cookie, KEY);
          if (!raw) return null;
          return JSON.parse(raw);
        },
        set: (value) => {
          const attrs = [`Path=/`, `Max-Age=${MAX_AGE}`, `SameSite=Lax`];
          if (SECURE) attrs.push('Secure');
          pending.set(KEY, `${KEY}=${encodeURIComponent(JSON.stringify(value))}; ${attrs.join('; ')}`);
        },
        remove: () => {
          pending.set(KEY, `${KEY}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`);
        },
      },
    });
    const session = await nhost.refreshSession(60);
    const headers = { 'content-type': 'application/json' };
    if (pending.size > 0) headers['set-cookie'] = [...pending.values()];
    if (session) {
      res.writeHead(200, headers).end(JSON.stringify({ user: session.user?.id ?? '' }));
    } else {
      res.writeHead(401, headers).end(JSON.stringify({ user: null }));
    }
  } catch (error) {
    console.error('anchor: request failed:', error);
    res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ user: null }));
  }
});

server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { address, port } = server.address();
  process.stdout.write(`listening ${address}:${port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
