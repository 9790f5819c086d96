// @nhost/nhost-js 4 with its CookieStorage, against a `document.cookie` stand-in and a fake
// auth service. Input (stdin, JSON):
//   { scenario: "write", signInSession, cookieOptions? }
//     nhost-js signs in; the fake answers `signInSession`; CookieStorage writes the cookie.
//   { scenario: "read", setCookies, refreshSession, expectedRefreshToken, cookieOptions? }
//     The browser received `setCookies` from the Rust server; nhost-js reads the session, then
//     refreshes it (the fake accepts only `expectedRefreshToken`) and writes the new one.
// Output (stdout, JSON): what nhost-js read, what the fake received, the cookies afterwards.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Browser, readInput, finish, fail, watchdog } = require('./lib/browser.cjs');
const { startFakeAuth } = require('./lib/fake-auth.cjs');

watchdog();

const input = await readInput();
const browser = new Browser();
browser.install({ withWindow: false });

const { createClient } = await import('@nhost/nhost-js');
const { CookieStorage } = await import('@nhost/nhost-js/session');

const fake = await startFakeAuth(input);
const storage = new CookieStorage(input.cookieOptions ?? {});
const nhost = createClient({ authUrl: fake.url, storage });

try {
  const result = { scenario: input.scenario };
  if (input.scenario === 'write') {
    await nhost.auth.signInEmailPassword({ email: 'user@example.com', password: 'password-1234' });
    result.session = nhost.getUserSession();
  } else if (input.scenario === 'read') {
    for (const header of input.setCookies) browser.applySetCookie(header);
    result.documentCookieBefore = browser.documentCookie();
    result.readSession = nhost.getUserSession();
    result.refreshed = await nhost.refreshSession(0);
    result.session = nhost.getUserSession();
  } else {
    throw new Error(`unknown scenario ${input.scenario}`);
  }
  result.received = fake.received;
  result.scriptWrites = browser.scriptWrites;
  result.documentCookie = browser.documentCookie();
  result.cookieHeader = browser.cookieHeader();
  fake.close();
  finish(result);
} catch (error) {
  fail(error);
}
