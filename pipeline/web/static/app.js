// newsmon web UI. Everything shown comes from feeds and pages and is untrusted: the page
// is built with textContent only. Highlight fragments (escaped by Elasticsearch, with
// <em> around matches) are turned into text nodes and <mark>s, never into HTML.
"use strict";

const view = document.getElementById("view");
const FACETS = [["topics", "topic", "Topics"], ["site", "source", "Sources"],
                ["language", "language", "Languages"], ["entities", "entity", "Entities"]];
const COLORS = ["#2457c5", "#e0702b", "#2e9b4a", "#9b3fb5", "#c23b5a", "#1e9aa8", "#8d8d8d"];

// ---- small helpers -----------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function decodeEntities(text) {
  const area = document.createElement("textarea");  // RCDATA: decodes, never runs anything
  area.innerHTML = text;
  return area.value;
}

function highlighted(fragment) {
  const nodes = [];
  let inMatch = false;
  for (const part of fragment.split(/(<em>|<\/em>)/)) {
    if (part === "<em>") { inMatch = true; continue; }
    if (part === "</em>") { inMatch = false; continue; }
    const text = decodeEntities(part);
    nodes.push(inMatch ? el("mark", {}, text) : document.createTextNode(text));
  }
  return nodes;
}

// Links from feeds may say anything, javascript: included: only http(s) is followed.
function safeUrl(url) { return /^https?:\/\//i.test(url || "") ? url : "#"; }

function when(iso) { return iso ? iso.slice(0, 16).replace("T", " ") : ""; }

function token() { return localStorage.getItem("newsmon-token") || ""; }

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (token()) headers["X-Newsmon-Token"] = token();
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch("api/" + path, { ...options, headers });
  if (response.status === 401 && response.headers.get("X-Newsmon-Login") === "airflow") {
    location.reload();  // inside Airflow: its login page, then back here
  } else if (response.status === 401) {
    const given = prompt("This newsmon needs its API token:");
    if (given) { localStorage.setItem("newsmon-token", given); return api(path, options); }
  }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return response;
}

async function getJSON(path, options) { return (await api(path, options)).json(); }

function showError(error) {
  view.prepend(el("div", { class: "error", role: "alert", "data-testid": "error" }, error.message));
}

// ---- routing -----------------------------------------------------------------------

function route() {
  const [path, query] = (location.hash.slice(1) || "/search").split("?");
  const params = new URLSearchParams(query || "");
  for (const link of document.querySelectorAll("header nav a")) {
    link.classList.toggle("active", path.startsWith(link.getAttribute("href").slice(1)));
  }
  view.replaceChildren();
  const pages = { "/search": searchPage, "/saved": savedPage, "/feeds": feedsPage, "/alerts": alertsPage };
  const page = path.startsWith("/article/")
    ? () => articlePage(decodeURIComponent(path.slice(9)))
    : pages[path] || searchPage;
  Promise.resolve(page(params)).catch(showError);
}
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);

function go(params) { location.hash = "#/search?" + params.toString(); }

// ---- search ------------------------------------------------------------------------

async function searchPage(params) {
  const input = el("input", { type: "search", name: "q", value: params.get("q") || "",
    placeholder: 'cruise missile AND Moscow, "Kim Jong Un" NOT Seoul, title:sanctions',
    "aria-label": "Search", "data-testid": "query" });
  const sort = el("select", { name: "sort", "aria-label": "Sort", "data-testid": "sort" },
    ["relevance", "newest", "oldest"].map((s) =>
      el("option", { value: s, selected: params.get("sort") === s }, s)));
  const since = el("input", { type: "date", value: params.get("since") || "", "aria-label": "From" });
  const until = el("input", { type: "date", value: params.get("until") || "", "aria-label": "To" });
  const form = el("form", { class: "search", role: "search", onsubmit: (event) => {
    event.preventDefault();
    const next = new URLSearchParams(params);
    for (const [key, value] of [["q", input.value.trim()], ["sort", sort.value],
                                ["since", since.value], ["until", until.value]]) {
      if (value) next.set(key, value); else next.delete(key);
    }
    next.delete("offset");
    go(next);
  } }, input, sort, since, "–", until, el("button", { class: "primary", type: "submit", "data-testid": "search-button" }, "Search"));
  view.append(form);
  const sideBar = el("aside", { "data-testid": "facets" });
  const results = el("div", { "data-testid": "results" });
  view.append(el("div", { class: "layout" }, sideBar, el("div", {}, results)));

  const request = new URLSearchParams(params);
  request.set("facets", "true");
  request.set("timeline", "true");
  const page = await getJSON("search?" + request.toString());
  sideBar.append(...facetSections(page.facets, params));
  results.append(activeFilters(params, page.facets), summaryLine(page, params));
  if (page.timeline && page.timeline.buckets.length) results.append(timelineChart(page.timeline));
  if (!page.hits.length) results.append(el("p", { "data-testid": "no-results" }, "No matching articles."));
  for (const hit of page.hits) results.append(resultCard(hit));
  if (page.next_offset !== null) {
    const more = new URLSearchParams(params);
    more.set("offset", page.next_offset);
    results.append(el("a", { href: "#/search?" + more.toString(), "data-testid": "next-page" }, "Next page →"));
  }
}

