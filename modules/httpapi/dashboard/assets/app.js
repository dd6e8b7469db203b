// Joyride dashboard: reads the JSON API of the node that serves it and keeps the page current from the event
// stream. Every string from the API reaches the page through textContent (never as markup), rows are updated in
// place keyed by what they show, and nothing but the changed cells is rewritten, so the page does not flash.
//
// Records are filtered by the API (GET /dns/records?name=&source=&node=) rather than in the page: a node with
// 10,000 records would otherwise send the whole list (about 2 MB) on every change while a filter is set, and the
// API's filters mean what scripts using them see. The page shows at most RECORD_LIMIT rows and says so.
"use strict";
(() => {
  const RECORD_LIMIT = 1000;
  const EVENT_LIMIT = 50;
  const POLL_MS = 5000;
  const RECONNECT_MS = 15000;
  const FETCH_TIMEOUT_MS = 15000;
  // What an event refetches waits for a quiet moment, but a steady stream of events gets a refetch at most every
  // REFETCH_GAP_MS and at least every REFETCH_MAX_MS.
  const REFETCH_GAP_MS = 1000;
  const REFETCH_MAX_MS = 2000;
  // Event families as /events/stream names them (`event: <family>`); an EventSource only hands named events to
  // listeners of that name.
  const FAMILIES = ["dns", "hosts", "container", "sync", "traefikfile", "node", "system", "health", "error", "retry"];
  const RECORD_FAMILIES = new Set(["dns", "hosts", "container", "sync", "traefikfile"]);
  const CLUSTER_FAMILIES = new Set(["node", "sync"]);
  const STATUS_FAMILIES = new Set(["health", "system", "retry"]);

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  const setText = (e, text) => {
    const s = text === undefined || text === null ? "" : String(text);
    if (e.textContent !== s) e.textContent = s;
  };

  const state = {
    filter: { name: "", source: "", node: "*" },
    records: new Map(), // key -> {tr, rec}
    recordsLoaded: false,
    shownFilter: "",
    recordsSeq: 0,
    status: null,
    statusAt: 0,
    health: new Map(), // name -> li
    members: new Map(), // node id -> tr
    eventIds: new Set(),
    follow: "",
    explain: "",
    es: null,
    poll: 0,
    timers: new Map(),
  };

  // ---- formatting ------------------------------------------------------------------------------------------

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24;
    const m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    const p2 = (n) => String(n).padStart(2, "0");
    if (d > 0) return `${d}d ${h}h ${p2(m)}m`;
    if (h > 0) return `${h}h ${p2(m)}m ${p2(s)}s`;
    return `${m}m ${p2(s)}s`;
  }
  function ago(seconds) {
    if (!isFinite(seconds)) return "";
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return `${seconds}s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
    return `${Math.floor(seconds / 86400)}d`;
  }
  function time(ts) {
    const t = Date.parse(ts);
    return isFinite(t) ? new Date(t).toLocaleTimeString([], { hour12: false }) : "";
  }
  function dateTime(ts) {
    const t = Date.parse(ts);
    if (!isFinite(t) || t <= 0) return "";
    return `${new Date(t).toLocaleString([], { hour12: false })} (${ago((Date.now() - t) / 1000)} ago)`;
  }
  const nodeName = (n) => (n ? n : "this node");

  // ---- fetching --------------------------------------------------------------------------------------------

  async function getJSON(url) {
    // Bounded, since a refetch waits for the one before it to end (see later).
    const res = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    return { status: res.status, body };
  }

  function problem(where, err) {
    setText($("error"), err ? `${where}: ${err.message || err}` : "");
  }

  // later runs fn once for the calls with the same key that come before it runs, so that a burst of events is one
  // refetch: quiet ms after the last call, but no later than max ms after the first (waiting for quiet alone, a
  // steady stream of events would put the refetch off for as long as it lasts) and no sooner than gap ms after
  // the previous run began. One run at a time: a call while fn's promise is pending is run after it settles, so
  // a slow API is not sent a pile of requests.
  function later(key, fn, { quiet, gap = 0, max = Infinity }) {
    const now = Date.now();
    let k = state.timers.get(key);
    if (!k) {
      k = { timer: 0, first: 0, due: 0, ran: -Infinity, running: false };
      state.timers.set(key, k);
    }
    if (!k.first) k.first = now;
    k.fn = fn;
    k.gap = gap;
    k.due = Math.min(now + quiet, k.first + max);
    arm(k);
  }

  function arm(k) {
    clearTimeout(k.timer);
    if (k.running || !k.first) return;
    k.timer = setTimeout(async () => {
      k.first = 0;
      k.running = true;
      k.ran = Date.now();
      try {
        await k.fn();
      } finally {
        k.running = false;
        arm(k);
      }
    }, Math.max(k.due, k.ran + k.gap) - Date.now());
  }

  // ---- status, overview and health -------------------------------------------------------------------------

  async function loadStatus() {
    try {
      const { status, body } = await getJSON("/status");
      if (status !== 200 || !body) throw new Error(`HTTP ${status}`);
      state.status = body;
      state.statusAt = Date.now();
      renderStatus(body);
      problem("");
    } catch (err) {
      problem("status", err);
    }
  }

  function renderStatus(s) {
    const service = s.service || "Joyride DNS";
    setText($("service"), service);
    if (document.title !== service) document.title = service;
    setText($("version"), s.version || "dev");
    setText($("environment"), s.environment || "");
    const health = Array.isArray(s.health) ? s.health : [];
    const ready = $("ready");
    let st = s.ready ? "ready" : "starting", label = s.ready ? "Ready" : "Starting";
    if (health.some((c) => c.state === "unhealthy")) {
      st = "unhealthy";
      label = "Degraded";
    }
    ready.dataset.state = st;
    setText(ready, label);
    const dns = s.dns_server || {};
    const dnsEl = $("dns");
    setText(dnsEl, dns.port !== undefined ? `${dns.bind_address || ""}:${dns.port}${dns.running === false ? " (stopped)" : ""}` : "—");
    const hm = s.hosts_monitor || {};
    const hostsEl = $("hosts");
    setText(hostsEl, hm.enabled ? `${hm.records_count ?? 0} records` : "off");
    hostsEl.title = hm.directory || "";
    const sync = s.dns_sync_cluster || {};
    const nodeEl = $("node");
    setText(nodeEl, sync.enabled ? sync.node_id || "cluster" : "standalone");
    nodeEl.title = sync.enabled ? "cluster sync on" : "cluster sync off";
    renderHealth(health);
    tick();
  }

  function renderHealth(list) {
    const ul = $("health");
    const seen = new Set();
    let next = ul.firstElementChild;
    for (const c of list) {
      const name = String(c.name);
      seen.add(name);
      let li = state.health.get(name);
      if (!li) {
        li = el("li");
        li.dataset.name = name;
        li.append(el("span", "name", name), el("span", "pill"), el("span", "msg"));
        state.health.set(name, li);
      }
      const pill = li.children[1];
      pill.dataset.state = c.state || "";
      setText(pill, c.state || "unknown");
      const since = c.since ? `since ${dateTime(c.since)}` : "";
      setText(li.children[2], c.message ? c.message : since);
      li.children[2].title = c.message ? `${c.message} ${since}` : since;
      if (li === next) next = next.nextElementSibling;
      else ul.insertBefore(li, next);
    }
    for (const [name, li] of state.health) {
      if (!seen.has(name)) {
        li.remove();
        state.health.delete(name);
      }
    }
    $("health-empty").hidden = list.length > 0;
  }

  // tick advances the clocks between fetches from the server's own time and uptime.
  function tick() {
    const s = state.status;
    if (!s) return;
    const elapsed = (Date.now() - state.statusAt) / 1000;
    if (typeof s.uptime_seconds === "number") setText($("uptime"), duration(s.uptime_seconds + elapsed));
    else setText($("uptime"), s.uptime || "—");
    const t = Date.parse(s.timestamp);
    if (isFinite(t)) setText($("clock"), new Date(t + elapsed * 1000).toLocaleTimeString([], { hour12: false }));
  }

  // ---- records ---------------------------------------------------------------------------------------------

  function recordsURL() {
    const q = new URLSearchParams();
    if (state.filter.name) q.set("name", state.filter.name);
    if (state.filter.source) q.set("source", state.filter.source);
    if (state.filter.node !== "*") q.set("node", state.filter.node);
    const qs = q.toString();
    return qs ? `/dns/records?${qs}` : "/dns/records";
  }

  async function loadRecords() {
    const seq = ++state.recordsSeq;
    try {
      const { status, body } = await getJSON(recordsURL());
      if (seq !== state.recordsSeq) return; // a newer request (another filter) is on its way
      if (status !== 200 || !body) throw new Error(body && body.message ? body.message : `HTTP ${status}`);
      renderRecords(Array.isArray(body.records) ? body.records : []);
      problem("");
    } catch (err) {
      if (seq === state.recordsSeq) problem("records", err);
    }
  }

  const recordKey = (r) => [r.hostname, r.type, r.value ?? r.ip_address, r.source, r.node].join("\u0000");

  function recordRow(r) {
    const tr = el("tr");
    const name = el("td");
    const link = el("button", "name-link", r.hostname);
    link.type = "button";
    link.title = `Explain ${r.hostname}`;
    link.addEventListener("click", () => openExplain(r.hostname));
    name.append(link);
    const type = el("td");
    type.append(el("span", "type", r.type || "A"));
    tr.append(name, type, el("td", "mono c-value"), el("td", "num c-ttl"), el("td", "c-source"), el("td", "c-node"), el("td", "num c-age"));
    tr.dataset.name = r.hostname;
    return tr;
  }

  function fillRecordRow(tr, r) {
    const c = tr.children;
    const value = r.value ?? r.ip_address ?? "";
    setText(c[2], value);
    c[2].title = value;
    setText(c[3], r.ttl);
    setText(c[4], r.source || "");
    c[4].title = r.source || "";
    setText(c[5], nodeName(r.node));
    c[5].classList.toggle("muted", !r.node);
    tr.dataset.source = r.source || "";
    tr.dataset.node = r.node || "";
    setText(c[6], recordAge(r));
  }

  function recordAge(r) {
    const t = Date.parse(r.set_at);
    if (isFinite(t) && t > 0) return ago((Date.now() - t) / 1000);
    return typeof r.age_seconds === "number" ? ago(r.age_seconds) : "";
  }

  function renderRecords(list) {
    list.sort((a, b) =>
      String(a.hostname).localeCompare(String(b.hostname)) ||
      String(a.type).localeCompare(String(b.type)) ||
      String(a.value ?? a.ip_address).localeCompare(String(b.value ?? b.ip_address), undefined, { numeric: true }) ||
      String(a.source).localeCompare(String(b.source)));
    const shown = list.slice(0, RECORD_LIMIT);
    // Rows are flashed when the records changed, not when the operator changed the filter.
    const filterKey = JSON.stringify(state.filter);
    const fresh = state.recordsLoaded && state.shownFilter === filterKey;
    state.shownFilter = filterKey;
    const tbody = $("records").tBodies[0];
    const keep = new Map();
    for (const r of shown) {
      const key = recordKey(r);
      if (keep.has(key)) continue;
      let row = state.records.get(key);
      if (!row) {
        row = { tr: recordRow(r), rec: r };
        if (fresh) row.tr.classList.add("fresh");
      }
      row.rec = r;
      fillRecordRow(row.tr, r);
      keep.set(key, row);
    }
    for (const [key, row] of state.records) if (!keep.has(key)) row.tr.remove();
    let next = tbody.firstElementChild;
    for (const row of keep.values()) {
      if (row.tr === next) next = next.nextElementSibling;
      else tbody.insertBefore(row.tr, next);
    }
    state.records = keep;
    state.recordsLoaded = true;

    const filtered = state.filter.name || state.filter.source || state.filter.node !== "*";
    setText($("records-summary"), `${list.length} ${filtered ? "matching" : list.length === 1 ? "record" : "records"}`);
    $("records-empty").hidden = list.length > 0;
    const note = $("records-note");
    note.hidden = list.length <= RECORD_LIMIT;
    setText(note, `Showing the first ${RECORD_LIMIT} of ${list.length} records: filter by name, source or node to see the others.`);
    learnChoices(list);
  }

  // learnChoices offers the sources and nodes seen so far in the filters.
  function learnChoices(list) {
    const dl = $("sources");
    const have = new Set(Array.from(dl.options, (o) => o.value));
    for (const r of list) {
      const src = String(r.source || "");
      const kind = src.split(":")[0];
      for (const v of [kind, src]) {
        if (v && !have.has(v) && have.size < 200) {
          have.add(v);
          const o = el("option");
          o.value = v;
          dl.append(o);
        }
      }
      addNodeChoice(r.node);
    }
  }

  function addNodeChoice(id) {
    if (!id) return;
    const sel = $("filter-node");
    if (Array.from(sel.options).some((o) => o.value === id)) return;
    const o = el("option", "", id);
    o.value = id;
    sel.append(o);
  }

  function ageTick() {
    for (const row of state.records.values()) setText(row.tr.children[6], recordAge(row.rec));
  }

  function readFilter() {
    state.filter = {
      name: $("filter-name").value.trim(),
      source: $("filter-source").value.trim(),
      node: $("filter-node").value,
    };
    const q = new URLSearchParams(location.search);
    for (const k of ["name", "source"]) {
      if (state.filter[k]) q.set(k, state.filter[k]);
      else q.delete(k);
    }
    if (state.filter.node !== "*") q.set("node", state.filter.node);
    else q.delete("node");
    const qs = q.toString();
    history.replaceState(null, "", qs ? `?${qs}` : location.pathname);
    later("records", loadRecords, { quiet: 150 });
  }

  function restoreFilter() {
    const q = new URLSearchParams(location.search);
    $("filter-name").value = q.get("name") || "";
    $("filter-source").value = q.get("source") || "";
    if (q.has("node")) {
      addNodeChoice(q.get("node"));
      $("filter-node").value = q.get("node");
    }
    state.filter = { name: $("filter-name").value.trim(), source: $("filter-source").value.trim(), node: $("filter-node").value };
  }

  // ---- explain ---------------------------------------------------------------------------------------------

  function openExplain(name) {
    state.explain = name;
    setText($("explain-name"), name);
    $("explain-multi").hidden = true;
    setText($("explain-nodes"), "");
    $("explain-body").replaceChildren(el("p", "muted", "Loading…"));
    const dlg = $("explain");
    if (!dlg.open) dlg.showModal();
    loadExplain();
  }

  async function loadExplain() {
    const name = state.explain;
    if (!name) return;
    try {
      const { status, body } = await getJSON(`/dns/records/${encodeURIComponent(name)}`);
      if (state.explain !== name) return;
      if (status === 404) {
        $("explain-body").replaceChildren(el("p", "note", `${name} has no record now.`));
        return;
      }
      if (status !== 200 || !body) throw new Error(body && body.message ? body.message : `HTTP ${status}`);
      renderExplain(body);
    } catch (err) {
      if (state.explain === name) $("explain-body").replaceChildren(el("p", "note", `Could not explain ${name}: ${err.message}`));
    }
  }

  function facts(pairs) {
    const dl = el("dl", "facts");
    for (const [k, v, cls] of pairs) {
      if (v === undefined || v === null || v === "") continue;
      dl.append(el("dt", "", k), el("dd", cls || "", v));
    }
    return dl;
  }

  function renderExplain(x) {
    const nodes = Array.isArray(x.nodes) ? x.nodes : [];
    $("explain-multi").hidden = !x.multiple_nodes;
    setText($("explain-nodes"), nodes.length ? `Published by ${nodes.map(nodeName).join(", ")}` : "");
    const recs = Array.isArray(x.records) ? x.records : [];
    const out = recs.map((r) => {
      const card = el("div", "rec");
      const head = el("div", "rec-head");
      head.append(el("span", "type", r.type), el("span", "value", r.value), el("span", "muted num", `TTL ${r.ttl}`));
      card.append(head);
      const ev = r.last_event;
      card.append(facts([
        ["Source", r.source, "mono"],
        ["Node", nodeName(r.node)],
        ["Set", dateTime(r.set_at)],
        ["Last event", ev ? `${ev.family}/${ev.kind} at ${time(ev.timestamp)} from ${ev.source}` : ""],
        ["Correlation ID", ev ? ev.correlation_id : "", "mono"],
        ["Event ID", ev ? ev.id : "", "mono"],
      ]));
      for (const p of Array.isArray(r.provenance) ? r.provenance : []) {
        const box = el("div", "prov");
        box.append(facts([
          ["From", p.kind],
          ["File", p.file ? (p.line ? `${p.file}:${p.line}` : p.file) : "", "mono"],
          ["Line", p.text, "mono"],
          ["Container", p.container ? (p.container_id ? `${p.container} (${String(p.container_id).slice(0, 12)})` : p.container) : ""],
          ["Label", p.label, "mono"],
          ["Router", p.router],
          ["Rule", p.rule, "mono"],
        ]));
        card.append(box);
      }
      return card;
    });
    $("explain-body").replaceChildren(...(out.length ? out : [el("p", "note", "No records.")]));
  }

  // ---- cluster ---------------------------------------------------------------------------------------------

  async function loadCluster() {
    try {
      const { status, body } = await getJSON("/dns/cluster");
      if (status === 503) {
        showClusterNote(`${(body && body.message) || "Cluster sync is not enabled"}. This node answers on its own.`);
        setText($("cluster-summary"), "off");
        return;
      }
      if (status !== 200 || !body || !body.cluster) {
        showClusterNote(`Cluster status unavailable (${body && body.message ? body.message : `HTTP ${status}`}).`);
        return;
      }
      renderCluster(body.cluster);
    } catch (err) {
      showClusterNote(`Cluster status unavailable (${err.message}).`);
    }
  }

  function showClusterNote(text) {
    const note = $("cluster-note");
    setText(note, text);
    note.hidden = false;
    $("cluster-body").hidden = true;
  }

  function renderCluster(c) {
    const list = Array.isArray(c.members) ? c.members : Array.isArray(c.nodes) ? c.nodes : [];
    const tbody = $("cluster").tBodies[0];
    const keep = new Map();
    let alive = 0;
    for (const m of list) {
      const id = String(m.node_id || "");
      if (!id || keep.has(id)) continue;
      let tr = state.members.get(id);
      if (!tr) {
        tr = el("tr");
        const st = el("td");
        st.append(el("span", "pill"));
        tr.append(el("td", "mono"), el("td", "mono"), st, el("td", "num"));
        tr.dataset.node = id;
      }
      const meta = m.metadata && typeof m.metadata === "object" ? m.metadata : {};
      const memberState = m.state || meta.state || "";
      if (memberState === "alive") alive++;
      const cells = tr.children;
      setText(cells[0], id === c.node_id ? `${id} (this node)` : id);
      cells[0].title = id;
      setText(cells[1], m.address || m.ip_address || "");
      const pill = cells[2].firstElementChild;
      pill.dataset.state = memberState;
      setText(pill, memberState || "—");
      const seen = Date.parse(m.last_seen);
      setText(cells[3], isFinite(seen) && seen > 0 ? `${ago((Date.now() - seen) / 1000)} ago` : "");
      cells[3].title = m.last_seen || "";
      keep.set(id, tr);
      addNodeChoice(id === c.node_id ? "" : id);
    }
    for (const [id, tr] of state.members) if (!keep.has(id)) tr.remove();
    let next = tbody.firstElementChild;
    for (const tr of keep.values()) {
      if (tr === next) next = next.nextElementSibling;
      else tbody.insertBefore(tr, next);
    }
    state.members = keep;
    setText($("cluster-summary"), `${c.node_id || ""} · ${alive} alive of ${keep.size}`);
    $("cluster-note").hidden = keep.size > 0;
    setText($("cluster-note"), keep.size ? "" : "No other node has been seen yet.");
    $("cluster-body").hidden = keep.size === 0;
  }

  // ---- events ----------------------------------------------------------------------------------------------

  async function loadEvents() {
    try {
      const { status, body } = await getJSON(`/events?limit=${EVENT_LIMIT}`);
      if (status !== 200 || !body) throw new Error(`HTTP ${status}`);
      const fresh = state.eventIds.size > 0;
      for (const ev of Array.isArray(body.events) ? body.events : []) addEvent(ev, fresh);
    } catch (err) {
      problem("events", err);
    }
  }

  // addEvent puts ev in the list, newest first, once: the history and the stream overlap.
  function addEvent(ev, fresh) {
    if (!ev || !ev.id || state.eventIds.has(ev.id)) return false;
    state.eventIds.add(ev.id);
    const li = el("li");
    li.dataset.id = ev.id;
    li.dataset.cid = ev.correlation_id || "";
    li.dataset.ts = String(Date.parse(ev.timestamp) || 0);
    const t = el("time", "", time(ev.timestamp));
    t.dateTime = ev.timestamp || "";
    t.title = ev.timestamp || "";
    const kind = el("span", "kind");
    kind.append(el("b", `fam-${String(ev.family).replace(/[^a-z]/g, "")}`, ev.family), `/${ev.kind}`);
    kind.title = `${ev.family}/${ev.kind} from ${ev.source}`;
    const summary = el("span", "summary", ev.summary || ev.kind);
    summary.title = ev.summary || "";
    const cid = el("button", "cid", String(ev.correlation_id || "").slice(0, 8));
    cid.type = "button";
    cid.title = `correlation ID ${ev.correlation_id}`;
    cid.addEventListener("click", () => follow(li.dataset.cid));
    li.append(t, kind, summary, cid);
    if (fresh) li.classList.add("fresh");
    if (state.follow && state.follow === li.dataset.cid) li.classList.add("follow");
    const ol = $("events");
    const ts = Number(li.dataset.ts);
    let before = ol.firstElementChild;
    while (before && Number(before.dataset.ts) > ts) before = before.nextElementSibling;
    ol.insertBefore(li, before);
    while (ol.children.length > EVENT_LIMIT) {
      const last = ol.lastElementChild;
      state.eventIds.delete(last.dataset.id);
      last.remove();
    }
    $("events-empty").hidden = true;
    return true;
  }

  // follow highlights every event of one correlation ID (a click again clears it).
  function follow(cid) {
    state.follow = state.follow === cid ? "" : cid;
    for (const li of $("events").children) li.classList.toggle("follow", !!state.follow && li.dataset.cid === state.follow);
  }

  // react refetches what an event may have changed, once per burst (see later).
  function react(family) {
    const paced = (quiet) => ({ quiet, gap: REFETCH_GAP_MS, max: REFETCH_MAX_MS });
    if (RECORD_FAMILIES.has(family)) {
      later("records", loadRecords, paced(250));
      later("status", loadStatus, paced(1000));
      if (state.explain) later("explain", loadExplain, paced(250));
    }
    if (CLUSTER_FAMILIES.has(family)) later("cluster", loadCluster, paced(500));
    if (STATUS_FAMILIES.has(family)) later("status", loadStatus, paced(250));
  }

  // ---- live updates: the event stream, polling while it is down --------------------------------------------

  function setLive(s) {
    const live = $("live");
    live.dataset.state = s;
    setText(live, s);
  }

  function connect() {
    if (!window.EventSource) {
      startPolling();
      return;
    }
    const es = new EventSource("/events/stream");
    state.es = es;
    let lagged = false;
    const onEvent = (msg) => {
      let ev;
      try {
        ev = JSON.parse(msg.data);
      } catch (e) {
        return;
      }
      if (!ev || typeof ev !== "object") return;
      // Listed once, but always reacted to: the history (GET /events) and the stream overlap, and an event the
      // history listed may have changed the records after the page fetched them.
      addEvent(ev, true);
      react(ev.family || msg.type);
    };
    for (const f of FAMILIES) es.addEventListener(f, onEvent);
    es.onmessage = onEvent;
    // The server ends the stream of a client that fell behind with this event; the browser reconnects by itself
    // and the onopen that follows catches up. Expected, so neither an error nor a switch to polling.
    es.addEventListener("lagged", () => {
      lagged = true;
      setLive("connecting");
    });
    es.onopen = () => {
      setLive("live");
      stopPolling();
      // Catch up on what happened before the stream opened: the first time, between the page's first fetches
      // and the subscription; after a break, while the stream was down.
      refreshAll();
    };
    es.onerror = () => {
      if (lagged && es.readyState === EventSource.CONNECTING) {
        lagged = false; // reconnecting as expected; should that fail, the next error starts polling
        return;
      }
      startPolling();
      if (es.readyState === EventSource.CLOSED) {
        // The browser gives up on an HTTP error; try again later, polling meanwhile.
        es.close();
        if (state.es === es) setTimeout(connect, RECONNECT_MS);
      }
    };
  }

  function startPolling() {
    setLive("polling");
    if (state.poll) return;
    state.poll = setInterval(refreshAll, POLL_MS);
  }

  function stopPolling() {
    clearInterval(state.poll);
    state.poll = 0;
  }

  function refreshAll() {
    return Promise.all([loadStatus(), loadRecords(), loadCluster(), loadEvents()]);
  }

  // ---- theme -----------------------------------------------------------------------------------------------

  function toggleTheme() {
    const root = document.documentElement;
    const dark = root.dataset.theme ? root.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    const next = dark ? "light" : "dark";
    root.dataset.theme = next;
    try {
      localStorage.setItem("joyride-theme", next);
    } catch (e) {
      // Not remembered where storage is refused; the choice still holds for this page.
    }
  }

  // ---- start -----------------------------------------------------------------------------------------------

  function init() {
    $("theme-toggle").addEventListener("click", toggleTheme);
    restoreFilter();
    for (const id of ["filter-name", "filter-source"]) $(id).addEventListener("input", readFilter);
    $("filter-node").addEventListener("change", readFilter);
    $("explain-close").addEventListener("click", () => $("explain").close());
    $("explain").addEventListener("close", () => {
      state.explain = "";
    });
    // A click on the backdrop (outside the dialog's box) closes it too.
    $("explain").addEventListener("click", (e) => {
      if (e.target === $("explain")) $("explain").close();
    });
    connect();
    refreshAll().then(() => {
      $("events-empty").hidden = $("events").children.length > 0;
    });
    setInterval(tick, 1000);
    setInterval(ageTick, 10000);
  }

  init();
})();
