/*! rtp.js - the rtp tracker: events to the collector, decisions from delivery, no flicker.
 *
 * Load it synchronously in <head>, after window.RTP_CONFIG and the rtp-* meta tags
 * (page-type, product, category; sector, which wins over the config's for that page):
 *   { collector: "https://c.example", writeKey: "...", delivery: "" (same origin),
 *     budgetMs: 150, waitMs: budgetMs - 30, slots: ["hero", "overlay"], consentRequired: false,
 *     flushMs: 2000, mouseSampleMs: 100, mouseSampleRate: 1 }
 * Mark personalized areas with data-rtp-slot="hero" (their content is the default).
 * The page view is sent at once, and delivery is asked for the decision it triggers
 * (trigger=<its event id>, held up to waitMs), so this page is personalized by its own view.
 * Slots stay hidden until resolved: the decision answered within budgetMs (painted
 * instead of the default), or the budget ran out (the default is revealed; a late
 * decision only goes to slots the visitor has not seen yet). SSE updates overlays and
 * banners in place. window.__rtpPaintLog records every reveal and every painted frame.
 * The visitor id and its token (which delivery requires) come from the collector's
 * POST /v1/visitor and are kept in localStorage (rtp.vid, rtp.vtok); renewed before expiry.
 * API: rtp.consent(bool), rtp.identify(userId, traits), rtp.track(type, fields),
 *      rtp.formError(form, field, code), rtp.outcome(decisionId, kind, value), rtp.flush(),
 *      rtp.stats() (events queued, mouse samples buffered),
 *      rtp.renderers[slot] = function (element, decision) {...}
 */
