/* 网格通 service worker (scope /m/). Rendered by civicgrid.mobile.views.service_worker.
   - The shell (offline page, css, js, icons) is precached in a cache named by the digest of
     those files, so a change installs a new shell and the old cache is dropped.
   - Pages under /m/ and case photos are network-first, kept in a cache of the user whose
     session served them (X-CivicGrid-User); offline they come from that cache, marked as
     cached so the page says "离线: 显示上次的数据, 更新于 …".
   - One user's data never serves another: a response for another user, a redirect to the
     log-in page, or the app's log-out message deletes every user cache.
   - POSTs are never touched by the fetch handler: the offline queue (IndexedDB, queue.js)
     replays them, from the page or from here on Background Sync (the "sync" event the page
     registers with registration.sync.register when an action is queued). */
"use strict";
var CONFIG = {{ config|safe }};
importScripts(CONFIG.queue);
var SHELL = "civicgrid-m-shell-" + CONFIG.version;
var DATA = "civicgrid-m-data-u";
var META = "civicgrid-m-meta";
var USER_KEY = CONFIG.scope + "__user__";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(CONFIG.shell); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("civicgrid-m-shell-") === 0 && n !== SHELL;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function currentUser() {
  return caches.open(META).then(function (c) { return c.match(USER_KEY); })
    .then(function (r) { return r ? r.text() : ""; });
}
function setUser(id) {
  return caches.open(META).then(function (c) { return c.put(USER_KEY, new Response(id || "")); });
}
function dropUserData(keep) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf(DATA) === 0 && n !== DATA + keep;
    }).map(function (n) { return caches.delete(n); }));
  });
}
function forgetEveryone() { return dropUserData(null).then(function () { return setUser(""); }); }

function remember(request, response) {
  var user = response.headers.get("X-CivicGrid-User");
  if (!response.ok || !user) return Promise.resolve();
  return currentUser().then(function (previous) {
    return previous === user ? null : dropUserData(user).then(function () { return setUser(user); });
  }).then(function () {
    return caches.open(DATA + user).then(function (cache) { return cache.put(request.url || request, response); });
  });
}

function fromCache(url, mark) {
  return currentUser().then(function (user) {
    if (!user) return null;
    return caches.open(DATA + user).then(function (cache) { return cache.match(url, { ignoreVary: true }); });
  }).then(function (hit) {
    if (!hit || !mark) return hit;
    return hit.text().then(function (html) {
      return new Response(html.replace('data-cached="0"', 'data-cached="1"'),
        { status: 200, headers: { "Content-Type": hit.headers.get("Content-Type") || "text/html" } });
    });
  });
}

function networkFirst(request, isPage) {
  return fetch(request).then(function (response) {
    if (response.type === "opaqueredirect" || response.redirected || response.status === 401) {
      // The session is gone (log-in page): nothing cached may outlive it.
      return forgetEveryone().then(function () { return response; });
    }
    return remember(request, response.clone()).then(function () { return response; }, function () { return response; });
  }, function () {
    return fromCache(request.url, isPage).then(function (hit) {
      if (hit) return hit;
      if (isPage) return caches.match(CONFIG.offline);
      return new Response("", { status: 503, statusText: "offline" });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (CONFIG.noCache.indexOf(url.pathname) !== -1) return;
  if (url.pathname.indexOf(CONFIG.staticPrefix) === 0) {
    event.respondWith(caches.match(request, { ignoreSearch: false }).then(function (hit) {
      return hit || fetch(request);
    }));
    return;
  }
  var isPage = request.mode === "navigate" && url.pathname.indexOf(CONFIG.scope) === 0;
  var isPhoto = url.pathname.indexOf("/cases/photos/") === 0;
  if (isPage || isPhoto) event.respondWith(networkFirst(request, isPage));
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "logout") {
    event.waitUntil(forgetEveryone().then(function () {
      if (event.source) event.source.postMessage({ type: "logged-out" });
    }));
  } else if (data.type === "warm" && Array.isArray(data.urls)) {
    // Keep the tabs the user has not opened yet, so the app opens offline on any of them.
    event.waitUntil(data.urls.reduce(function (chain, path) {
      return chain.then(function () {
        return fetch(path, { credentials: "same-origin", redirect: "manual" }).then(function (response) {
          if (response.type === "opaqueredirect") return forgetEveryone();
          return remember(new Request(new URL(path, self.location.origin).href), response);
        }).catch(function () { return null; });
      });
    }, Promise.resolve()));
  }
});


// Background Sync: the browser wakes the worker when the network is back (the app may be
// closed). The queue's lock keeps it from sending what an open page is sending; a network
// failure rejects, so the browser tries again later; open pages are told what was sent.
function tellClients(result) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: false }).then(function (list) {
    list.forEach(function (client) {
      client.postMessage({ type: "queue-flushed", done: result.done, refused: result.refused, stopped: result.stopped });
    });
  });
}
self.addEventListener("sync", function (event) {
  if (event.tag !== CONFIG.syncTag) return;
  event.waitUntil(self.CivicQueue.flush({ session: CONFIG.session, messages: CONFIG.messages }).then(function (result) {
    return tellClients(result).then(function () {
      if (result.stopped === "network" && !event.lastChance) throw new Error("offline: retry later");
      return result;
    });
  }));
});
