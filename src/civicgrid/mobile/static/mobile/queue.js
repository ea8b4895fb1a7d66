/* The offline action queue of 网格通, shared by the pages (window) and the service worker
   (importScripts, for Background Sync). IndexedDB "civicgrid-mobile":
   - queue: {id, user, kind, url, fields: [[name, value]], files: [{field, blob, name}], key,
     caseId, version, chained, to, label, title, createdAt, refused}. Several actions per case,
     kept in the order they were taken (the key). A "chained" action was taken after another
     one of the same case still waiting: it is sent on the version its predecessor's answer
     gives. Each carries its own Idempotency-Key (`key`), so resending after a lost answer
     never acts twice (the server answers what the first submission did).
   - notices: what happened to sent items (kept until dismissed).
   - meta: the flush lock {key: "lock", owner, until, item} and the last known state of each
     case the queue acted on ({key: "case:<user>:<id>", status, version}).
   flush() sends a user's items in order under the lock (one flusher at a time across tabs
   and the service worker; a lease, so a closed tab does not hold it): per case, in order;
   cases are independent; a refusal (409 conflict, 400 illegal / invalid, 403, 404) stops
   that case's chain and waits for the user (retry, skip it, or discard the rest); a network
   error, 401, 429, 5xx or a 403 that is not ours (the CSRF page) stops the flush, nothing
   lost. Nothing leaves the queue before the server has answered. */
