/* Siyu web tracking, served at /t.js: page views, custom events and identify, sent in batches
   to the merchant's own Siyu at /v1/batch (the Segment HTTP API). No dependencies.
   <script src="https://shop.example/t.js" data-write-key="sywk_…" async></script>
   The write key is public by design: it can send events and read nothing. */
(function (w, d) {
  "use strict";
  if (w.siyu && w.siyu.loaded) return;
  var VERSION = "1.0.0";
  var AID = "siyu_aid", UID = "siyu_uid", YEAR = 31536000;
  var FLUSH_MS = 300, MAX_BATCH = 50, MAX_ATTEMPTS = 10, MAX_DELAY_MS = 60000;
  var script = d.currentScript || d.querySelector("script[data-write-key]");
  if (!script) return;
  var key = script.getAttribute("data-write-key") || "";
  var host = (script.getAttribute("data-host") || script.src.replace(/^(https?:\/\/[^/]+).*$/, "$1"))
    .replace(/\/+$/, "");
  var queue = [], inFlight = false, timer = null, attempt = 0;

  function uuid() {
    var c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // First-party cookie on the page's own site, with localStorage as the fallback (and the
  // other way round), so an id survives either being cleared.
  function readCookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function store(name, value) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    var age = value === null ? 0 : YEAR;
    try { d.cookie = name + "=" + encodeURIComponent(value || "") + "; Max-Age=" + age + "; Path=/; SameSite=Lax" + secure; } catch (e) { /* cookies off */ }
    try { value === null ? w.localStorage.removeItem(name) : w.localStorage.setItem(name, value); } catch (e) { /* storage off */ }
  }
  function load(name) {
    var value = readCookie(name);
    if (!value) { try { value = w.localStorage.getItem(name); } catch (e) { value = null; } }
    if (value) store(name, value);
    return value;
  }

  var anonymousId = load(AID);
  if (!anonymousId) { anonymousId = uuid(); store(AID, anonymousId); }
  var userId = load(UID);

  function pageInfo() {
    return {
      path: location.pathname, referrer: d.referrer, search: location.search,
      title: d.title, url: location.href.split("#")[0]
    };
  }

  function message(type, fields) {
    var m = {
      type: type, messageId: uuid(), timestamp: new Date().toISOString(), anonymousId: anonymousId,
      context: {
        library: { name: "siyu.js", version: VERSION }, page: pageInfo(),
        userAgent: navigator.userAgent, locale: navigator.language
      }
    };
    if (userId) m.userId = userId;
    for (var k in fields) if (Object.prototype.hasOwnProperty.call(fields, k)) m[k] = fields[k];
    queue.push(m);
    if (queue.length >= MAX_BATCH) flush(); else schedule(FLUSH_MS);
  }

  function schedule(ms) {
    if (!timer) timer = setTimeout(function () { timer = null; flush(); }, ms);
  }

  function body(batch) {
    // sentAt lets the server correct each timestamp for this device's clock being off.
    return JSON.stringify({ batch: batch, sentAt: new Date().toISOString(), writeKey: key });
  }

  function retry(batch) {
    queue = batch.concat(queue);
    attempt += 1;
    if (attempt > MAX_ATTEMPTS) { queue = []; attempt = 0; return; }
    var delay = Math.min(MAX_DELAY_MS, 1000 * Math.pow(2, attempt - 1));
    schedule(delay / 2 + Math.random() * delay / 2);
  }

  function flush() {
    if (inFlight || !queue.length || !w.fetch) return;
    var batch = queue.splice(0, MAX_BATCH);
    inFlight = true;
    w.fetch(host + "/v1/batch", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: body(batch),
      keepalive: true, credentials: "omit"
    }).then(function (response) {
      inFlight = false;
      // 400 means the batch itself is wrong: sending it again cannot help (as the SDKs do).
      if (response.ok || response.status === 400) { attempt = 0; if (queue.length) schedule(0); }
      else retry(batch);
    }, function () { inFlight = false; retry(batch); });
  }

  // On leaving the page, hand what is left to the browser, which sends it after the page is gone.
  function beacon() {
    if (!queue.length || !navigator.sendBeacon) return;
    var batch = queue.splice(0, MAX_BATCH);
    // text/plain needs no CORS preflight, which a beacon cannot make.
    if (!navigator.sendBeacon(host + "/v1/batch", new Blob([body(batch)], { type: "text/plain" }))) {
      queue = batch.concat(queue);
    }
  }
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") beacon(); });
  w.addEventListener("pagehide", beacon);

  function obj(value) { return value && typeof value === "object" ? value : {}; }

  var api = {
    loaded: true,
    VERSION: VERSION,
    track: function (event, properties) {
      if (event) message("track", { event: String(event), properties: obj(properties) });
    },
    page: function (name, properties) {
      if (name && typeof name === "object") { properties = name; name = null; }
      var props = pageInfo(), extra = obj(properties);
      for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) props[k] = extra[k];
      var fields = { properties: props };
      if (name) fields.name = String(name);
      message("page", fields);
    },
    identify: function (id, traits) {
      if (id && typeof id === "object") { traits = id; id = null; }
      if (id) { userId = String(id); store(UID, userId); }
      message("identify", { traits: obj(traits) });
    },
    reset: function () {
      userId = null; store(UID, null);
      anonymousId = uuid(); store(AID, anonymousId);
    },
    anonymousId: function () { return anonymousId; },
    userId: function () { return userId; },
    flush: flush
  };

  // Calls made before this script loaded, by the optional stub in the docs: siyu.q = [[name, args]].
  var early = w.siyu && w.siyu.q;
  w.siyu = api;
  if (script.getAttribute("data-auto-page") !== "false") api.page();
  if (early) for (var i = 0; i < early.length; i++) {
    if (api[early[i][0]]) api[early[i][0]].apply(api, early[i][1]);
  }
})(window, document);