function facetSections(facets, params) {
  return FACETS.filter(([name]) => (facets[name] || []).length).map(([name, param, label]) =>
    el("section", { "data-testid": "facet-" + name }, el("h3", {}, label),
      facets[name].map(({ value, label, count }) => {
        const chosen = params.getAll(param).includes(value);
        return el("button", { class: "facet" + (chosen ? " on" : ""), type: "button",
          "data-testid": "facet-value", "data-value": value, onclick: () => {
            const next = new URLSearchParams(params);
            const values = next.getAll(param).filter((v) => v !== value);
            next.delete(param);
            for (const v of chosen ? values : [...values, value]) next.append(param, v);
            next.delete("offset");
            go(next);
          } }, el("span", {}, label || value), el("span", { class: "count" }, count));
      })));
}

function activeFilters(params, facets) {
  const chips = [];
  for (const [name, param] of FACETS) {
    // Shown by name when the facet knows it (the filter itself stays the id).
    const labels = Object.fromEntries((facets[name] || []).map((b) => [b.value, b.label || b.value]));
    for (const value of params.getAll(param)) {
      chips.push(el("button", { class: "chip", type: "button", title: "Remove filter",
        "data-testid": "active-filter", onclick: () => {
          const next = new URLSearchParams(params);
          const rest = next.getAll(param).filter((v) => v !== value);
          next.delete(param);
          for (const v of rest) next.append(param, v);
          go(next);
        } }, `${param}: ${labels[value] || value} ×`));
    }
  }
  return el("div", { class: "chips" }, chips);
}

function summaryLine(page, params) {
  const exportParams = new URLSearchParams(params);
  exportParams.delete("offset");
  return el("div", { class: "summary" },
    el("span", { "data-testid": "total" },
      `${page.total}${page.total_is_exact ? "" : "+"} articles · ${page.took_ms} ms`),
    el("button", { type: "button", "data-testid": "save-search", onclick: () => saveSearch(params) }, "Save search"),
    el("button", { type: "button", "data-testid": "export-csv", onclick: () => download(exportParams, "csv") }, "Export CSV"),
    el("button", { type: "button", "data-testid": "export-json", onclick: () => download(exportParams, "json") }, "Export JSON"));
}

async function download(params, format) {
  const query = new URLSearchParams(params);
  query.set("format", format);
  const blob = await (await api("export?" + query.toString())).blob();
  const link = el("a", { href: URL.createObjectURL(blob), download: `newsmon-export.${format === "csv" ? "csv" : "jsonl"}` });
  document.body.append(link);
  link.click();
  link.remove();
}

async function saveSearch(params) {
  const name = prompt("Name for this search:", params.get("q") || "");
  if (!name) return;
  const body = { name, query: params.get("q") || "", topics: params.getAll("topic"),
    sources: params.getAll("source"), languages: params.getAll("language"),
    entities: params.getAll("entity"), since: params.get("since"), until: params.get("until") };
  try {
    const saved = await getJSON("saved-searches", { method: "POST", body: JSON.stringify(body) });
    view.prepend(el("div", { class: "notice", "data-testid": "notice" }, `Saved as “${saved.name}”. `,
      el("a", { href: "#/saved" }, "Saved searches")));
  } catch (error) { showError(error); }
}

function resultCard(hit) {
  const snippets = hit.highlights.map((fragment) => el("p", { class: "snippet" }, "… ", highlighted(fragment), " …"));
  return el("div", { class: "result", "data-testid": "result", "data-id": hit.id },
    el("h2", {}, el("a", { href: "#/article/" + encodeURIComponent(hit.id), "data-testid": "result-title" }, hit.title)),
    el("div", { class: "meta" }, [hit.source || hit.site || "?", when(hit.published_at), hit.language].filter(Boolean).join(" · "),
      hit.copies > 1 ? el("span", { "data-testid": "copies" }, ` · ${hit.copies} copies in this story`) : null),
    el("div", { class: "chips" }, hit.topics.map((topic, k) => el("span", { class: "chip", title: topic }, (hit.topic_names || [])[k] || topic))),
    snippets.slice(0, 3));
}