(function (root) {
  "use strict";
  var DB = "civicgrid-mobile";
  var VERSION = 2;
  var LOCK = "lock";
  var LEASE_MS = 120000;
  var dbPromise = null;
  var running = {};
  var me = newId();

  function newId() {
    if (root.crypto && root.crypto.randomUUID) return root.crypto.randomUUID().replace(/-/g, "");
    return String(Date.now()) + Math.random().toString(16).slice(2, 14);
  }

  function open() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, VERSION);
      req.onupgradeneeded = function (ev) {
        var db = req.result;
        if (ev.oldVersion < 1) {
          db.createObjectStore("queue", { keyPath: "id", autoIncrement: true }).createIndex("user", "user");
        }
        if (ev.oldVersion < 2) {
          db.createObjectStore("notices", { keyPath: "id", autoIncrement: true }).createIndex("user", "user");
          db.createObjectStore("meta", { keyPath: "key" });
        }
      };
      req.onsuccess = function () {
        req.result.onversionchange = function () { req.result.close(); dbPromise = null; };
        resolve(req.result);
      };
      req.onerror = function () { dbPromise = null; reject(req.error); };
      req.onblocked = function () { /* an old page holds version 1: it closes on versionchange */ };
    });
    return dbPromise;
  }
  /* Runs work(stores, t) in one transaction; resolves with what work returned (an
     IDBRequest's result, or a value a request's callback put into box.value). */
  function tx(names, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(names, mode);
        var stores = {};
        names.forEach(function (n) { stores[n] = t.objectStore(n); });
        var box = { value: undefined };
        var result = work(stores, box, t);
        t.oncomplete = function () {
          if (box.value !== undefined) resolve(box.value);
          else resolve(result && typeof result === "object" && "result" in result ? result.result : result);
        };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error(box.abort || "aborted")); };
      });
    });
  }
  function byUser(store, user, done) {
    var req = store.index("user").getAll(String(user));
    req.onsuccess = function () { done((req.result || []).sort(function (a, b) { return a.id - b.id; })); };
  }
  function chainKey(item) { return item.caseId ? "c" + item.caseId : "r" + item.id; }
  function sameChain(a, b) { return chainKey(a) === chainKey(b); }

  /* The items that would be sent now: not those of a chain stopped by a refusal. */
  function sendable(items) {
    var stopped = {};
    return items.filter(function (o) {
      if (o.refused) stopped[chainKey(o)] = true;
      return !stopped[chainKey(o)];
    });
  }

  var Q = {
    newId: newId,
    chainKey: chainKey,
    sendable: sendable,
    add: function (item) { return tx(["queue"], "readwrite", function (s) { return s.queue.add(item); }); },
    remove: function (id) { return tx(["queue"], "readwrite", function (s) { return s.queue.delete(id); }); },
    /* This user's items, oldest first (the key is the order they were taken in). */
    all: function (user) {
      return tx(["queue"], "readonly", function (s, box) { byUser(s.queue, user, function (items) { box.value = items; }); })
        .then(function (items) { return items || []; });
    },
    /* An action taken now on a case: chained on the last one of the case still waiting, or
       on the newest version known (the page's, or what the queue last saw the server say). */
    addAction: function (item, pageVersion) {
      return tx(["queue", "meta"], "readwrite", function (s, box) {
        byUser(s.queue, item.user, function (items) {
          var earlier = items.filter(function (o) { return String(o.caseId) === String(item.caseId); });
          var put = function () {
            s.queue.add(item).onsuccess = function (e) { box.value = e.target.result; };
          };
          if (earlier.length) {
            item.chained = true;
            item.version = null;
            put();
            return;
          }
          var k = s.meta.get("case:" + item.user + ":" + item.caseId);
          k.onsuccess = function () {
            var known = k.result;
            item.chained = false;
            item.version = known && Number(known.version) > Number(pageVersion) ? Number(known.version) : Number(pageVersion);
            put();
          };
        });
      });
    },
    /* The last known state of a case ({status, version}) if the queue saw one newer than the page's. */
    known: function (user, caseId) {
      return tx(["meta"], "readonly", function (s) { return s.meta.get("case:" + user + ":" + caseId); });
    },
    /* Cancel the last action waiting for a case, unless it is being sent right now. */
    cancelLast: function (user, caseId) {
      return tx(["queue", "meta"], "readwrite", function (s, box) {
        byUser(s.queue, user, function (items) {
          var mine = items.filter(function (o) { return String(o.caseId) === String(caseId); });
          var last = mine[mine.length - 1];
          if (!last) { box.value = { ok: false, reason: "none" }; return; }
          var l = s.meta.get(LOCK);
          l.onsuccess = function () {
            var lock = l.result;
            if (lock && lock.until > Date.now() && lock.item === last.id) {
              box.value = { ok: false, reason: "sending", label: last.label };
              return;
            }
            s.queue.delete(last.id);
            box.value = { ok: true, label: last.label };
          };
        });
      });
    },
    /* The user's answer to a refused action: "retry" (send it again, and the rest after it,
       on the case as the refusal found it), "skip" (drop it, send the rest on that version),
       "discard" (drop it and the rest of its case). */
    resolve: function (user, id, choice) {
      return tx(["queue"], "readwrite", function (s) {
        byUser(s.queue, user, function (items) {
          var item = items.filter(function (o) { return o.id === id; })[0];
          if (!item || !item.refused) return;
          var rest = items.filter(function (o) { return o.id > id && sameChain(o, item); });
          var version = item.refused.caseVersion;
          if (choice === "retry") {
            item.refused = null;
            if (version != null) { item.version = version; item.chained = false; }
            s.queue.put(item);
          } else if (choice === "skip") {
            s.queue.delete(id);
            if (rest.length) {
              rest[0].chained = version == null;
              rest[0].version = version;
              s.queue.put(rest[0]);
            }
          } else {
            s.queue.delete(id);
            rest.forEach(function (o) { s.queue.delete(o.id); });
          }
        });
      });
    },
    notices: function (user) {
      return tx(["notices"], "readonly", function (s, box) { byUser(s.notices, user, function (l) { box.value = l; }); })
        .then(function (l) { return l || []; });
    },
    addNotice: function (n) {
      return tx(["notices"], "readwrite", function (s) {
        s.notices.add(n);
        byUser(s.notices, n.user, function (list) {
          list.slice(0, Math.max(0, list.length - 20)).forEach(function (o) { s.notices.delete(o.id); });
        });
      });
    },
    dropNotice: function (id) { return tx(["notices"], "readwrite", function (s) { return s.notices.delete(id); }); },
    send: send,
    errorText: errorText,
    flush: flush
  };

  // --- the lock ------------------------------------------------------------------------------
  function acquire() {
    return tx(["meta"], "readwrite", function (s, box) {
      var l = s.meta.get(LOCK);
      l.onsuccess = function () {
        var lock = l.result;
        if (lock && lock.owner !== me && lock.until > Date.now()) { box.value = false; return; }
        s.meta.put({ key: LOCK, owner: me, until: Date.now() + LEASE_MS, item: null });
        box.value = true;
      };
    });
  }
  function release() {
    return tx(["meta"], "readwrite", function (s) {
      var l = s.meta.get(LOCK);
      l.onsuccess = function () { if (l.result && l.result.owner === me) s.meta.delete(LOCK); };
    }).catch(function () { return null; });
  }
  /* Renew the lease and take the item (as it is now: it may have been cancelled or resolved). */
  function claim(id) {
    return tx(["meta", "queue"], "readwrite", function (s, box) {
      var l = s.meta.get(LOCK);
      l.onsuccess = function () {
        var lock = l.result;
        if (!lock || lock.owner !== me) { box.value = { lost: true }; return; }
        var g = s.queue.get(id);
        g.onsuccess = function () {
          s.meta.put({ key: LOCK, owner: me, until: Date.now() + LEASE_MS, item: g.result ? id : null });
          box.value = { item: g.result || null };
        };
      };
    });
  }
  /* Done: the item leaves, the next action of its case is sent on the version answered. */
  function settle(item, answer) {
    return tx(["queue", "meta"], "readwrite", function (s) {
      s.queue.delete(item.id);
      var c = answer && answer.case;
      if (item.caseId && c && c.version != null) {
        s.meta.put({ key: "case:" + item.user + ":" + item.caseId, status: c.status, version: c.version, at: Date.now() });
        byUser(s.queue, item.user, function (items) {
          var next = items.filter(function (o) { return o.id > item.id && sameChain(o, item); })[0];
          if (next && next.chained) { next.chained = false; next.version = c.version; s.queue.put(next); }
        });
      }
      var l = s.meta.get(LOCK);
      l.onsuccess = function () {
        if (l.result && l.result.owner === me) s.meta.put({ key: LOCK, owner: me, until: l.result.until, item: null });
      };
    });
  }
  function refuse(item, res, text) {
    return tx(["queue"], "readwrite", function (s) {
      var g = s.queue.get(item.id);
      g.onsuccess = function () {
        if (!g.result) return;
        var c = res.data && res.data.case;
        g.result.refused = {
          status: res.status, text: text, at: Date.now(),
          caseVersion: c && c.version != null ? c.version : null, caseStatus: c ? c.status : null
        };
        s.queue.put(g.result);
      };
    });
  }

  // --- sending -------------------------------------------------------------------------------
  /* Resolves {status, data}; rejects on a network failure (the caller keeps the item). */
  function send(item, csrf) {
    var fd = new FormData();
    item.fields.forEach(function (f) {
      if (f[0] === "expected_version") return;
      fd.append(f[0], f[1]);
    });
    if (item.kind === "act") fd.append("expected_version", String(item.version));
    item.files.forEach(function (f) { fd.append(f.field, f.blob, f.name); });
    var headers = { "X-CSRFToken": csrf, "Accept": "application/json" };
    if (item.key) headers["Idempotency-Key"] = item.key;
    return fetch(item.url, { method: "POST", body: fd, credentials: "same-origin", headers: headers, redirect: "manual" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) { return { status: r.status, data: data }; });
      });
  }
  function errorText(res, msg) {
    if (res.status === 409) return (res.data && res.data.error && res.data.error.message) || msg.conflict;
    return (res.data && res.data.error && res.data.error.message) || (msg.failed + " (" + res.status + ")");
  }

  /* Send what waits. opts: {user (optional: the session's user), session (URL), messages,
     onItem(kind, item, res)}. Resolves {done, refused, stopped: null | "network" | "relogin"
     | "busy" | "user"}. One flush at a time per context; the lock makes it one per phone. */
  function flush(opts) {
    var slot = String(opts.user || "");
    if (running[slot]) return running[slot];
    var msg = opts.messages || {};
    var out = { done: 0, refused: 0, stopped: null };
    var p = acquire().then(function (got) {
      if (!got) { out.stopped = "busy"; return out; }
      return fetch(opts.session, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (!s.user) { out.stopped = "relogin"; return out; }
          if (opts.user && String(s.user) !== String(opts.user)) { out.stopped = "user"; return out; }
          return Q.all(s.user).then(function (items) { return run(items, s.csrf, opts, msg, out); });
        }, function () { out.stopped = "network"; return out; })
        .then(function () { return release(); }, function (e) { return release().then(function () { throw e; }); })
        .then(function () { return out; });
    }).then(function (r) { delete running[slot]; return r; }, function (e) { delete running[slot]; throw e; });
    running[slot] = p;
    return p;
  }
  function run(items, csrf, opts, msg, out) {
    var blocked = {};
    var chain = Promise.resolve(true);
    items.forEach(function (queued) {
      chain = chain.then(function (go) {
        if (!go) return false;
        var ck = chainKey(queued);
        if (queued.refused || blocked[ck]) { blocked[ck] = true; return true; }
        return claim(queued.id).then(function (c) {
          if (c.lost) { out.stopped = "busy"; return false; }
          var item = c.item;
          if (!item) return true;  // cancelled meanwhile
          if (item.refused || (item.kind === "act" && item.version == null)) { blocked[ck] = true; return true; }
          return send(item, csrf).then(function (res) {
            if (res.status >= 200 && res.status < 300) {
              out.done += 1;
              return settle(item, res.data).then(function () {
                return Q.addNotice({
                  user: item.user, kind: "ok", caseId: item.caseId || null, title: item.title,
                  text: (res.data && res.data.message) || msg.synced, at: Date.now()
                });
              }).then(function () { if (opts.onItem) opts.onItem("ok", item, res); return true; });
            }
            var unexplained = res.status === 403 && !(res.data && res.data.error);
            if (res.status === 0 || res.status === 401 || res.status === 429 || res.status >= 500 || unexplained) {
              out.stopped = res.status === 0 || res.status === 401 ? "relogin" : "network";
              return false;  // keep it; try again later
            }
            // Refused (conflict, illegal now, invalid, not allowed, gone): this case's chain
            // stops here and waits for the user; the other cases go on.
            out.refused += 1;
            blocked[ck] = true;
            return refuse(item, res, errorText(res, msg)).then(function () {
              if (opts.onItem) opts.onItem("refused", item, res);
              return true;
            });
          }, function () { out.stopped = "network"; return false; });
        });
      });
    });
    return chain;
  }

  root.CivicQueue = Q;
})(typeof self !== "undefined" ? self : this);
