/* The patrol recorder: geolocation points go to a queue in localStorage and are uploaded in
   batches every 10 s. The queue is only trimmed once the server has acknowledged a batch, so a
   lost connection (or a closed tab) loses nothing. Starting and ending are queued the same way. */
(function () {
  "use strict";
  var app = document.getElementById("patrol-app");
  if (!app) return;
  var api = app.dataset.api;
  var KEY = "civicgrid.patrol.v1." + app.dataset.user;
  var BATCH = 5000;
  var csrf = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
  var $ = function (id) { return document.getElementById(id); };
  var watchId = null;
  var busy = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  var state = load();
  if (app.dataset.active && !state.patrolId) state = { patrolId: +app.dataset.active, points: [] };
  state.points = state.points || [];
  function save() {
    if (state.patrolId || state.clientId) localStorage.setItem(KEY, JSON.stringify(state));
    else localStorage.removeItem(KEY);
    $("patrol-queued").textContent = String(state.points.length);
  }
  function say(text) { $("patrol-state").textContent = text; }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return { status: r.status, data: data }; });
    });
  }

  function record(pos) {
    state.points.push({ t: Math.round(pos.timestamp), lon: pos.coords.longitude, lat: pos.coords.latitude,
                        acc: pos.coords.accuracy });
    save();
  }
  function watch() {
    if (watchId !== null || !navigator.geolocation) return;
    watchId = navigator.geolocation.watchPosition(record, function () { say(app.dataset.msgNogps); },
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
  }
  function unwatch() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
  }
  function buttons() {
    var running = !!(state.patrolId || state.clientId) && !state.ending;
    $("patrol-start").hidden = running || !!state.ending;
    $("patrol-end").hidden = !running;
  }

  // One step of the queue per call; returns a promise. Errors leave the queue as it is.
  function step() {
    if (state.clientId && !state.patrolId) {
      return post(api, { client_id: state.clientId, started_at: state.startedAt }).then(function (r) {
        if (r.status === 200 || r.status === 201) { state.patrolId = r.data.id; save(); return true; }
        if (r.status === 409) { say(r.data.error.message); state = { points: [] }; save(); buttons(); unwatch(); }
        return false;
      });
    }
    if (state.patrolId && state.points.length) {
      var batch = state.points.slice(0, BATCH);
      return post(api + state.patrolId + "/points", { points: batch }).then(function (r) {
        if (r.status === 200) { state.points = state.points.slice(batch.length); save(); return true; }
        if (r.status === 400 && r.data.error && r.data.error.fields && r.data.error.fields.bad_indexes) {
          // Impossible fixes are never accepted: drop exactly those, keep the rest queued.
          var bad = {};
          r.data.error.fields.bad_indexes.forEach(function (i) { bad[i] = true; });
          state.points = batch.filter(function (_p, i) { return !bad[i]; }).concat(state.points.slice(batch.length));
          save();
          return true;
        }
        if (r.status === 404) { state = { points: [] }; save(); buttons(); }
        return false;
      });
    }
    if (state.patrolId && state.ending) {
      return post(api + state.patrolId + "/end").then(function (r) {
        if (r.status === 200) {
          state = { points: [] }; save(); say(app.dataset.msgEnded);
          window.location.reload();
        }
        return false;
      });
    }
    return Promise.resolve(false);
  }
  function flush() {
    if (busy) return;
    busy = true;
    var loop = function () {
      return step().then(function (more) { return more ? loop() : null; });
    };
    loop().catch(function () { say(app.dataset.msgOffline); }).then(function () { busy = false; });
  }

  $("patrol-start").addEventListener("click", function () {
    state = { clientId: (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
                        : String(Date.now()) + Math.random().toString(16).slice(2),
              startedAt: new Date().toISOString(), points: [] };
    save(); buttons(); watch(); say(app.dataset.msgStarted); flush();
  });
  $("patrol-end").addEventListener("click", function () {
    state.ending = true; save(); buttons(); unwatch(); say(app.dataset.msgEnding); flush();
  });

  save(); buttons();
  if ((state.patrolId || state.clientId) && !state.ending) { watch(); say(app.dataset.msgStarted); }
  flush();
  setInterval(flush, 10000);
  window.addEventListener("online", flush);
})();
