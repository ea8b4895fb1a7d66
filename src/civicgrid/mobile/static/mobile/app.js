/* 网格通: service worker registration, the offline banner, the forms (sent at once when the
   network answers, queued in IndexedDB when it does not) and the replay of the queue. */
(function () {
  "use strict";
  var body = document.body;
  var d = body.dataset;
  var user = d.user;
  var Q = window.CivicQueue;
  var $ = function (id) { return document.getElementById(id); };
  var NOTICE_KEY = "civicgrid.m.notices." + user;
  var FLASH_KEY = "civicgrid.m.flash." + user;
  var WARM_KEY = "civicgrid.m.warmed." + user;
  if (!user || !Q) return;

  // --- service worker --------------------------------------------------------------------
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(d.sw, { scope: d.scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      var last = Number(localStorage.getItem(WARM_KEY) || 0);
      if (d.cached !== "1" && navigator.onLine && reg.active && Date.now() - last > 5 * 60 * 1000) {
        localStorage.setItem(WARM_KEY, String(Date.now()));
        reg.active.postMessage({ type: "warm", urls: (d.warm || "").split(" ").filter(Boolean) });
      }
    }).catch(function () { /* no service worker: the app still works online */ });
  }

  // --- the offline banner ----------------------------------------------------------------
  function banner() {
    var el = $("offline-banner");
    var offline = d.cached === "1" || !navigator.onLine;
    el.hidden = !offline;
    if (offline) el.textContent = d.msgOffline + " " + d.generated;
  }
  if (d.cached === "1") {
    Array.prototype.forEach.call(document.querySelectorAll(".m-messages"), function (el) { el.hidden = true; });
  }
  banner();

  // --- notices (what happened to queued actions; kept until dismissed) -------------------
  function notices() {
    try { return JSON.parse(localStorage.getItem(NOTICE_KEY)) || []; } catch (e) { return []; }
  }
  function addNotice(n) {
    var list = notices();
    n.id = Q.newId();
    list.push(n);
    localStorage.setItem(NOTICE_KEY, JSON.stringify(list.slice(-20)));
    showNotices();
  }
  function showNotices() {
    var ul = $("m-notices");
    ul.textContent = "";
    var caseOnPage = $("task") ? $("task").dataset.case : null;
    var taskNotice = $("task-notice");
    notices().forEach(function (n) {
      var li = document.createElement("li");
      li.className = "m-notice " + n.kind;
      li.dataset.case = n.caseId || "";
      li.textContent = (n.title ? "“" + n.title + "” " : "") + n.text;
      var x = document.createElement("button");
      x.type = "button"; x.className = "m-x"; x.textContent = "×"; x.setAttribute("aria-label", "×");
      x.addEventListener("click", function () {
        localStorage.setItem(NOTICE_KEY, JSON.stringify(notices().filter(function (o) { return o.id !== n.id; })));
        showNotices();
      });
      li.appendChild(x);
      ul.appendChild(li);
      if (taskNotice && caseOnPage && String(n.caseId) === caseOnPage && n.kind !== "ok") {
        taskNotice.hidden = false; taskNotice.textContent = n.text;
      }
    });
    var flash = sessionStorage.getItem(FLASH_KEY);
    if (flash) {
      sessionStorage.removeItem(FLASH_KEY);
      var li = document.createElement("li");
      li.className = "m-notice ok"; li.textContent = flash;
      ul.appendChild(li);
    }
  }

  // --- pending items on the page ---------------------------------------------------------
  function showPending() {
    return Q.all(user).then(function (items) {
      var status = $("sync-status");
      status.hidden = !items.length;
      status.textContent = d.msgPending + " " + items.length;
      var byCase = {};
      items.forEach(function (it) { if (it.caseId) (byCase[it.caseId] = byCase[it.caseId] || []).push(it.label); });
      Array.prototype.forEach.call(document.querySelectorAll(".m-task[data-case]"), function (li) {
        var labels = byCase[li.dataset.case];
        var span = li.querySelector(".m-pending");
        span.hidden = !labels;
        span.textContent = labels ? d.msgPending + ": " + labels.join(d.listSep) : "";
      });
      var task = $("task");
      if (task) {
        var mine = byCase[task.dataset.case];
        Array.prototype.forEach.call(document.querySelectorAll("form.m-act button"), function (b) { b.disabled = !!mine; });
        if (mine) {
          var notice = $("task-notice");
          notice.hidden = false;
          notice.textContent = d.msgPending + ": " + mine.join(d.listSep) + " — " + d.msgQueued;
        }
      }
      return items;
    }).catch(function () { return []; });
  }

  // --- sending ---------------------------------------------------------------------------
  function session() {
    return fetch(d.session, { credentials: "same-origin", cache: "no-store" }).then(function (r) { return r.json(); });
  }
  /* Resolves {status, data}; rejects on a network failure (the caller keeps the item). */
  function send(item, csrf) {
    var fd = new FormData();
    item.fields.forEach(function (f) { fd.append(f[0], f[1]); });
    item.files.forEach(function (f) { fd.append(f.field, f.blob, f.name); });
    var headers = { "X-CSRFToken": csrf, "Accept": "application/json" };
    if (item.key) headers["Idempotency-Key"] = item.key;
    return fetch(item.url, { method: "POST", body: fd, credentials: "same-origin", headers: headers, redirect: "manual" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) { return { status: r.status, data: data }; });
      });
  }
  function errorText(res) {
    return (res.data && res.data.error && res.data.error.message) || (d.msgFailed + " (" + res.status + ")");
  }

  var replaying = false;
  function replayNow() {
    if (replaying) return Promise.resolve(0);
    replaying = true;
    var done = 0;
    return Q.all(user).then(function (items) {
      if (!items.length) return null;
      $("sync-status").textContent = d.msgSyncing;
      return session().then(function (s) {
        if (String(s.user) !== String(user)) { $("sync-status").textContent = d.msgRelogin; return null; }
        var chain = Promise.resolve(true);
        items.forEach(function (item) {
          chain = chain.then(function (go) {
            if (!go) return false;
            return send(item, s.csrf).then(function (res) {
              if (res.status >= 200 && res.status < 300) {
                done += 1;
                addNotice({ kind: "ok", caseId: item.caseId, title: item.title, text: (res.data && res.data.message) || d.msgSynced });
                return Q.remove(item.id).then(function () { return true; });
              }
              if (res.status === 409) {
                // The case changed meanwhile: never overwrite; say so on the task and drop it.
                addNotice({ kind: "conflict", caseId: item.caseId, title: item.title, text: item.label + ": " + d.msgConflict });
                return Q.remove(item.id).then(function () { return true; });
              }
              // A 403 that is not ours (the CSRF page) is the session's problem, not the action's.
              var unexplained = res.status === 403 && !(res.data && res.data.error);
              if (res.status === 0 || res.status === 401 || res.status === 429 || res.status >= 500 || unexplained) {
                if (res.status === 0 || res.status === 401) $("sync-status").textContent = d.msgRelogin;
                return false;  // keep it; try again later
              }
              addNotice({ kind: "error", caseId: item.caseId, title: item.title, text: item.label + ": " + errorText(res) });
              return Q.remove(item.id).then(function () { return true; });
            }, function () { return false; });
          });
        });
        return chain;
      });
    }).catch(function () { return null; }).then(function () {
      replaying = false;
      return showPending().then(function () { return done; });
    });
  }
  function replay() {
    var run = function () {
      return replayNow().then(function (done) {
        // What the page shows is older than what was just applied: show the server's state.
        if (done && !document.querySelector("form :focus")) window.location.reload();
      });
    };
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request("civicgrid-m-replay", { ifAvailable: true }, function (lock) {
        return lock ? run() : null;
      });
    }
    return run();
  }

  function queue(item, form, result) {
    return Q.add(item).then(function () {
      if (result) { result.textContent = d.msgQueued; }
      form.reset();
      return showPending();
    });
  }

  function itemFrom(form, extra) {
    var fields = [];
    var files = [];
    new FormData(form).forEach(function (value, name) {
      if (name === "csrfmiddlewaretoken") return;
      if (typeof value === "object" && value !== null && "size" in value) {
        if (value.size) files.push({ field: name, blob: value, name: value.name || "photo.jpg" });
      } else {
        fields.push([name, value]);
      }
    });
    var item = { user: String(user), url: form.getAttribute("action"), fields: fields, files: files, createdAt: Date.now() };
    Object.keys(extra).forEach(function (k) { item[k] = extra[k]; });
    return item;
  }
  function setField(item, name, value) {
    item.fields = item.fields.filter(function (f) { return f[0] !== name; });
    item.fields.push([name, value]);
  }

  // Case actions: sent now if the network answers, otherwise queued with the version seen.
  Array.prototype.forEach.call(document.querySelectorAll("form.m-act"), function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var fields = new FormData(form);
      var item = itemFrom(form, {
        kind: "act", caseId: form.dataset.case, version: fields.get("expected_version"),
        label: form.dataset.label, title: form.dataset.title
      });
      setField(item, "client_id", Q.newId());
      var notice = $("task-notice");
      Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
      session().then(function (s) { return send(item, s.csrf); }).then(function (res) {
        if (res.status >= 200 && res.status < 300) {
          sessionStorage.setItem(FLASH_KEY, res.data.message || d.msgSynced);
          window.location.reload();
          return null;
        }
        Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = false; });
        if (res.status === 0 || res.status >= 500) return queue(item, form, notice);
        notice.hidden = false;
        notice.textContent = res.status === 409 ? d.msgConflict : errorText(res);
        return null;
      }, function () {
        // No network: keep it on the phone, with the version it was taken on.
        return queue(item, form, null);
      });
    });
  });

  // "Report a problem": position and grid pre-filled; sent at once or queued (same key).
  var report = $("report-form");
  if (report) {
    var rd = report.dataset;
    // A cached copy of this page carries the key of its first render: every report written
    // on this page gets a key of its own, or a second offline report would replay the first.
    report.querySelector("[name=idempotency_key]").value = Q.newId();
    var CAT_KEY = "civicgrid.m.category." + user;
    var category = $("report-category");
    var lastCategory = localStorage.getItem(CAT_KEY);
    if (lastCategory && category.querySelector('option[value="' + lastCategory + '"]')) category.value = lastCategory;
    var locate = function () {
      if (!navigator.geolocation) { $("report-coords").textContent = rd.msgNogps; return; }
      $("report-coords").textContent = rd.msgLocating;
      navigator.geolocation.getCurrentPosition(function (pos) {
        var lon = pos.coords.longitude.toFixed(6), lat = pos.coords.latitude.toFixed(6);
        $("report-lon").value = lon; $("report-lat").value = lat;
        $("report-coords").textContent = lon + ", " + lat + " (±" + Math.round(pos.coords.accuracy) + " m)";
        fetch(rd.locate + "?lon=" + lon + "&lat=" + lat, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.json(); })
          .then(function (data) {
            var grid = data && data.grid ? data.grid.name : "";
            $("report-grid").textContent = grid ? rd.msgGrid + ": " + grid : (data && (data.message || (data.error && data.error.message))) || "";
            $("report-grid").dataset.code = data && data.grid ? data.grid.code : "";
          }).catch(function () { /* offline: the server locates it when the report arrives */ });
      }, function () { $("report-coords").textContent = rd.msgNogps; },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 10000 });
    };
    $("report-relocate").addEventListener("click", locate);
    locate();
    report.addEventListener("submit", function (ev) {
      ev.preventDefault();
      localStorage.setItem(CAT_KEY, category.value);
      var patrolField = $("report-patrol");
      if (!patrolField.value) {
        try {
          var st = JSON.parse(localStorage.getItem("civicgrid.patrol.v1." + user)) || {};
          if (st.patrolId) patrolField.value = st.patrolId;
        } catch (e) { /* no recorder state */ }
      }
      var key = report.querySelector("[name=idempotency_key]").value;
      var item = itemFrom(report, { kind: "report", key: key, label: rd.label, title: "" });
      var result = $("report-result");
      var fresh = function () {
        var keep = category.value, lon = $("report-lon").value, lat = $("report-lat").value;
        report.reset();
        category.value = keep; $("report-lon").value = lon; $("report-lat").value = lat;
        report.querySelector("[name=idempotency_key]").value = Q.newId();
      };
      $("report-submit").disabled = true;
      var keep = function () {
        return Q.add(item).then(function () {
          result.textContent = d.msgQueued; result.className = "m-result"; fresh(); return showPending();
        });
      };
      session().then(function (s) { return send(item, s.csrf); }).then(function (res) {
        if (res.status >= 200 && res.status < 300) {
          result.textContent = res.data.message || rd.msgSent;
          result.className = "m-result ok";
          fresh();
          return null;
        }
        if (res.status === 0 || res.status >= 500) return keep();
        result.textContent = errorText(res);
        result.className = "m-result error";
        return null;
      }, keep).then(function () { $("report-submit").disabled = false; });
    });
  }

  // Log-out: the service worker forgets this user's pages first; queued actions stay on the
  // phone (keyed by user) and replay at the next log-in of the same user.
  var logout = $("m-logout");
  logout.addEventListener("submit", function (ev) {
    ev.preventDefault();
    Q.all(user).catch(function () { return []; }).then(function (items) {
      if (items.length && !window.confirm(d.msgLogoutPending)) return;
      var submit = function () { HTMLFormElement.prototype.submit.call(logout); };
      var ctl = navigator.serviceWorker && navigator.serviceWorker.controller;
      if (!ctl) { submit(); return; }
      var timer = setTimeout(submit, 1500);
      navigator.serviceWorker.addEventListener("message", function (e) {
        if (e.data && e.data.type === "logged-out") { clearTimeout(timer); submit(); }
      });
      ctl.postMessage({ type: "logout" });
    });
  });
  $("sync-status").addEventListener("click", replay);

  showNotices();
  showPending().then(function (items) { if (items.length && navigator.onLine) replay(); });
  window.addEventListener("online", function () { banner(); replay(); });
  window.addEventListener("offline", banner);
  setInterval(function () { if (navigator.onLine) showPending().then(function (items) { if (items.length) replay(); }); }, 20000);
})();
