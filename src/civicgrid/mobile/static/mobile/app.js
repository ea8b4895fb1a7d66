/* 网格通: service worker registration, the offline banner, the forms (sent at once when the
   network answers, queued in IndexedDB when it does not) and the replay of the queue. */
(function () {
  "use strict";
  var body = document.body;
  var d = body.dataset;
  var user = d.user;
  var Q = window.CivicQueue;
  var $ = function (id) { return document.getElementById(id); };
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

  // --- Background Sync: the service worker sends the queue when the network is back, even
  // with the app closed, where the browser supports it; the page's own flush (online,
  // visible again, load, every 20 s) is the fallback. The queue's lock keeps it to one sender.
  var SYNC_TAG = "civicgrid-m-queue";
  function requestSync() {
    if (!("serviceWorker" in navigator)) return Promise.resolve(false);
    return navigator.serviceWorker.ready.then(function (reg) {
      if (!reg.sync || !reg.sync.register) return false;
      return reg.sync.register(SYNC_TAG).then(function () { return true; });
    }).catch(function () { return false; });
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (e.data && e.data.type === "queue-flushed") afterFlush(e.data);
    });
  }

  // --- notices: what happened to sent items, and the refused ones waiting for the user -----
  function button(text, cls, onclick) {
    var b = document.createElement("button");
    b.type = "button"; b.className = cls; b.textContent = text;
    b.addEventListener("click", onclick);
    return b;
  }
  function refusalNotice(item, rest, ul) {
    var li = document.createElement("li");
    li.className = "m-notice conflict m-refused";
    li.dataset.case = item.caseId || "";
    li.dataset.item = item.id;
    var text = (item.title ? "“" + item.title + "” " : "") + item.label + " " + d.msgRefused + ": " + item.refused.text;
    if (rest.length) {
      text += " " + d.msgHeld + ": " + rest.map(function (o) { return o.label; }).join(" → ");
    }
    var p = document.createElement("span");
    p.className = "m-refused-text"; p.textContent = text;
    li.appendChild(p);
    var bar = document.createElement("span");
    bar.className = "m-choices";
    var choose = function (choice) {
      return function () { Q.resolve(user, item.id, choice).then(refresh).then(function () { if (choice !== "discard") replay(); }); };
    };
    bar.appendChild(button(rest.length ? d.msgRetryAll : d.msgRetry, "m-btn m-retry", choose("retry")));
    if (rest.length) bar.appendChild(button(d.msgSkip, "m-btn m-skip", choose("skip")));
    bar.appendChild(button(rest.length ? d.msgDiscardAll : d.msgDiscard, "m-btn m-discard", choose("discard")));
    li.appendChild(bar);
    ul.appendChild(li);
  }
  function showNotices(items) {
    return Q.notices(user).catch(function () { return []; }).then(function (list) {
      var ul = $("m-notices");
      ul.textContent = "";
      var caseOnPage = $("task") ? $("task").dataset.case : null;
      var taskNotice = $("task-notice");
      (items || []).forEach(function (it) {
        if (!it.refused) return;
        var rest = items.filter(function (o) { return o.id > it.id && Q.chainKey(o) === Q.chainKey(it); });
        refusalNotice(it, rest, ul);
        if (taskNotice && caseOnPage && String(it.caseId) === caseOnPage) {
          taskNotice.hidden = false; taskNotice.textContent = it.label + ": " + it.refused.text;
        }
      });
      list.forEach(function (n) {
        var li = document.createElement("li");
        li.className = "m-notice " + n.kind;
        li.dataset.case = n.caseId || "";
        li.textContent = (n.title ? "“" + n.title + "” " : "") + n.text;
        var x = button("×", "m-x", function () { Q.dropNotice(n.id).then(function () { showNotices(lastItems); }); });
        x.setAttribute("aria-label", "×");
        li.appendChild(x);
        ul.appendChild(li);
      });
      var flash = sessionStorage.getItem(FLASH_KEY);
      if (flash) {
        sessionStorage.removeItem(FLASH_KEY);
        var li = document.createElement("li");
        li.className = "m-notice ok"; li.textContent = flash;
        ul.appendChild(li);
      }
    });
  }

  // --- pending items on the page ---------------------------------------------------------
  var lastItems = [];
  function chainText(list) {
    return list.map(function (o) { return o.label + (o.refused ? "(" + d.msgRefused + ")" : ""); }).join(" → ");
  }
  function showPending() {
    return Q.all(user).then(function (items) {
      lastItems = items;
      var waiting = Q.sendable(items);
      var status = $("sync-status");
      status.hidden = !waiting.length;
      status.textContent = d.msgPending + " " + waiting.length;
      var byCase = {};
      items.forEach(function (it) { if (it.caseId) (byCase[it.caseId] = byCase[it.caseId] || []).push(it); });
      Array.prototype.forEach.call(document.querySelectorAll(".m-task[data-case]"), function (li) {
        var list = byCase[li.dataset.case];
        var span = li.querySelector(".m-pending");
        span.hidden = !list;
        span.textContent = list ? d.msgToSend + ": " + chainText(list) : "";
      });
      return showTask(byCase).then(function () { return items; });
    }).catch(function () { return []; });
  }
  /* The task page: the case's waiting actions in order (the last one may be cancelled), and
     the forms of the status those actions lead to (taken offline, they join the chain). */
  function showTask(byCase) {
    var task = $("task");
    if (!task) return Promise.resolve();
    var mine = byCase[task.dataset.case] || [];
    return Q.known(user, task.dataset.case).catch(function () { return null; }).then(function (known) {
      var predicted = task.dataset.status;
      if (known && Number(known.version) > Number(task.dataset.version)) predicted = known.status;
      var stuck = false;
      mine.forEach(function (o) { if (o.refused) stuck = true; if (o.to) predicted = o.to; });
      var box = $("task-pending");
      box.hidden = !mine.length;
      $("task-pending-list").textContent = mine.length ? d.msgToSend + ": " + chainText(mine) : "";
      $("cancel-last").textContent = mine.length ? d.msgCancelLast + "“" + mine[mine.length - 1].label + "”" : "";
      var shown = 0;
      Array.prototype.forEach.call(document.querySelectorAll("form.m-act"), function (form) {
        var fits = (form.dataset.when || "").split(" ").indexOf(predicted) !== -1;
        form.hidden = !fits;
        if (fits) shown += 1;
        Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = stuck; });
      });
      $("no-actions").hidden = shown > 0;
      var notice = $("task-notice");
      if (mine.length && !stuck) {
        notice.hidden = false;
        notice.textContent = d.msgToSend + ": " + chainText(mine) + " — " + d.msgQueued;
      } else if (!mine.length && notice.textContent.indexOf(d.msgToSend) === 0) {
        notice.hidden = true; notice.textContent = "";
      }
    });
  }
  function refresh() {
    return showPending().then(function (items) { return showNotices(items).then(function () { return items; }); });
  }

  // --- sending ---------------------------------------------------------------------------
  function session() {
    return fetch(d.session, { credentials: "same-origin", cache: "no-store" }).then(function (r) { return r.json(); });
  }
  function errorText(res) { return Q.errorText(res, { conflict: d.msgConflict, failed: d.msgFailed }); }
  var MESSAGES = { synced: d.msgSynced, conflict: d.msgConflict, failed: d.msgFailed };

  function afterFlush(r) {
    return refresh().then(function () {
      // What the page shows is older than what was just applied: show the server's state.
      if (r && r.done && !document.querySelector("form :focus")) window.location.reload();
    });
  }
  function replay() {
    if (!navigator.onLine) return Promise.resolve(null);
    $("sync-status").textContent = d.msgSyncing;
    return Q.flush({ user: user, session: d.session, messages: MESSAGES }).then(function (r) {
      if (r.stopped === "relogin" || r.stopped === "user") $("sync-status").textContent = d.msgRelogin;
      return afterFlush(r).then(function () {
        if (r.stopped === "relogin" || r.stopped === "user") {
          var st = $("sync-status"); st.hidden = false; st.textContent = d.msgRelogin;
        }
        return r;
      });
    }, function () { return refresh(); });
  }

  function queueAction(item, form) {
    return Q.addAction(item, item.version).then(function () {
      form.reset();
      requestSync();
      return refresh();
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

  // Case actions: sent now if nothing of the case waits and the network answers; otherwise
  // queued behind the case's earlier actions (each with an Idempotency-Key of its own).
  Array.prototype.forEach.call(document.querySelectorAll("form.m-act"), function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var fields = new FormData(form);
      var key = Q.newId();
      var item = itemFrom(form, {
        kind: "act", caseId: form.dataset.case, version: Number(fields.get("expected_version")),
        label: form.dataset.label, title: form.dataset.title, to: form.dataset.to || "", key: key, refused: null
      });
      setField(item, "client_id", key);
      var notice = $("task-notice");
      var buttons = form.querySelectorAll("button");
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      Q.all(user).catch(function () { return []; }).then(function (items) {
        var behind = items.some(function (o) { return String(o.caseId) === String(item.caseId); });
        if (behind || !navigator.onLine) {
          return queueAction(item, form).then(function () { if (navigator.onLine) replay(); });
        }
        return session().then(function (s) { return Q.send(item, s.csrf); }).then(function (res) {
          if (res.status >= 200 && res.status < 300) {
            sessionStorage.setItem(FLASH_KEY, res.data.message || d.msgSynced);
            window.location.reload();
            return null;
          }
          Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
          if (res.status === 0 || res.status >= 500) return queueAction(item, form);
          notice.hidden = false;
          notice.textContent = errorText(res);
          return null;
        }, function () {
          // No network (or the answer was lost): keep it on the phone, same key.
          return queueAction(item, form);
        });
      });
    });
  });

  var cancel = $("cancel-last");
  if (cancel) {
    cancel.addEventListener("click", function () {
      Q.cancelLast(user, $("task").dataset.case).then(function (r) {
        var notice = $("task-notice");
        return refresh().then(function () {
          if (!r.ok && r.reason === "sending") { notice.hidden = false; notice.textContent = d.msgCancelSending; }
          else if (r.ok) { notice.hidden = false; notice.textContent = d.msgCancelled + ": " + r.label; }
        });
      });
    });
  }

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
        item.refused = null;
        return Q.add(item).then(function () {
          result.textContent = d.msgQueued; result.className = "m-result"; fresh(); requestSync(); return showPending();
        });
      };
      session().then(function (s) { return Q.send(item, s.csrf); }).then(function (res) {
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

  refresh().then(function (items) {
    if (Q.sendable(items).length) { requestSync(); replay(); }
  });
  window.addEventListener("online", function () { banner(); replay(); });
  window.addEventListener("offline", banner);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") return;
    refresh().then(function (items) { if (Q.sendable(items).length) replay(); });
  });
  setInterval(function () {
    if (navigator.onLine) showPending().then(function (items) { if (Q.sendable(items).length) replay(); });
  }, 20000);
})();
