// auth.js: the API's bearer token for the pages of clmnist serve and train --serve (docs/serve.md).
// A token given once, as ?token=... in the address (then removed from it) or typed when the server
// answers 401 (the page then reloads), is kept in this tab's sessionStorage and sent with every call to this server's API:
// fetch gets "Authorization: Bearer ...", and the event stream (EventSource cannot send headers)
// the query parameter access_token, which the server takes on that route only. The dashboard page
// of a loopback run without a token carries a per-run secret instead (meta clmnist-stop), which
// POST /api/stop needs.
'use strict';
(function () {
  const KEY = 'clmnist-token';
  const url = new URL(window.location.href);
  if (url.searchParams.has('token')) {
    sessionStorage.setItem(KEY, url.searchParams.get('token'));
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  const meta = document.querySelector('meta[name="clmnist-stop"]');
  const secret = () => sessionStorage.getItem(KEY) || (meta && meta.content) || '';

  // Only this server's API: a token never goes to another origin.
  function ours(target) {
    const u = new URL(target instanceof Request ? target.url : String(target), window.location.href);
    return u.origin === window.location.origin && (u.pathname.startsWith('/api/') || u.pathname === '/metrics');
  }

  const plainFetch = window.fetch.bind(window);
  async function withToken(target, options) {
    const opts = Object.assign({}, options || {});
    const headers = new Headers(opts.headers || {});
    if (secret()) headers.set('Authorization', 'Bearer ' + secret());
    opts.headers = headers;
    return plainFetch(target, opts);
  }
  let asked = false;
  window.fetch = async function (target, options) {
    if (!ours(target)) return plainFetch(target, options);
    const res = await withToken(target, options);
    if (res.status === 401 && !asked) {
      asked = true; // once per page load: a wrong token is not asked for again and again
      const t = window.prompt('This server needs its access token (printed where it was started):');
      if (t) {
        sessionStorage.setItem(KEY, t.trim());
        window.location.reload(); // the page starts again with it (its event stream too)
        return new Promise(() => {}); // and this call never ends: nothing reads the 401
      }
    }
    return res;
  };

  const PlainEventSource = window.EventSource;
  if (PlainEventSource) {
    window.EventSource = function (target, config) {
      const u = new URL(String(target), window.location.href);
      const t = sessionStorage.getItem(KEY);
      if (t && ours(u)) u.searchParams.set('access_token', t);
      return new PlainEventSource(u.href, config);
    };
    window.EventSource.prototype = PlainEventSource.prototype;
  }
})();
