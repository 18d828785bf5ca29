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
 * That page view is marked (wait: 1): when the worker decides it and delivers no action, it
 * says so and delivery answers at once (X-RTP-Wait "nothing"), so the slots do not wait out
 * the budget.
 * Slots stay hidden until resolved: the decision answered within budgetMs (painted
 * instead of the default), or the budget ran out (the default is revealed; a late
 * decision only goes to slots the visitor has not seen yet). SSE updates overlays and
 * banners in place. window.__rtpPaintLog records every reveal and every painted frame.
 * The visitor id and its token (which delivery requires) are kept in localStorage (rtp.vid,
 * rtp.vtok). A first-time visitor's first batch (with this page view) goes without an id: the
 * collector's answer brings one and its token, and delivery is asked then, for what is left
 * of waitMs (one collector round trip later than for a known visitor). Every batch carries the
 * token (the collector refuses a visitor id without its token); the collector's answer brings a
 * new one once the token is past half its lifetime, and one about to expire is renewed first
 * (POST /v1/visitor). A stored id without a token (an older tracker's) is not sent: the
 * collector gives the browser a new id.
 * Each personalized slot gets a "Why am I seeing this?" button (.rtp-why) that shows the
 * decision's reason and a one-click opt-out (rtp.consent(false): the opt-out goes to the
 * collector and every slot shows its default again).
 * API: rtp.consent(bool), rtp.identify(userId, traits, userHash), rtp.track(type, fields),
 *      rtp.formError(form, field, code), rtp.outcome(decisionId, kind, value), rtp.flush(),
 *      rtp.stats() (events queued, mouse samples buffered),
 *      rtp.renderers[slot] = function (element, decision) {...}
 */
