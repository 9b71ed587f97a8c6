// alertbridge web UI: times in the browser's zone, live SLA clocks, the
// live incident list, and confirmations. Everything works without it; it
// only makes the pages current and local.
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* keep UTC */ }
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });

  function localize(root) {
    root.querySelectorAll("time[data-local]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) { t.textContent = fmt.format(d); t.title = t.getAttribute("datetime"); }
    });
  }

  function human(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (s < 60) return s + "s";
    if (m < 60) return m + "m";
    if (h < 24) return h + "h " + (m % 60) + "m";
    return d + "d " + (h % 24) + "h";
  }

  function clocks(root) {
    root.querySelectorAll("[data-deadline]").forEach(function (b) {
      var at = new Date(b.getAttribute("data-deadline"));
      if (isNaN(at)) return;
      var left = at - Date.now(), label = b.getAttribute("data-label");
      if (left <= 0) {
        b.textContent = label + " overdue";
        b.className = "badge sla sla-breached";
      } else {
        b.textContent = label + " " + human(left);
      }
    });
  }

  function live(el) {
    var base = el.getAttribute("data-live"), every = parseInt(el.getAttribute("data-poll"), 10) || 5000;
    var etag = el.getAttribute("data-etag") || null, busy = false;
    function url() {
      var u = new URL(base, location.href);
      u.searchParams.set("part", "rows");
      return u.toString();
    }
    function poll() {
      if (busy || document.hidden) return;
      busy = true;
      var headers = {};
      if (etag) headers["If-None-Match"] = etag;
      fetch(url(), { headers: headers, credentials: "same-origin" }).then(function (r) {
        if (r.status === 304) return null;
        if (!r.ok) return null;
        etag = r.headers.get("ETag");
        return r.text();
      }).then(function (html) {
        if (html === null || html === undefined) return;
        var before = {};
        el.querySelectorAll("tr[data-incident]").forEach(function (tr) { before[tr.getAttribute("data-incident")] = tr.textContent; });
        el.innerHTML = html;
        el.querySelectorAll("tr[data-incident]").forEach(function (tr) {
          if (before[tr.getAttribute("data-incident")] !== tr.textContent) tr.classList.add("changed");
        });
        localize(el);
        clocks(el);
      }).catch(function () { /* try again next time */ }).finally(function () { busy = false; });
    }
    // The page itself is the first version and carries its ETag, so the
    // first poll answers 304 unless something changed since.
    setInterval(poll, every);
    document.addEventListener("visibilitychange", poll);
  }

  function confirmations(root) {
    root.addEventListener("submit", function (ev) {
      var msg = ev.target.getAttribute("data-confirm");
      if (msg && !window.confirm(msg)) ev.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    clocks(document);
    setInterval(function () { clocks(document); }, 30000);
    document.querySelectorAll("[data-zone]").forEach(function (z) { if (zone) z.textContent = zone; });
    document.querySelectorAll("[data-live]").forEach(live);
    confirmations(document);
  });
})();
// == report ==
// The Report page's priority as impact and urgency are chosen: read from
// the matrix the page shows, which the server made with the real one.
(function () {
  "use strict";
  var impact = document.getElementById("impact"), urgency = document.getElementById("urgency");
  var out = document.getElementById("report-priority");
  if (!impact || !urgency || !out) return;
  function update() {
    var cur = null;
    document.querySelectorAll("table.matrix td").forEach(function (td) {
      var hit = td.getAttribute("data-impact") === impact.value && td.getAttribute("data-urgency") === urgency.value;
      td.classList.toggle("current", hit);
      if (hit) cur = td;
    });
    out.textContent = cur ? cur.textContent : "–";
  }
  impact.addEventListener("change", update);
  urgency.addEventListener("change", update);
  update();
})();
