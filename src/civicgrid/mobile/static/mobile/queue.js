/* The offline action queue of 网格通: actions taken without a network are kept in IndexedDB
   (photos included, as Blobs) and replayed in the order they were taken once the phone is
   online. Each item: {user, kind, url, fields: [[name, value]], files: [{field, blob, name}],
   caseId, version, label, title, key, createdAt}. An item leaves the queue only when the
   server has answered for good (done, conflict, or refused); a network error keeps it. */
(function () {
  "use strict";
  var DB = "civicgrid-mobile";
  var STORE = "queue";
  var dbPromise = null;

  function open() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () {
        var store = req.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
        store.createIndex("user", "user");
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { dbPromise = null; reject(req.error); };
    });
    return dbPromise;
  }
  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }

  window.CivicQueue = {
    add: function (item) { return tx("readwrite", function (s) { return s.add(item); }); },
    remove: function (id) { return tx("readwrite", function (s) { return s.delete(id); }); },
    /* This user's items, oldest first (the key is the order they were taken in). */
    all: function (user) {
      return tx("readonly", function (s) { return s.index("user").getAll(String(user)); }).then(function (items) {
        return (items || []).sort(function (a, b) { return a.id - b.id; });
      });
    },
    newId: function () {
      if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
      return String(Date.now()) + Math.random().toString(16).slice(2, 14);
    }
  };
})();
