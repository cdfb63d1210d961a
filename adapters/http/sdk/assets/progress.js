// progress.js: follow an operation's or a project's live events in a
// browser. No dependencies; the API serves this file at /sdk/progress.js.
//
//   import { follow } from "/sdk/progress.js";
//   const stream = follow({
//     project: "…", operation: "…",       // leave operation out for every event of the project
//     token: () => myBearerToken,         // a string, or a function returning one (or a Promise of one)
//     onEvent: (type, data, id) => {},    // "snapshot", "created", "progress", "succeeded", …
//     onError: (problem) => {},           // an RFC 9457 problem: the stream has stopped for good
//   });
//   await stream.done;                    // resolves after an operation's terminal event
//   stream.close();
//
// How: one authenticated POST to the stream's ticket endpoint makes the API
// set a stream pass, an HttpOnly, SameSite=Strict cookie scoped to that one
// stream; then the browser's own EventSource opens the stream and, each
// time the server ends it (SSE_MAX_DURATION, a restart, a deploy), the
// browser reconnects by itself with the cookie and Last-Event-ID: every
// event arrives once and in order. This file adds no reconnect loop of its
// own. Only when the browser gives up (the server refused the stream) does
// it ask why: a pass that expired with its token or that the server lost
// is replaced using options.token (which may return a refreshed token);
// any other refusal, or a ticket endpoint that refuses, is the RFC 9457
// problem passed to onError, and the stream stops.
//
// Across origins (baseURL set to the API's origin, which must list this
// page's origin in CORS_ALLOWED_ORIGINS) the page and the API must be one
// site, e.g. app.example.com and api.example.com: a SameSite=Strict cookie
// never travels between sites.

const EVENT_TYPES = ["snapshot", "history_expired", "created", "progress", "succeeded", "failed", "cancelled", "token_expired", "access_revoked"];
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
// Refusals in a row, with no event between, before giving up.
const MAX_REFUSALS = 4;

/**
 * Follows a stream until it is closed, an operation's stream ends with its
 * terminal event, or the API refuses it for good.
 * @param {object} options
 * @param {string} options.project the project's id
 * @param {string} [options.operation] an operation's id; without it, every event of the project
 * @param {string|function(): (string|Promise<string>)} options.token the caller's bearer token
 * @param {string} [options.baseURL] the API's origin when it is not the page's
 * @param {function(string, object, string): void} [options.onEvent] each event's type, decoded data and id
 * @param {function(object): void} [options.onError] the problem that stopped the stream
 * @param {function(): void} [options.onOpen] each time a connection opens
 * @returns {{close: function(): void, done: Promise<void>, lastEventId: function(): string}}
 */
export function follow(options) {
  const { project, operation, baseURL = "", onEvent = () => {}, onError = () => {}, onOpen = () => {} } = options;
  if (!project) {
    throw new TypeError("follow: options.project is required");
  }
  const streamPath = "/api/v1/projects/" + encodeURIComponent(project) +
    (operation ? "/operations/" + encodeURIComponent(operation) : "") + "/events";
  let source = null;
  let lastId = "";
  let closed = false;
  let refusals = 0;
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });

  function close() {
    closed = true;
    if (source) {
      source.close();
      source = null;
    }
    finish();
  }

  function fail(problem) {
    close();
    onError(problem);
  }

  async function token() {
    return typeof options.token === "function" ? await options.token() : options.token;
  }

  // problemOf reads a refusal's RFC 9457 problem.
  async function problemOf(res, what) {
    try {
      return await res.json();
    } catch {
      return { status: res.status, title: res.statusText || what + " refused" };
    }
  }

  // pass asks the ticket endpoint for a stream pass: it arrives as a
  // cookie, so only whether it worked matters.
  async function pass() {
    try {
      const res = await fetch(baseURL + streamPath + "/tickets", {
        method: "POST",
        credentials: "include",
        headers: { Authorization: "Bearer " + (await token()) },
      });
      return res.ok ? null : await problemOf(res, "the ticket endpoint");
    } catch (e) {
      return { status: 0, title: "The API could not be reached", detail: String(e) };
    }
  }

  function streamURL() {
    const url = new URL(baseURL + streamPath, location.href);
    if (lastId !== "") {
      // A new EventSource cannot send Last-Event-ID; the API takes it here.
      url.searchParams.set("last_event_id", lastId);
    }
    return url;
  }

  // probe asks the stream what EventSource cannot tell: why it refused.
  // "finished" is an operation with nothing more to send (204).
  async function probe() {
    const abort = new AbortController();
    try {
      const res = await fetch(streamURL(), { credentials: "include", headers: { Accept: "text/event-stream" }, signal: abort.signal });
      if (res.status === 204) {
        return "finished";
      }
      if (res.ok) {
        abort.abort(); // it opens now: the refusal has passed
        return null;
      }
      return await problemOf(res, "the stream");
    } catch (e) {
      return { status: 0, title: "The API could not be reached", detail: String(e) };
    }
  }

  function open() {
    source = new EventSource(streamURL(), { withCredentials: true });
    source.onopen = () => onOpen();
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (ev) => {
        refusals = 0;
        lastId = ev.lastEventId || lastId;
        let data = null;
        try {
          data = JSON.parse(ev.data);
        } catch {
          data = ev.data;
        }
        onEvent(type, data, ev.lastEventId);
        if (operation && (TERMINAL.has(type) || (type === "snapshot" && TERMINAL.has(data?.operation?.status)))) {
          close(); // nothing more will come
        }
      });
    }
    source.onerror = () => {
      // While the browser reconnects by itself, readyState is CONNECTING:
      // leave it to the browser. CLOSED means it gave up.
      if (closed || source.readyState !== EventSource.CLOSED) {
        return;
      }
      source.close();
      source = null;
      recover();
    };
  }

  // recover finds out why the stream was refused: a pass that expired or
  // was lost (401) is replaced from the token, which options.token may
  // have refreshed; an unavailable API (5xx, no answer) is waited for; any
  // other refusal (404: the operation is gone; 429: too many streams) is
  // the caller's to handle.
  async function recover() {
    const problem = await probe();
    if (closed) {
      return;
    }
    if (problem === "finished") {
      close();
      return;
    }
    if (problem && ++refusals > MAX_REFUSALS) {
      fail(problem);
      return;
    }
    if (problem && problem.status === 401) {
      const refused = await pass();
      if (refused) {
        fail(refused);
        return;
      }
    } else if (problem && problem.status >= 400 && problem.status < 500) {
      fail(problem);
      return;
    } else if (problem) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** refusals));
    }
    if (!closed) {
      open();
    }
  }

  (async () => {
    const problem = await pass();
    if (closed) {
      return;
    }
    if (problem) {
      fail(problem);
      return;
    }
    open();
  })();

  return { close, done, lastEventId: () => lastId };
}