(function (w, d) {
  "use strict";
  if (w.rtp && w.rtp.version) return;
  var cfg = w.RTP_CONFIG || {}, M = Math, enc = encodeURIComponent,
      SLOT = "data-rtp-slot", STATE = "data-rtp-state", CONTENT = "data-rtp-content",
      DECIDED = "data-rtp-decision", ANY = "[" + SLOT + "]",
      budgetMs = num("budgetMs", 150),
      deliveryUrl = (cfg.delivery || "").replace(/\/$/, ""),
      collectorUrl = (cfg.collector || "").replace(/\/$/, ""),
      store = storage("localStorage"), session = storage("sessionStorage");
  function num(name, otherwise) { return typeof cfg[name] == "number" ? cfg[name] : otherwise; }
  // Web storage, or a plain object where it is denied (the id then lasts as long as the page).
  function storage(name) { try { return w[name] || {}; } catch (e) { return {}; } }
  // Keys are "rtp." + k. Web storage's named properties are its getItem/setItem/removeItem
  // (a missing key reads undefined), so one path serves both.
  function get(s, k) { return s["rtp." + k]; }
  function set(s, k, v) { try { s["rtp." + k] = v; } catch (e) { /* full */ } }
  function uid() {  // randomUUID exists only in secure contexts
    return w.crypto && crypto.randomUUID ? crypto.randomUUID() : now().toString(36) + "-" + M.random().toString(36).slice(2, 12);
  }
  function now() { return Date.now(); }
  function attr(e, name) { return e.getAttribute(name); }
  function list(nodes) { return [].slice.call(nodes); }
  function slots() { return list(d.querySelectorAll(ANY)); }
  function pos(n) { return M.max(0, M.round(n)); }

  // -- the paint record -------------------------------------------------------------
  var paintLog = w.__rtpPaintLog = [], lastFrame = {};
  function log(step, extra, slot) {
    var entry = { t: M.round(performance.now() * 10) / 10, step: step, slot: slot || null };
    for (var k in extra) entry[k] = extra[k];
    paintLog.push(entry);
  }
  // a step about a decision in a slot
  function note(step, slot, decision) {
    log(step, { decision: decision.decision_id, action: decision.action_id }, slot);
  }
  function sample(step) {
    slots().forEach(function (el) {
      var name = attr(el, SLOT), s = { visible: visible(el), content: attr(el, CONTENT) || "default" },
          key = s.visible + "/" + s.content;
      if (step != "frame") log(step, s, name);
      else if (lastFrame[name] != key) { lastFrame[name] = key; log(step, s, name); }
    });
  }
  // rAF runs right before each paint: a changed slot state is logged in the frame it is painted.
  function frame() { sample("frame"); requestAnimationFrame(frame); }
  requestAnimationFrame(frame);
  new MutationObserver(function (records) {
    // A slot added after resolution (e.g. rendered by the site's script) is resolved too.
    if (settle && d.querySelector(ANY + ":not([" + STATE + "])")) settle();
    if (records.some(function (r) { return r.target.nodeType == 1 && r.target.closest(ANY); })) sample("mutation");
  }).observe(d.documentElement, { attributes: true, childList: true, subtree: true,
    attributeFilter: [SLOT, STATE, CONTENT, "style", "class", "hidden"] });

  // -- identity and consent ---------------------------------------------------------
  // Tracking and personalization are allowed: not opted out, and consented where the site requires it.
  function allowed() {
    var c = get(store, "consent");
    return c != "0" && (!cfg.consentRequired || c == "1");
  }
  function visitor() { return allowed() && get(store, "vid") || null; }
  // the visitor's token while it is valid for another minute (its second field is the expiry)
  function token() {
    var t = get(store, "vtok");
    return t && t.split(".")[1] * 1000 > now() + 60000 ? t : null;
  }
  // A POST as text/plain (a string body is sent as text/plain;charset=UTF-8: no CORS preflight),
  // best effort: a failure answers undefined.
  function post(url, data) {
    return fetch(url, { method: "POST", body: typeof data == "string" ? data : JSON.stringify(data),
                        keepalive: true, credentials: "omit" })
      .catch(nothing);
  }
  function nothing() {}
  function json(r) { return r && r.ok ? r.json() : null; }
  var asking = null;
  // A visitor id and token from the collector (renewed, or new with a first batch sent without
  // an id), then `then` (one request at a time).
  function identity(then, first) {
    if (visitor() && token()) return then();
    if (!allowed() || !collectorUrl) return;
    (asking = asking || post(collectorUrl + (first ? "/v1/t" : "/v1/visitor"),
                             first || { writeKey: cfg.writeKey, token: get(store, "vtok") })
      .then(json).catch(nothing).then(function (a) {
        asking = null;
        // opted out while the first batch was on its way: the opt-out still goes, for that id
        return a && (allowed() ? keep(a) : queue.length && !post(collectorUrl + "/v1/t", batch(a.visitor, a.token)));
      })).then(function (ok) { if (ok && token()) then(); });  // (a clock a day ahead: no loop)
  }
  // An answer's visitor id and token (a new visitor's, or a renewal: the collector renews a
  // token past half its lifetime in its answer to a batch).
  function keep(a) {
    return a && a.token && allowed() && !set(store, "vid", a.visitor) && !set(store, "vtok", a.token);
  }
  function sessionId() {
    var s = get(session, "sid");
    if (!s) {
      set(session, "sid", s = "s-" + uid());
      set(session, "landing", location.href);
      set(session, "landingRef", d.referrer);
    }
    return s;
  }
  function meta(name) {
    var m = d.querySelector('meta[name="rtp-' + name + '"]');
    return m && attr(m, "content");
  }

  // -- sending events ---------------------------------------------------------------
  var queue = [], flushTimer = null, sending = true;
  function push(type, fields, urgent) {
    if (!sending || !allowed() || !collectorUrl) return;
    var e = { id: uid(), type: type, time: now() };
    for (var k in fields) e[k] = fields[k];
    queue.push(e);
    schedule(urgent || queue.length >= 20 ? 0 : cfg.flushMs || 2000);
  }
  function schedule(ms) {
    if (flushTimer !== null && ms > 0) return;
    clearTimeout(flushTimer);
    flushTimer = setTimeout(function () { flushTimer = null; flush(); }, ms);
  }
  // The next events (up to 50) as a batch for visitor v with its token t (the collector requires
  // it; v null: a first batch, the collector names the visitor).
  function batch(v, t) {
    return JSON.stringify({
      writeKey: cfg.writeKey, visitor: v, token: t, user: get(store, "uid"), userHash: get(store, "uh"), session: sessionId(),
      sentAt: now(), events: queue.splice(0, 50),
      page: { url: location.href, type: meta("page-type"), product: meta("product"),
              category: meta("category"), referrer: d.referrer || null },
      // (the device class: the collector reads it from the request's User-Agent)
      // (a field left undefined is left out: the collector reads it as absent)
      context: { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
                 sector: meta("sector") || cfg.sector,
                 landing: get(session, "landing"), landingReferrer: get(session, "landingRef") || null }
    });
  }
  function flush(leaving) {
    var v = visitor(), url = collectorUrl + "/v1/t", body;
    if (!queue.length || !v && asking) return;  // (the rest waits for the first batch's id)
    if (v && !token()) return identity(flush);  // (the batch waits for the renewed token)
    body = batch(v, token());
    // sendBeacon survives the page going away.
    if (!v) identity(flush, body);
    else if (!leaving || !navigator.sendBeacon(url, body)) post(url, body).then(json).then(keep);
    if (queue.length) schedule(0);
  }

  // -- behaviour: clicks, rage clicks, scroll depth, mouse samples, forms -----------
  function on(target, type, fn, passive) { target.addEventListener(type, fn, passive ? { passive: true } : true); }
  function describe(el) {
    var parts = [];
    for (var i = 0; el && el.nodeType == 1 && i < 4; i++, el = el.parentElement) {
      var part = el.localName;
      if (el.id) { parts.unshift(part + "#" + el.id); break; }
      parts.unshift([part].concat(list(el.classList).slice(0, 2)).join("."));
    }
    return parts.join(">").slice(0, 200);
  }
  var recentClicks = [];
  on(d, "click", function (e) {
    var target = e.target.nodeType == 1 ? e.target : null, x = pos(e.pageX), y = pos(e.pageY),
        where = describe(target), t = now(),
        slot = target && target.closest("[" + DECIDED + "]");
    push("click", { x: x, y: y, target: where, interactive: !!(target && target.closest(
      "a,button,input,select,textarea,label,summary,[role=button],[role=link],[onclick]")) });
    recentClicks = recentClicks.filter(function (c) {
      return t - c.t <= 1000 && M.abs(c.x - x) <= 30 && M.abs(c.y - y) <= 30;
    });
    recentClicks.push({ t: t, x: x, y: y });
    if (recentClicks.length >= 3) {
      push("rage_click", { x: x, y: y, target: where, clicks: recentClicks.length }, true);
      recentClicks = [];
    }
    if (slot && !target.closest(".rtp-dismiss,.rtp-why")) outcome(attr(slot, DECIDED), "clicked");
  });
  var maxDepth = 0, sentDepth = 0, scrollTimer = null;
  function depth() {
    var h = M.max(d.documentElement.scrollHeight, d.body ? d.body.scrollHeight : 0);
    maxDepth = M.max(maxDepth, h && M.min(100, M.round((w.scrollY + w.innerHeight) / h * 1000) / 10));
  }
  on(w, "scroll", function () {
    if (!scrollTimer) scrollTimer = setTimeout(function () {
      scrollTimer = null;
      depth();
      if (maxDepth - sentDepth >= 10) push("scroll", { depth: sentDepth = maxDepth });
    }, 250);
  }, 1);
  var mouse = null, samples = [], sampleStart = 0,
      mouseOn = M.random() < num("mouseSampleRate", 1);
  on(d, "mousemove", function (e) { mouse = e; }, 1);
  function moves() { push("mouse_move", { time: sampleStart, samples: samples }); samples = []; }
  setInterval(function () {
    if (!mouseOn || !mouse) return;
    var t = now();
    if (!samples.length) sampleStart = t;
    samples.push([pos(mouse.pageX), pos(mouse.pageY), t - sampleStart]);
    mouse = null;
    if (samples.length >= 20) moves();
  }, cfg.mouseSampleMs || 100);
  function formId(form) { return form && (form.id || attr(form, "name")) || "form"; }
  on(d, "invalid", function (e) {
    var el = e.target, code = "invalid";
    // the first flag set of the field's ValidityState (valueMissing, typeMismatch, ...)
    for (var k in el.validity) if (el.validity[k] === true) { code = k; break; }
    push("form_error", { form: formId(el.form), field: el.name || el.id || null, error: code }, true);
  });
  on(d, "submit", function (e) { push("form_submit", { form: formId(e.target) }, true); });
  function leave() {
    if (samples.length) moves();
    depth();
    if (maxDepth > sentDepth) push("scroll", { depth: sentDepth = maxDepth });
    flush(true);
  }
  on(w, "pagehide", function () { shownIds.forEach(ignored); leave(); });
  on(d, "visibilitychange", function () { if (d.visibilityState == "hidden") leave(); });

  // -- decisions: render, reveal, report ---------------------------------------------
  var applied = {}, reported = {}, shownIds = [], seen = {}, shownObserver = null, settle = null;
  // A decision shown and neither clicked nor dismissed by the time it expires or the visitor
  // leaves the page was ignored.
  function ignored(id) {
    if (reported[id + "shown"] && !reported[id + "clicked"] && !reported[id + "dismissed"]) outcome(id, "ignored");
  }
  function outcome(id, kind, value) {
    var v = visitor();
    if (!id || !v || !token() || reported[id + kind]) return;
    reported[id + kind] = true;
    if (kind == "shown") shownIds.push(id);
    log("outcome", { decision: id, kind: kind });
    post(deliveryUrl + "/v1/outcomes", { decision_id: id, visitor_id: v, kind: kind, value: value || 0,
                                         token: token() });
  }
  function el(tag, cls, text, parent) {
    var e = d.createElement(tag);
    e.className = cls;
    if (text) e.textContent = text;
    if (tag == "button") e.type = tag;
    return parent ? parent.appendChild(e) : e;
  }
  // The site's <template data-rtp-variant="..."> of a payload's variant.
  function variant(p) {
    return p.variant && list(d.querySelectorAll("template[data-rtp-variant]")).filter(function (t) {
      return attr(t, "data-rtp-variant") == p.variant;
    })[0];
  }
  // A renderer returns false when it cannot show the payload: the default then stays.
  function banner(slot, decision) {
    var p = decision.payload || {}, head = p.headline || p.title, t = variant(p), box, left,
        ends = +p.expires_at_ms;  // an offer with an expiry shows a countdown
    if (!(head || p.message)) {
      if (!t) return false;
      slot.replaceChildren(t.content.cloneNode(true));
      return true;
    }
    box = el("div", "rtp-banner rtp-" + (p.variant || "banner"));
    el("strong", "rtp-headline", head || p.message, box);
    if (p.body || head && p.message) el("span", "rtp-body", p.body || p.message, box);
    if (p.code) el("span", "rtp-code", "Code " + p.code, box);
    if (p.href && p.cta) el("a", "rtp-cta", p.cta, box).href = p.href;
    left = ends && el("span", "rtp-countdown", "", box);
    slot.replaceChildren(box);
    function tick() {
      var s = pos((ends - now()) / 1000);
      left.textContent = M.floor(s / 60) + ":" + ("0" + s % 60).slice(-2) + " left";
      if (s > 0 && left.isConnected) setTimeout(tick, 1000);  // until replaced or expired
    }
    if (left) tick();
    return true;
  }
  function button(slot) { return slot.querySelector("button,a") || slot; }
  var renderers = {
    hero: banner, inline: banner,
    overlay: function (slot, decision) {
      if (!banner(slot, decision)) return false;
      var close = el("button", "rtp-dismiss", "\u00d7", slot.firstChild);
      close.setAttribute("aria-label", "Dismiss");
      close.onclick = function () { outcome(decision.decision_id, "dismissed"); restore(slot); };
      slot.hidden = false;
      return true;
    },
    cta: function (slot, decision) {
      var p = decision.payload || {}, t = variant(p), label = p.label || p.cta || t && t.content.textContent.trim();
      if (!label) return false;
      if (slot.__rtpL === undefined) slot.__rtpL = button(slot).textContent;
      button(slot).textContent = label;
      return true;
    },
    // boost_category: that category first; order_by declining_availability: fewest left first
    // (items' data-availability, e.g. rooms or stock left; items without it keep their order last).
    grid: function (slot, decision) {
      var p = decision.payload || {}, items = list(slot.children), key = p.boost_category ?
        function (i) { return attr(i, "data-category") == p.boost_category ? 0 : 1; } :
        function (i) { var n = parseFloat(attr(i, "data-availability")); return isNaN(n) ? 1e15 : n; };
      if (!p.boost_category && (p.order_by != "declining_availability" ||
          !items.some(function (i) { return key(i) < 1e15; }))) return false;
      // (sort is stable: equal keys keep the page's order)
      items.sort(function (a, b) { return key(a) - key(b); });
      items.forEach(function (i) { slot.appendChild(i); });
      return true;
    }
  };
  // The default comes back (an overlay is hidden again).
  function restore(slot) {
    if (slot.__rtpD) slot.replaceChildren.apply(slot, slot.__rtpD);
    if (slot.__rtpL !== undefined) button(slot).textContent = slot.__rtpL;
    slot.removeAttribute(DECIDED);
    slot.removeAttribute(CONTENT);
    if (attr(slot, SLOT) == "overlay") slot.hidden = true;
  }
  // "Why am I seeing this?": the decision's reason, and a one-click opt-out of personalization.
  // (a <details>: folded until asked, opened by its <summary>, with no script of ours)
  function why(slot, decision) {
    if (slot.matches("a,button")) return;  // a slot that is itself a button has no room
    var box = el("details", "rtp-why", "", slot);  // .rtp-why summary, span and button
    el("summary", "", "Why am I seeing this?", box);
    el("span", "", decision.reason || "Personalized for you.", box);
    el("button", "", "Turn off personalization", box).onclick = function () { rtp.consent(false); };
    box.ontoggle = function () { if (box.open) note("why", attr(slot, SLOT), decision); };
  }
  function apply(slot, decision, step) {
    var name = attr(slot, SLOT), id = decision.decision_id, old = slot.querySelector(".rtp-why"),
        ends = +decision.expires_at;
    if (!allowed()) return false;
    // the default's own nodes (not copies: their event listeners must survive a restore), kept
    // on the slot element as __rtpD (and its button's label as __rtpL; short: they survive
    // minification as written)
    if (!slot.__rtpD) slot.__rtpD = list(slot.childNodes);
    if (old) old.remove();
    if ((rtp.renderers[name] || renderers[name] || banner)(slot, decision) === false) {
      note("unrenderable", name, decision);
      return false;
    }
    why(slot, decision);
    slot.setAttribute(CONTENT, "personalized");
    slot.setAttribute(DECIDED, applied[name] = id);
    note(step, name, decision);
    reveal(slot, "personalized");  // (a slot revealed already stays as it is)
    watchShown(slot);
    // An expired decision goes (an offer must not outlive its expiry): the default comes back.
    if (ends && ends - now() < 2147483647) setTimeout(function () {
      if (attr(slot, DECIDED) != id) return;
      restore(slot);
      log("expired", { decision: id }, name);
      ignored(id);
    }, ends - now());  // (a delay already past runs at once)
    return true;
  }
  function reveal(slot, how) {
    if (slot.hasAttribute(STATE)) return;
    slot.setAttribute(STATE, how);
    log("reveal-" + how, 0, attr(slot, SLOT));
  }
  function visible(el) {
    var s = w.getComputedStyle(el);
    return s.visibility == "visible" && s.display != "none";
  }
  function onScreen(slot) {
    var r = slot.getBoundingClientRect();
    return visible(slot) && r.width > 0 && r.height > 0 &&
      r.bottom > 0 && r.right > 0 && r.top < w.innerHeight && r.left < w.innerWidth;
  }
  function watchShown(slot) {
    shownObserver = shownObserver || new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        var s = entry.target;
        if (!entry.isIntersecting || !onScreen(s)) return;
        seen[attr(s, SLOT)] = true;
        outcome(attr(s, DECIDED), "shown");
      });
    }, { threshold: 0.5 });
    shownObserver.unobserve(slot);  // observing again delivers a fresh entry: a decision
    shownObserver.observe(slot);    // replaced in place is reported once it is on screen
  }
  function whenReady(fn) {
    if (d.readyState == "loading") on(d, "DOMContentLoaded", fn); else fn();
  }
  // The parser has passed a slot's end tag once something follows it (its default is complete).
  function parsed(slot) {
    if (d.readyState != "loading") return true;
    for (var n = slot; n && n != d.body; n = n.parentNode) if (n.nextSibling) return true;
    return false;
  }
  function decisionsOf(answer) { return answer && answer.decisions || {}; }
  // Resolve the slots parsed so far with the answer in budget (none: the defaults).
  function resolveSlots(answer) {
    slots().forEach(function (slot) {
      var decision = decisionsOf(answer)[attr(slot, SLOT)];
      if (slot.hasAttribute(STATE) || !parsed(slot)) return;
      if (!decision || !apply(slot, decision, "apply")) { reveal(slot, "default"); watchShown(slot); }
    });
  }
  // A decision after its slot was resolved (a late answer, or the stream): it goes only where the
  // visitor has not seen the slot yet, unless it may update in place (overlays and banners, by SSE).
  function later(decision, via, inPlace) {
    var name = decision.slot, slot = d.querySelector("[" + SLOT + '="' + name + '"]');
    if (!slot || applied[name] == decision.decision_id) return;
    if (!inPlace && (seen[name] || onScreen(slot))) note(via + "-skip", name, decision);
    else apply(slot, decision, via + "-apply");
  }
  function lateAnswer(answer) {
    var decisions = decisionsOf(answer);
    for (var k in decisions) if (decisions[k]) later(decisions[k], "late");
  }
  // SSE frames wait until the first answer settled; decisions that answer held were handled by
  // its rules (in budget: applied; late: only unseen slots), so the stream's replay of them
  // never paints over a default the visitor already sees.
  var known = {}, held = [], settled = false;
  function settleAnswer(answer) {
    var decisions = decisionsOf(answer);
    for (var k in decisions) if (decisions[k]) known[decisions[k].decision_id] = true;
    settled = true;
    whenReady(function () { held.splice(0).forEach(onDecision); });
  }
  function onDecision(decision) {
    if (!settled || d.readyState == "loading") held.push(decision);
    else if (known[decision.decision_id] || applied[decision.slot] == decision.decision_id) note("sse-known", decision.slot, decision);
    else later(decision, "sse", decision.slot == "overlay" || (decision.payload || {}).variant == "banner");
  }
  function stream(v) {
    var source = new EventSource(deliveryUrl + "/v1/stream?visitor=" + enc(v) + "&token=" + enc(token()));
    source.addEventListener("decision", function (e) {
      try { onDecision(JSON.parse(e.data)); } catch (err) { /* ignore a bad frame */ }
    });
    on(w, "pagehide", function () { source.close(); });
  }

  // -- start ---------------------------------------------------------------------------
  var rtp = w.rtp = {
    version: "1", renderers: {}, paintLog: paintLog, visitor: visitor, outcome: outcome,
    track: function (type, fields) { push(type, fields, true); },
    formError: function (form, field, code) { push("form_error", { form: form, field: field || null, error: code || "invalid" }, true); },
    identify: function (userId, traits, hash) { if (userId) set(store, "uid", userId), set(store, "uh", hash || ""); push("identify", { user: userId, traits: traits || {} }, true); },
    consent: function (granted) {
      granted = !!granted;
      if (granted) set(store, "consent", "1");
      sending = true;
      push("consent", { personalization: granted, analytics: granted }, true);
      if (granted) push("page_view", {}, true);
      else {
        flush(true);
        set(store, "consent", "0");
        ["vid", "vtok", "uid", "uh"].forEach(function (k) { delete store["rtp." + k]; });
        sending = false;
        // personalized content goes at once: every slot shows its default again
        slots().forEach(restore);
      }
      log("consent", { granted: granted });
    },
    flush: function () { flush(); },
    stats: function () { return { queued: queue.length, mouseSamples: samples.length }; }
  };
  var pageView = uid(), expired = false, waited = null, start = now(),
      wanted = (cfg.slots || ["hero", "overlay"]).join(),
      waitMs = pos(num("waitMs", budgetMs - 30));
  function resolveWith(answer) { settle = function () { resolveSlots(answer); }; }
  sessionId();
  // The page view goes out now (not at DOMContentLoaded), and delivery is asked for the decision
  // it triggers in the same moment (a first-time visitor: once the collector's answer brings the
  // id): the request is held until the worker's decision on this page view is consumed, or what
  // is left of waitMs (the budget less the answer's way back) has passed.
  push("page_view", { id: pageView, wait: 1 }, true);
  flush();
  if (!allowed()) {
    log("no-personalization", { reason: "no consent" });
    resolveWith(null);
    whenReady(settle);
    return;
  }
  var timer = setTimeout(function () {
    expired = true;  // (an answer in time clears this timer)
    log("budget-expired");
    resolveWith(null);
    whenReady(settle);
  }, budgetMs);
  identity(function () {
    var v = visitor(), wait = pos(waitMs - now() + start);
    log("ask", { budgetMs: budgetMs, trigger: pageView, waitMs: wait });
    fetch(deliveryUrl + "/v1/decisions?visitor=" + enc(v) + "&slots=" + enc(wanted) + "&trigger=" + enc(pageView) +
          "&wait_ms=" + wait + "&token=" + enc(token()), { credentials: "omit", cache: "no-store" })
      .then(function (r) { waited = r.headers.get("X-RTP-Wait"); return json(r); })
      .catch(nothing)
      .then(function (answer) {
        if (expired) {
          log("late-answer", { wait: waited });
          return whenReady(function () { lateAnswer(answer); settleAnswer(answer); });
        }
        clearTimeout(timer);
        log("answer", { wait: waited });
        resolveWith(answer);
        settle();          // slots parsed so far
        whenReady(settle);  // and the rest
        settleAnswer(answer);
      });
    whenReady(function () { stream(v); });
  });
})(window, document);