function timelineChart(timeline) {
  const buckets = timeline.buckets;
  const totals = {};
  for (const bucket of buckets) for (const [topic, n] of Object.entries(bucket.topics)) totals[topic] = (totals[topic] || 0) + n;
  const topics = Object.keys(totals).sort((a, b) => totals[b] - totals[a]).slice(0, COLORS.length - 1);
  const width = 900, height = 120, gap = 2;
  const barWidth = Math.max(2, Math.min(40, (width - gap * buckets.length) / buckets.length));
  const max = Math.max(...buckets.map((b) => b.count));
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Matching articles per ${timeline.interval}`);
  buckets.forEach((bucket, i) => {
    let y = height;
    // Stacked by topic; what no charted topic covers is grey ("other").
    const parts = topics.map((t, k) => [t, bucket.topics[t] || 0, COLORS[k]]);
    const covered = parts.reduce((sum, [, n]) => sum + n, 0);
    parts.push(["other", Math.max(0, bucket.count - covered), COLORS[COLORS.length - 1]]);
    for (const [topic, n, color] of parts) {
      if (!n) continue;
      const h = Math.max(1, (n / max) * (height - 4));
      y -= h;
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", i * (barWidth + gap));
      rect.setAttribute("y", y);
      rect.setAttribute("width", barWidth);
      rect.setAttribute("height", h);
      rect.setAttribute("fill", color);
      const title = document.createElementNS(ns, "title");
      title.textContent = `${when(bucket.start)}: ${topic} ${n} (all ${bucket.count})`;
      rect.append(title);
      svg.append(rect);
    }
  });
  const legend = el("div", { class: "legend" }, [...topics, "other"].map((topic, k) =>
    el("span", {}, el("i", { style: `background:${topic === "other" ? COLORS[COLORS.length - 1] : COLORS[k]}` }), topic)));
  return el("div", { class: "timeline", "data-testid": "timeline" },
    el("div", { class: "meta" }, `Matching articles per ${timeline.interval}, ${when(buckets[0].start)} – ${when(buckets[buckets.length - 1].start)}`),
    svg, legend);
}

// ---- article -----------------------------------------------------------------------

async function articlePage(id) {
  const article = await getJSON("articles/" + encodeURIComponent(id));
  const mentions = { title: [], text: [] };
  for (const tag of article.tags || []) {
    for (const m of tag.evidence || []) (mentions[m.field] || []).push({ ...m, topic: tag.topic });
  }
  const paragraphs = [];
  let offset = 0;
  for (const line of (article.text || "").split("\n")) {
    const length = Array.from(line).length;
    paragraphs.push(el("p", {}, marked(line, offset, mentions.text)));
    offset += length + 1;
  }
  view.append(el("article", { class: "full", "data-testid": "article" },
    el("h1", { "data-testid": "article-title" }, marked(article.title || "", 0, mentions.title)),
    el("div", { class: "meta" }, [article.source || article.site, when(article.published_at), article.language, (article.authors || []).join(", ")].filter(Boolean).join(" · "),
      " · ", el("a", { href: safeUrl(article.url), rel: "noopener noreferrer nofollow", target: "_blank" }, "original")),
    el("h3", {}, "Topics and evidence"),
    el("ul", { "data-testid": "tags" }, (article.tags || []).map((tag) => el("li", {},
      el("strong", { title: tag.topic }, (article.topic_names || {})[tag.topic] || tag.topic), ` (score ${tag.score.toFixed(1)}${tag.via ? ", via " + tag.via : ""}): `,
      [...new Set((tag.evidence || []).map((m) => m.term))].join(", ")))),
    el("h3", {}, "Entities"),
    el("div", { class: "chips", "data-testid": "entities" }, (article.entities || []).map((e, k) => el("span", { class: "chip", title: e }, (article.entity_names || [])[k] || e))),
    el("div", { class: "text", "data-testid": "article-text" }, paragraphs),
    el("h3", {}, `Copies in this story (${(article.copies || []).length})`),
    el("ul", { "data-testid": "cluster-copies" }, (article.copies || []).map((copy) => el("li", {},
      el("a", { href: "#/article/" + encodeURIComponent(copy.id) }, copy.title || copy.url),
      ` — ${copy.source || copy.site || "?"} ${when(copy.published_at)}`)))));
}

function marked(text, start, mentions) {
  // Offsets count code points over the whole field; `start` is where this line begins.
  const chars = Array.from(text);
  const spans = mentions.map((m) => [m.start - start, m.end - start, m])
    .filter(([s, e]) => e > 0 && s < chars.length).sort((a, b) => a[0] - b[0]);
  const nodes = [];
  let at = 0;
  for (const [s, e, m] of spans) {
    const from = Math.max(s, at);
    if (from >= e) continue;
    if (from > at) nodes.push(chars.slice(at, from).join(""));
    nodes.push(el("mark", { class: "evidence", title: `${m.topic}: ${m.ref}`, "data-testid": "evidence" }, chars.slice(from, e).join("")));
    at = e;
  }
  if (at < chars.length) nodes.push(chars.slice(at).join(""));
  return nodes;
}

// ---- saved searches, feeds, alerts ---------------------------------------------------

async function savedPage() {
  const [saved, rules] = await Promise.all([getJSON("saved-searches"), getJSON("alerts/rules")]);
  view.append(el("h2", {}, "Saved searches"));
  if (!saved.length) view.append(el("p", {}, "None yet: run a search and press “Save search”."));
  for (const search of saved) {
    const params = new URLSearchParams();
    if (search.query) params.set("q", search.query);
    const f = search.filters || {};
    for (const [key, param] of [["topics", "topic"], ["sources", "source"], ["languages", "language"], ["entities", "entity"]]) {
      for (const v of f[key] || []) params.append(param, v);
    }
    if (f.since) params.set("since", f.since);
    if (f.until) params.set("until", f.until);
    const channels = el("select", { multiple: true, "aria-label": "Channels", "data-testid": "alert-channels" },
      rules.channels.map((c, i) => el("option", { value: c, selected: i === 0 }, c)));
    const mode = el("select", { "aria-label": "Mode", "data-testid": "alert-mode" },
      ["instant", "hourly", "daily"].map((m) => el("option", { value: m }, m)));
    const row = el("div", { class: "result", "data-testid": "saved-search" },
      el("h2", {}, el("a", { href: "#/search?" + params.toString() }, search.name)),
      el("div", { class: "meta" }, search.query || "(no query)", " ", params.toString()),
      search.alert_rule
        ? el("p", { "data-testid": "alert-made" }, `Alert rule: ${search.alert_rule}`)
        : el("p", {}, "Alert to ", channels, " ", mode, " ",
            el("button", { type: "button", "data-testid": "make-alert", onclick: async () => {
              try {
                const chosen = Array.from(channels.selectedOptions).map((o) => o.value);
                const rule = await getJSON(`saved-searches/${encodeURIComponent(search.id)}/alert`,
                  { method: "POST", body: JSON.stringify({ channels: chosen, mode: mode.value }) });
                route();
                view.prepend(el("div", { class: "notice", "data-testid": "notice" }, `Alert rule “${rule.id}” added to alerts.yaml.`));
              } catch (error) { showError(error); }
            } }, "Make alert rule")),
      el("button", { type: "button", onclick: async () => {
        await api("saved-searches/" + encodeURIComponent(search.id), { method: "DELETE" });
        route();
      } }, "Delete"));
    view.append(row);
  }
}

async function feedsPage() {
  const feeds = await getJSON("feeds");
  view.append(el("h2", {}, "Feeds"), el("table", { "data-testid": "feeds" },
    el("tr", {}, ["feed", "status", "last attempt", "last success", "entries", "new", "indexed", "last error"].map((h) => el("th", {}, h))),
    feeds.map((f) => el("tr", {},
      el("td", {}, el("a", { href: safeUrl(f.url), rel: "noopener noreferrer nofollow", target: "_blank" }, f.name || f.feed_id)),
      el("td", { class: "status-" + f.last_status }, f.last_status),
      el("td", {}, when(f.last_attempt)), el("td", {}, when(f.last_success)),
      el("td", {}, f.entries ?? ""), el("td", {}, f.new ?? ""), el("td", {}, f.indexed ?? ""),
      el("td", {}, f.last_error || "")))));
}

async function alertsPage() {
  const [rules, events] = await Promise.all([getJSON("alerts/rules"), getJSON("alerts/events")]);
  view.append(el("h2", {}, "Alert rules"), el("table", { "data-testid": "rules" },
    el("tr", {}, ["rule", "query", "filters", "channels", "mode", "enabled"].map((h) => el("th", {}, h))),
    rules.rules.map((r) => el("tr", {}, el("td", {}, r.id), el("td", {}, r.query),
      el("td", {}, [...r.topics, ...r.sources, ...r.languages, ...r.entities].join(", ")),
      el("td", {}, r.channels.join(", ")), el("td", {}, r.mode), el("td", {}, r.enabled ? "yes" : "no")))));
  view.append(el("h2", {}, "Alert history"), el("table", { "data-testid": "events" },
    el("tr", {}, ["matched", "status", "rule", "story", "attempts", "error"].map((h) => el("th", {}, h))),
    events.map((e) => el("tr", {}, el("td", {}, when(e.matched_at)),
      el("td", { class: "status-" + e.status }, e.status), el("td", {}, e.rule_id),
      el("td", {}, e.url ? el("a", { href: safeUrl(e.url), rel: "noopener noreferrer nofollow", target: "_blank" }, e.title) : e.title),
      el("td", {}, e.attempts), el("td", {}, e.last_error || "")))));
}
