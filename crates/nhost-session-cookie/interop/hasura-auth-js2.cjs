'use strict';
// @nhost/hasura-auth-js 2 in cookie mode (what @nhost/nextjs 2 runs in the browser), against a
// `document.cookie` stand-in and a fake auth service. Input (stdin, JSON):
//   { scenario: "write", signInSession }
//     The client signs in; the fake answers `signInSession`; hasura-auth-js writes its three
//     cookies, and `setNhostSessionInCookie` (copied from @nhost/nextjs 2.3.1, below) writes
//     `nhostSession`, as @nhost/nextjs does on every auth state change.
//   { scenario: "read", setCookies, refreshSession, expectedRefreshToken }
//     The browser received `setCookies` from the Rust server; js-cookie reads the values (as
//     @nhost/nextjs does), and the client starts: it takes the refresh token from the cookie,
//     calls POST /token (the fake accepts only `expectedRefreshToken`) and writes the new one
//     (and `setNhostSessionInCookie` the new `nhostSession`).
// Output (stdout, JSON): values read, what the fake received, the cookies afterwards.

const { Browser, readInput, finish, fail, watchdog } = require('./lib/browser.cjs');
const { startFakeAuth } = require('./lib/fake-auth.cjs');

watchdog();

// hasura-auth-js decides at load time whether it runs in a browser (`typeof window`), and
// js-cookie needs `document` when called: install both before loading them.
const browser = new Browser();
browser.install({ withWindow: true });
const Cookies = require('js-cookie');
const { HasuraAuthClient } = require('@nhost/hasura-auth-js');

// @nhost/nextjs 2.3.1, src/utils.ts, `setNhostSessionInCookie` (installing @nhost/nextjs would
// bring Next.js and React along; this is its whole cookie code).
const NHOST_SESSION_KEY = 'nhostSession';
const setNhostSessionInCookie = (param) => {
  const session = param && 'auth' in param ? param.auth.getSession() : param;
  if (!session) {
    Cookies.remove(NHOST_SESSION_KEY);
    return;
  }
  const { refreshToken, ...rest } = session;
  const expires = new Date();
  // * Expire the cookie 60 seconds before the token expires
  expires.setSeconds(expires.getSeconds() + session.accessTokenExpiresIn - 60);
  Cookies.set(NHOST_SESSION_KEY, JSON.stringify(rest), {
    sameSite: 'strict',
    expires,
  });
};

async function main() {
  const input = await readInput();
  const fake = await startFakeAuth(input);
  const result = { scenario: input.scenario };

  if (input.scenario === 'write') {
    const auth = new HasuraAuthClient({
      url: fake.url,
      clientStorageType: 'cookie',
      autoRefreshToken: false,
      autoSignIn: false,
    });
    const answer = await auth.signIn({ email: 'user@example.com', password: 'password-1234' });
    if (answer.error) throw new Error(`sign-in failed: ${JSON.stringify(answer.error)}`);
    setNhostSessionInCookie(auth.getSession());
    result.now = new Date().toISOString();
  } else if (input.scenario === 'read') {
    for (const header of input.setCookies) browser.applySetCookie(header);
    result.documentCookieBefore = browser.documentCookie();
    result.jsCookie = Cookies.get();
    const auth = new HasuraAuthClient({
      url: fake.url,
      clientStorageType: 'cookie',
      autoRefreshToken: false,
      autoSignIn: false,
    });
    result.authenticated = await auth.isAuthenticatedAsync();
    result.session = auth.getSession();
    // @nhost/nextjs rewrites nhostSession whenever the token changes.
    setNhostSessionInCookie(auth.getSession());
  } else {
    throw new Error(`unknown scenario ${input.scenario}`);
  }

  result.received = fake.received;
  result.scriptWrites = browser.scriptWrites;
  result.documentCookie = browser.documentCookie();
  result.cookieHeader = browser.cookieHeader();
  fake.close();
  finish(result);
}

main().catch(fail);
