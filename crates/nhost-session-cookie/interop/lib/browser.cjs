'use strict';
// A browser's cookie jar with a `document.cookie` stand-in, enough for the SDKs' cookie code:
// cookies keyed by (name, path, domain), removal by a past `expires` or `max-age<=0`,
// `HttpOnly` cookies hidden from `document.cookie` (and refused when set from script),
// `document.cookie` ordered as browsers order it (longer paths first, then oldest first).
// The page is taken to be https, so `Secure` cookies are visible.

function parseCookieString(text) {
  const [pair, ...attributes] = text.split(';');
  const eq = pair.indexOf('=');
  const name = eq === -1 ? '' : pair.slice(0, eq).trim();
  const value = eq === -1 ? pair.trim() : pair.slice(eq + 1).trim();
  const cookie = { name, value, path: '/', domain: null, secure: false, httpOnly: false, sameSite: null, expires: null, maxAge: null };
  for (const attribute of attributes) {
    const i = attribute.indexOf('=');
    const key = (i === -1 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
    const val = i === -1 ? '' : attribute.slice(i + 1).trim();
    if (key === 'path') cookie.path = val || '/';
    else if (key === 'domain') cookie.domain = val.replace(/^\./, '').toLowerCase() || null;
    else if (key === 'secure') cookie.secure = true;
    else if (key === 'httponly') cookie.httpOnly = true;
    else if (key === 'samesite') cookie.sameSite = val.toLowerCase();
    else if (key === 'expires') cookie.expires = new Date(val).getTime();
    else if (key === 'max-age') cookie.maxAge = Number(val);
  }
  return cookie;
}

class Browser {
  constructor() {
    this.cookies = [];
    this.sequence = 0;
    // Every string assigned to `document.cookie`, as the SDK wrote it.
    this.scriptWrites = [];
  }

  store(text, fromScript) {
    const cookie = parseCookieString(text);
    if (!cookie.name || (fromScript && cookie.httpOnly)) return;
    const now = Date.now();
    const removed =
      (cookie.maxAge !== null && cookie.maxAge <= 0) ||
      (cookie.maxAge === null && cookie.expires !== null && cookie.expires <= now);
    const index = this.cookies.findIndex(
      (c) => c.name === cookie.name && c.path === cookie.path && c.domain === cookie.domain,
    );
    const created = index === -1 ? this.sequence++ : this.cookies[index].created;
    if (index !== -1) this.cookies.splice(index, 1);
    if (!removed) this.cookies.push({ ...cookie, created });
  }

  /** Applies a `Set-Cookie` header from the server. */
  applySetCookie(header) {
    this.store(header, false);
  }

  ordered() {
    return [...this.cookies].sort((a, b) => b.path.length - a.path.length || a.created - b.created);
  }

  /** What `document.cookie` returns. */
  documentCookie() {
    return this.ordered()
      .filter((c) => !c.httpOnly)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** The `Cookie` header the browser sends to the server. */
  cookieHeader() {
    return this.ordered()
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** Installs `document` (and, for SDKs that check it, `window`) on the global object. */
  install({ withWindow }) {
    const browser = this;
    globalThis.document = {
      get cookie() {
        return browser.documentCookie();
      },
      set cookie(text) {
        browser.scriptWrites.push(String(text));
        browser.store(String(text), true);
      },
    };
    if (withWindow && typeof globalThis.window === 'undefined') {
      globalThis.window = globalThis;
    }
  }
}

/** Reads the whole standard input as JSON. */
async function readInput() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** Writes the result as one JSON line and exits (SDK timers and channels would keep Node alive). */
function finish(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

function fail(error) {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
}

/** Gives up when an SDK waits forever (for example on a request the fake does not answer). */
function watchdog(ms = 20000) {
  setTimeout(() => fail(new Error(`interop script timed out after ${ms} ms`)), ms).unref();
}

module.exports = { Browser, parseCookieString, readInput, finish, fail, watchdog };