(function (w, d) {
  "use strict";
  if (w.rtp && w.rtp.version) return;
  var cfg = w.RTP_CONFIG || {};
  var SLOT = "data-rtp-slot", STATE = "data-rtp-state", CONTENT = "data-rtp-content";
  var budgetMs = typeof cfg.budgetMs === "number" ? cfg.budgetMs : 150;
  var deliveryUrl = (cfg.delivery || "").replace(/\/$/, "");
  var collectorUrl = (cfg.collector || "").replace(/\/$/, "");
  var store = {};
  try { store = w.localStorage; } catch (e) { store = {}; }
  var session = {};
  try { session = w.sessionStorage; } catch (e) { session = {}; }
  function get(s, k) { try { return s.getItem ? s.getItem(k) : s[k]; } catch (e) { return null; } }
  function set(s, k, v) { try { if (s.setItem) s.setItem(k, v); else s[k] = v; } catch (e) { /* full */ } }
  function del(s, k) { try { if (s.removeItem) s.removeItem(k); else delete s[k]; } catch (e) { /* */ } }
  function uid() {
    if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }
  function now() { return Date.now(); }
  function perf() { return Math.round(((w.performance && performance.now()) || 0) * 10) / 10; }

  // -- the paint record -------------------------------------------------------------
  var paintLog = w.__rtpPaintLog = [];
  function log(step, slot, extra) {
    var entry = { t: perf(), step: step, slot: slot || null };
    for (var k in extra || {}) entry[k] = extra[k];
    paintLog.push(entry);
    if (cfg.debug && w.console) console.debug("rtp", entry);
  }
  function slotState(el) {
    var style = w.getComputedStyle(el);
    return { visible: style.visibility === "visible" && style.display !== "none",
             content: el.getAttribute(CONTENT) || "default" };
  }
  var lastFrame = {};
  function sample(step) {
    var slots = d.querySelectorAll("[" + SLOT + "]");
    for (var i = 0; i < slots.length; i++) {
      var name = slots[i].getAttribute(SLOT), s = slotState(slots[i]);
      var key = s.visible + "/" + s.content;
      if (step !== "frame") log(step, name, s);
      else if (lastFrame[name] !== key) { lastFrame[name] = key; log(step, name, s); }
    }
  }
  // rAF runs right before each paint: a changed slot state is logged in the frame it is painted.
  if (w.requestAnimationFrame) {
    var frame = function () { sample("frame"); w.requestAnimationFrame(frame); };
    w.requestAnimationFrame(frame);
  }
  if (w.MutationObserver) {
    new MutationObserver(function (records) {
      // A slot added after resolution (e.g. rendered by the site's script) is resolved too.
      if (settle && d.querySelector("[" + SLOT + "]:not([" + STATE + "])")) settle();
      for (var i = 0; i < records.length; i++) {
        var t = records[i].target;
        if (t.nodeType === 1 && (t.hasAttribute(SLOT) || (t.closest && t.closest("[" + SLOT + "]")))) {
          sample("mutation");
          return;
        }
      }
    }).observe(d.documentElement, { attributes: true, childList: true, subtree: true,
      attributeFilter: [SLOT, STATE, CONTENT, "style", "class", "hidden"] });
  }

  // -- identity and consent ---------------------------------------------------------
  var consentRequired = !!cfg.consentRequired;
  function consented() { return !consentRequired || get(store, "rtp.consent") === "1"; }
  function optedOut() { return get(store, "rtp.consent") === "0"; }
  function visitor() {
    if (!consented() || optedOut()) return null;
    return get(store, "rtp.vid") || null;
  }
  // the visitor's token while it is valid for another minute (its second field is the expiry)
  function token() {
    var t = get(store, "rtp.vtok"), ends = t ? Number(t.split(".")[1]) : 0;
    return ends * 1000 > now() + 60000 ? t : null;
  }
  var waiting = null;
  // A visitor id and token from the collector (new, or the same visitor renewed), then `then`.
  function identity(then) {
    if (visitor() && token()) { then(); return; }
    if (!consented() || optedOut() || !collectorUrl) return;
    if (waiting) { waiting.push(then); return; }
    waiting = [then];
    fetch(collectorUrl + "/v1/visitor", { method: "POST", credentials: "omit",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ writeKey: cfg.writeKey, token: get(store, "rtp.vtok") }) })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; })
      .then(function (a) {
        var calls = waiting; waiting = null;
        if (!a || !a.visitor || !a.token || !consented() || optedOut()) return;
        set(store, "rtp.vid", a.visitor); set(store, "rtp.vtok", a.token);
        calls.forEach(function (f) { f(); });
      });
  }
  function sessionId() {
    var s = get(session, "rtp.sid");
    if (!s) {
      s = "s-" + uid(); set(session, "rtp.sid", s);
      set(session, "rtp.landing", location.href);
      set(session, "rtp.landingRef", d.referrer || "");
    }
    return s;
  }
  function meta(name) {
    var m = d.querySelector('meta[name="rtp-' + name + '"]');
    return m ? m.getAttribute("content") : null;
  }
  function page() {
    return { url: location.href, type: meta("page-type"), product: meta("product"),
             category: meta("category"), referrer: d.referrer || null };
  }

  // -- sending events ---------------------------------------------------------------
  var queue = [], flushTimer = null, sending = true;
  function push(type, fields, urgent) {
    if (!sending || !consented() || optedOut() || !collectorUrl) return;
    var e = { id: uid(), type: type, time: now() };
    for (var k in fields || {}) e[k] = fields[k];
    queue.push(e);
    if (urgent || queue.length >= 20) schedule(0); else schedule(cfg.flushMs || 2000);
  }
  function schedule(ms) {
    if (flushTimer !== null && ms > 0) return;
    if (flushTimer !== null) clearTimeout(flushTimer);
    flushTimer = setTimeout(function () { flushTimer = null; flush(false); }, ms);
  }
  function flush(leaving) {
    var v = visitor();
    if (!queue.length) return;
    if (!v || !token()) { identity(function () { flush(false); }); if (!v) return; }
    var events = queue.splice(0, 50);
    var body = JSON.stringify({
      writeKey: cfg.writeKey, visitor: v, user: get(store, "rtp.uid"), session: sessionId(),
      sentAt: now(), page: page(), events: events,
      context: { device: device(), timezone: timezone(), sector: meta("sector") || cfg.sector || null,
                 landing: get(session, "rtp.landing"), landingReferrer: get(session, "rtp.landingRef") || null }
    });
    var url = collectorUrl + "/v1/t";
    // text/plain needs no CORS preflight; sendBeacon survives the page going away.
    if (leaving && navigator.sendBeacon && navigator.sendBeacon(url, body)) return;
    if (w.fetch) {
      fetch(url, { method: "POST", body: body, keepalive: true, credentials: "omit",
                   headers: { "Content-Type": "text/plain" } }).catch(function () { /* dropped */ });
    } else if (navigator.sendBeacon) {
      navigator.sendBeacon(url, body);
    }
    if (queue.length) schedule(0);
  }
  function device() {
    var ua = navigator.userAgent || "";
    if (/iPad|Tablet/i.test(ua)) return "tablet";
    if (/Mobi|iPhone|Android/i.test(ua)) return "mobile";
    return "desktop";
  }
  function timezone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || null; } catch (e) { return null; }
  }

  // -- behaviour: clicks, rage clicks, scroll depth, mouse samples, forms -----------
  var INTERACTIVE = "a,button,input,select,textarea,label,summary,[role=button],[role=link],[onclick]";
  function describe(el) {
    var parts = [];
    for (var i = 0; el && el.nodeType === 1 && i < 4; i++, el = el.parentElement) {
      var part = el.tagName.toLowerCase();
      if (el.id) { parts.unshift(part + "#" + el.id); break; }
      var cls = (typeof el.className === "string" ? el.className : "").trim().split(/\s+/).slice(0, 2);
      if (cls[0]) part += "." + cls.join(".");
      parts.unshift(part);
    }
    return parts.join(">").slice(0, 200);
  }
  var recentClicks = [];
  d.addEventListener("click", function (e) {
    var target = e.target && e.target.nodeType === 1 ? e.target : null;
    var x = Math.max(0, Math.round(e.pageX)), y = Math.max(0, Math.round(e.pageY));
    var where = describe(target);
    push("click", { x: x, y: y, target: where,
                    interactive: !!(target && target.closest && target.closest(INTERACTIVE)) });
    var t = now();
    recentClicks = recentClicks.filter(function (c) {
      return t - c.t <= 1000 && Math.abs(c.x - x) <= 30 && Math.abs(c.y - y) <= 30;
    });
    recentClicks.push({ t: t, x: x, y: y });
    if (recentClicks.length >= 3) {
      push("rage_click", { x: x, y: y, target: where, clicks: recentClicks.length }, true);
      recentClicks = [];
    }
    var slot = target && target.closest && target.closest("[" + SLOT + "][data-rtp-decision]");
    if (slot && !(target.closest(".rtp-dismiss"))) outcome(slot.getAttribute("data-rtp-decision"), "clicked");
  }, true);
  var maxDepth = 0, sentDepth = 0, scrollTimer = null;
  function depth() {
    var h = Math.max(d.documentElement.scrollHeight, d.body ? d.body.scrollHeight : 0);
    if (!h) return 0;
    return Math.min(100, Math.round((w.scrollY + w.innerHeight) / h * 1000) / 10);
  }
  w.addEventListener("scroll", function () {
    if (scrollTimer) return;
    scrollTimer = setTimeout(function () {
      scrollTimer = null;
      maxDepth = Math.max(maxDepth, depth());
      if (maxDepth - sentDepth >= 10) { sentDepth = maxDepth; push("scroll", { depth: maxDepth }); }
    }, 250);
  }, { passive: true });
  var mouse = null, samples = [], sampleStart = 0;
  var mouseOn = Math.random() < (typeof cfg.mouseSampleRate === "number" ? cfg.mouseSampleRate : 1);
  d.addEventListener("mousemove", function (e) { mouse = e; }, { passive: true });
  setInterval(function () {
    if (!mouseOn || !mouse) return;
    var t = now();
    if (!samples.length) sampleStart = t;
    samples.push([Math.max(0, Math.round(mouse.pageX)), Math.max(0, Math.round(mouse.pageY)), t - sampleStart]);
    mouse = null;
    if (samples.length >= 20) { push("mouse_move", { time: sampleStart, samples: samples }); samples = []; }
  }, cfg.mouseSampleMs || 100);
  var VALIDITY = ["valueMissing", "typeMismatch", "patternMismatch", "tooShort", "tooLong",
                  "rangeUnderflow", "rangeOverflow", "stepMismatch", "badInput", "customError"];
  function formId(form) { return form ? (form.id || form.getAttribute("name") || "form") : "form"; }
  d.addEventListener("invalid", function (e) {
    var el = e.target, code = "invalid";
    for (var i = 0; el.validity && i < VALIDITY.length; i++) if (el.validity[VALIDITY[i]]) { code = VALIDITY[i]; break; }
    push("form_error", { form: formId(el.form), field: el.name || el.id || null, error: code }, true);
  }, true);
  d.addEventListener("submit", function (e) { push("form_submit", { form: formId(e.target) }, true); }, true);
  function leave() {
    if (samples.length) { push("mouse_move", { time: sampleStart, samples: samples }); samples = []; }
    maxDepth = Math.max(maxDepth, depth());
    if (maxDepth > sentDepth) { sentDepth = maxDepth; push("scroll", { depth: maxDepth }); }
    flush(true);
  }
  w.addEventListener("pagehide", function () { ignoredAll(); leave(); });
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") leave(); });

  // -- decisions: render, reveal, report ---------------------------------------------
  var applied = {}, reported = {};
  // A decision shown and neither clicked nor dismissed by the time it expires or the visitor
  // leaves the page was ignored.
  function ignored(decisionId) {
    if (reported[decisionId + "shown"] && !reported[decisionId + "clicked"] &&
        !reported[decisionId + "dismissed"]) outcome(decisionId, "ignored");
  }
  function ignoredAll() {
    for (var k in reported) if (k.slice(-5) === "shown") ignored(k.slice(0, -5));
  }
  function outcome(decisionId, kind, value) {
    var v = visitor();
    if (!decisionId || !v || !token() || reported[decisionId + kind]) return;
    reported[decisionId + kind] = true;
    log("outcome", null, { decision: decisionId, kind: kind });
    fetch(deliveryUrl + "/v1/outcomes", { method: "POST", keepalive: true, credentials: "omit",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ decision_id: decisionId, visitor_id: v, kind: kind, value: value || 0,
                             token: token() }) })
      .catch(function () { /* best effort */ });
  }
  function el(tag, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  // A renderer returns false when it cannot show the payload: the default then stays.
  function variantTemplate(p) {
    if (!p.variant) return null;
    var all = d.querySelectorAll("template[data-rtp-variant]");
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-rtp-variant") === p.variant) return all[i];
    return null;
  }
  function banner(slot, decision) {
    var p = decision.payload || {};
    if (!(p.headline || p.title || p.message)) {
      var t = variantTemplate(p);
      if (!t) return false;
      slot.replaceChildren(t.content.cloneNode(true));
      return true;
    }
    var box = el("div", "rtp-banner rtp-" + (p.variant || "banner"));
    box.appendChild(el("strong", "rtp-headline", p.headline || p.title || p.message || ""));
    if (p.body || (p.message && (p.headline || p.title))) box.appendChild(el("span", "rtp-body", p.body || p.message));
    if (p.code) box.appendChild(el("span", "rtp-code", "Code " + p.code));
    if (p.href && p.cta) { var a = el("a", "rtp-cta", p.cta); a.href = p.href; box.appendChild(a); }
    var ends = Number(p.expires_at_ms);  // an offer with an expiry shows a countdown
    var left = ends ? box.appendChild(el("span", "rtp-countdown")) : null;
    slot.replaceChildren(box);
    var tick = function () {
      var s = Math.max(0, Math.round((ends - now()) / 1000));
      left.textContent = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2) + " left";
      if (s > 0 && left.isConnected) setTimeout(tick, 1000);  // until replaced or expired
    };
    if (left) tick();
    return true;
  }
  var renderers = {
    hero: banner, inline: banner,
    overlay: function (slot, decision) {
      if (!banner(slot, decision)) return false;
      var close = el("button", "rtp-dismiss", "\u00d7");
      close.type = "button";
      close.setAttribute("aria-label", "Dismiss");
      close.onclick = function () { outcome(decision.decision_id, "dismissed"); restore(slot); slot.hidden = true; };
      slot.firstChild.appendChild(close);
      slot.hidden = false;
      return true;
    },
    cta: function (slot, decision) {
      var p = decision.payload || {}, button = slot.querySelector("button,a") || slot;
      var t = variantTemplate(p), label = p.label || p.cta || (t && t.content.textContent.trim());
      if (!label) return false;
      if (slot.__rtpLabel === undefined) slot.__rtpLabel = button.textContent;
      button.textContent = label;
      return true;
    },
    // boost_category: that category first; order_by declining_availability: fewest left first
    // (items' data-availability, e.g. rooms or stock left; items without it keep their order last).
    grid: function (slot, decision) {
      var p = decision.payload || {}, boost = p.boost_category;
      var items = Array.prototype.slice.call(slot.children), key;
      if (boost) key = function (i) { return i.getAttribute("data-category") === boost ? 0 : 1; };
      else if (p.order_by === "declining_availability") {
        key = function (i) {
          var n = parseFloat(i.getAttribute("data-availability"));
          return isNaN(n) ? Infinity : n;
        };
        if (!items.some(function (i) { return key(i) < Infinity; })) return false;
      } else return false;
      items.sort(function (a, b) { var x = key(a), y = key(b); return x < y ? -1 : x > y ? 1 : 0; });
      items.forEach(function (i) { slot.appendChild(i); });
      return true;
    }
  };
  function restore(slot) {
    if (slot.__rtpDefault) slot.replaceChildren.apply(slot, slot.__rtpDefault);
    if (slot.__rtpLabel !== undefined) (slot.querySelector("button,a") || slot).textContent = slot.__rtpLabel;
    slot.removeAttribute("data-rtp-decision");
    slot.removeAttribute(CONTENT);
  }
  function apply(slot, decision, step) {
    var name = slot.getAttribute(SLOT);
    // the default's own nodes (not copies: their event listeners must survive a restore)
    if (!slot.__rtpDefault) slot.__rtpDefault = Array.prototype.slice.call(slot.childNodes);
    if ((rtp.renderers[name] || renderers[name] || banner)(slot, decision) === false) {
      log("unrenderable", name, { decision: decision.decision_id, action: decision.action_id });
      return false;
    }
    slot.setAttribute(CONTENT, "personalized");
    slot.setAttribute("data-rtp-decision", decision.decision_id);
    applied[name] = decision.decision_id;
    log(step, name, { decision: decision.decision_id, action: decision.action_id });
    watchShown(slot);
    // An expired decision goes (an offer must not outlive its expiry): the default comes back.
    var ends = Number(decision.expires_at);
    if (ends && ends - now() < 2147483647) {
      setTimeout(function () {
        if (slot.getAttribute("data-rtp-decision") !== decision.decision_id) return;
        restore(slot);
        if (name === "overlay") slot.hidden = true;
        log("expired", name, { decision: decision.decision_id });
        ignored(decision.decision_id);
      }, Math.max(0, ends - now()));
    }
    return true;
  }
  function reveal(slot, how) {
    if (slot.hasAttribute(STATE)) return;
    slot.setAttribute(STATE, how);
    log("reveal-" + how, slot.getAttribute(SLOT), {});
  }
  var seen = {}, shownObserver = null, settle = null;
  function onScreen(slot) {
    var r = slot.getBoundingClientRect(), s = w.getComputedStyle(slot);
    return s.display !== "none" && s.visibility === "visible" && r.width > 0 && r.height > 0 &&
      r.bottom > 0 && r.right > 0 && r.top < w.innerHeight && r.left < w.innerWidth;
  }
  function watchShown(slot) {
    if (!w.IntersectionObserver) { if (onScreen(slot)) outcome(slot.getAttribute("data-rtp-decision"), "shown"); return; }
    if (!shownObserver) {
      shownObserver = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          var s = entry.target, name = s.getAttribute(SLOT);
          if (!entry.isIntersecting || !onScreen(s)) return;
          seen[name] = true;
          var id = s.getAttribute("data-rtp-decision");
          if (id) outcome(id, "shown");
        });
      }, { threshold: 0.5 });
    }
    shownObserver.unobserve(slot);  // observing again delivers a fresh entry: a decision
    shownObserver.observe(slot);    // replaced in place is reported once it is on screen
  }
  function slots() { return Array.prototype.slice.call(d.querySelectorAll("[" + SLOT + "]")); }
  function whenReady(fn) {
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", fn); else fn();
  }
  // The parser has passed a slot's end tag once something follows it (its default is complete).
  function parsed(slot) {
    if (d.readyState !== "loading") return true;
    for (var n = slot; n && n !== d.body; n = n.parentNode) if (n.nextSibling) return true;
    return false;
  }
  function resolveSlots(answer, inBudget) {
    var decisions = (answer && answer.decisions) || {};
    slots().forEach(function (slot) {
      if (slot.hasAttribute(STATE) || !parsed(slot)) return;
      var decision = decisions[slot.getAttribute(SLOT)];
      if (decision && inBudget && apply(slot, decision, "apply")) reveal(slot, "personalized");
      else { reveal(slot, "default"); watchShown(slot); }
    });
  }
  function lateAnswer(answer) {
    var decisions = (answer && answer.decisions) || {};
    slots().forEach(function (slot) {
      var name = slot.getAttribute(SLOT), decision = decisions[name];
      if (!decision || applied[name] === decision.decision_id) return;
      if (seen[name] || onScreen(slot)) { log("late-skip", name, { decision: decision.decision_id }); return; }
      apply(slot, decision, "late-apply");
    });
  }
  // SSE frames wait until the first answer settled; decisions that answer held were handled by
  // its rules (in budget: applied; late: only unseen slots), so the stream's replay of them
  // never paints over a default the visitor already sees.
  var known = {}, held = [], settled = false;
  function settleAnswer(answer) {
    var decisions = (answer && answer.decisions) || {};
    for (var k in decisions) if (decisions[k]) known[decisions[k].decision_id] = true;
    settled = true;
    whenReady(function () { held.splice(0).forEach(onDecision); });
  }
  function onDecision(decision) {
    var name = decision.slot;
    if (!settled || d.readyState === "loading") { held.push(decision); return; }
    if (known[decision.decision_id] || applied[name] === decision.decision_id) {
      log("sse-known", name, { decision: decision.decision_id });
      return;
    }
    var slot = d.querySelector("[" + SLOT + '="' + name + '"]');
    if (!slot) return;
    var inPlace = name === "overlay" || (decision.payload || {}).variant === "banner";
    if (!inPlace && (seen[name] || onScreen(slot))) { log("sse-skip", name, { decision: decision.decision_id }); return; }
    if (apply(slot, decision, "sse-apply")) reveal(slot, "personalized");
  }
  function stream(v) {
    if (!w.EventSource) return;
    var source = new EventSource(deliveryUrl + "/v1/stream?visitor=" + encodeURIComponent(v) +
                                 "&token=" + encodeURIComponent(token() || ""));
    source.addEventListener("decision", function (e) {
      try { onDecision(JSON.parse(e.data)); } catch (err) { /* ignore a bad frame */ }
    });
    source.addEventListener("hello", function () { log("stream-open", null, {}); });
    w.addEventListener("pagehide", function () { source.close(); });
  }

  // -- start ---------------------------------------------------------------------------
  var rtp = w.rtp = {
    version: "1", renderers: {}, paintLog: paintLog,
    visitor: visitor,
    track: function (type, fields) { push(type, fields, true); },
    formError: function (form, field, code) { push("form_error", { form: form, field: field || null, error: code || "invalid" }, true); },
    identify: function (userId, traits) { if (userId) set(store, "rtp.uid", userId); push("identify", { user: userId, traits: traits || {} }, true); },
    outcome: outcome,
    consent: function (granted) {
      if (granted) {
        set(store, "rtp.consent", "1"); sending = true;
        push("consent", { personalization: true, analytics: true }, true);
        push("page_view", {}, true);
      } else {
        push("consent", { personalization: false, analytics: false }, true);
        flush(true);
        set(store, "rtp.consent", "0"); del(store, "rtp.vid"); del(store, "rtp.vtok"); del(store, "rtp.uid");
        sending = false;
      }
      log("consent", null, { granted: !!granted });
    },
    flush: function () { flush(false); },
    stats: function () { return { queued: queue.length, mouseSamples: samples.length }; }
  };
  var v = visitor();
  sessionId();
  // The page view goes out now (not at DOMContentLoaded), and delivery is asked for the decision
  // it triggers in the same moment: the request is held until the worker's decision on this page
  // view is consumed, or waitMs (the budget less the answer's way back) has passed.
  var pageView = uid();
  push("page_view", { id: pageView }, true);
  flush(false);
  if (!v || !token()) {
    log("no-personalization", null, { reason: v || consented() ? "no visitor token yet" : "no consent" });
    settle = function () { resolveSlots(null, false); };
    whenReady(settle);
    // a new (or returning, token expired) visitor: decisions arrive over the stream once identified
    identity(function () { settleAnswer(null); whenReady(function () { stream(visitor()); }); });
    return;
  }
  var expired = false, answered = false;
  var wanted = (cfg.slots || ["hero", "overlay"]).join(",");
  var waitMs = Math.max(0, Math.round(typeof cfg.waitMs === "number" ? cfg.waitMs : budgetMs - 30));
  log("ask", null, { budgetMs: budgetMs, trigger: pageView, waitMs: waitMs });
  var timer = setTimeout(function () {
    if (answered) return;
    expired = true;
    log("budget-expired", null, { budgetMs: budgetMs });
    settle = function () { resolveSlots(null, false); };
    whenReady(settle);
  }, budgetMs);
  var waited = null;
  fetch(deliveryUrl + "/v1/decisions?visitor=" + encodeURIComponent(v) + "&slots=" + encodeURIComponent(wanted) +
        "&trigger=" + encodeURIComponent(pageView) + "&wait_ms=" + waitMs + "&token=" + encodeURIComponent(token()),
        { credentials: "omit", cache: "no-store" })
    .then(function (r) { waited = r.headers.get("X-RTP-Wait"); return r.ok ? r.json() : null; })
    .catch(function () { return null; })
    .then(function (answer) {
      if (expired) {
        log("late-answer", null, { wait: waited });
        whenReady(function () { lateAnswer(answer); settleAnswer(answer); });
        return;
      }
      answered = true;
      clearTimeout(timer);
      log("answer", null, { inBudget: true, wait: waited });
      settle = function () { resolveSlots(answer, true); };
      settle();          // slots parsed so far
      whenReady(settle);  // and the rest
      settleAnswer(answer);
    });
  whenReady(function () { stream(v); });
})(window, document);
