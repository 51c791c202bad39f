// postpilot dashboard: renders the JSON API with DOM calls only (no innerHTML, so no text from
// a campaign can become markup) and follows /api/events for live updates.
"use strict";

let csrf = "";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin" }, options));
  const body = await response.json().catch(() => ({ error: "unreadable answer" }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function act(path, body) {
  if (!csrf) csrf = (await api("/api/session")).csrf;
  return api(path, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "Idempotency-Key": newKey(),
      "X-CSRF-Token": csrf,
    },
    body: JSON.stringify(body || {}),
  });
}

function pct(rate) {
  return rate === null || rate === undefined ? "–" : (rate * 100).toFixed(1) + "%";
}

function when(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return date.toLocaleString();
}

function slotText(slot) {
  if (!slot.at) return slot.reason;
  const at = new Date(slot.at);
  return (at <= new Date() ? "now" : when(slot.at)) + " (" + slot.reason + ")";
}

function stateBadges(c) {
  const span = el("span");
  if (c.paused) span.append(el("span", { class: "badge paused", text: "paused" }), " ");
  span.append(c.running
    ? el("span", { class: "badge running", text: "running" })
    : el("span", { class: "badge", text: "idle" }));
  if (c.served) span.append(" ", el("span", { class: "badge running", text: "served" }));
  if (!c.enabled) span.append(" ", el("span", { class: "badge", text: "disabled" }));
  return span;
}

function setLive(on) {
  const live = document.getElementById("live");
  live.textContent = on ? "live" : "reconnecting…";
  live.className = on ? "live on" : "live";
}

function follow(onOverview) {
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => setLive(true));
  source.addEventListener("error", () => setLive(false));
  source.addEventListener("overview", (event) => onOverview(JSON.parse(event.data)));
}

// -- overview ----------------------------------------------------------------------------------
function renderOverview(data) {
  document.getElementById("root").textContent = "Project " + data.project_root;
  const rows = document.getElementById("campaign-rows");
  rows.replaceChildren();
  if (!data.campaigns.length) {
    rows.append(el("tr", {}, el("td", { colspan: "10", text: "No campaigns under campaigns/ yet." })));
  }
  for (const c of data.campaigns) {
    const blocked = c.blocked.map((b) => b.account + " (" + b.block + ")").join(", ");
    rows.append(el("tr", { "data-campaign": c.name },
      el("td", {}, el("a", { href: "/campaigns/" + encodeURIComponent(c.name), text: c.name })),
      el("td", {}, stateBadges(c)),
      el("td", { "data-field": "today", text: c.today.posted + " / " + c.today.capacity }),
      el("td", { "data-field": "success", text: String(c.counts.success) }),
      el("td", { "data-field": "failed", text: String(c.counts.failed) }),
      el("td", { "data-field": "pending", text: String(c.counts.pending + c.counts.retrying) }),
      el("td", { "data-field": "rate", text: pct(c.success_rate) }),
      el("td", { "data-field": "unconfirmed", class: c.unconfirmed ? "badge unconfirmed" : "", text: String(c.unconfirmed) }),
      el("td", { "data-field": "blocked", text: blocked || "none" }),
      el("td", { "data-field": "next", text: slotText(c.next_slot) })));
  }
  const invalid = document.getElementById("invalid");
  invalid.replaceChildren(...data.invalid.map((i) => el("li", { text: i.folder + ": " + i.error })));
  document.getElementById("invalid-section").hidden = !data.invalid.length;
}

async function overviewPage() {
  renderOverview(await api("/api/overview"));
  follow(renderOverview);
}

// -- campaign ------------------------------------------------------------------------------------
const campaignName = decodeURIComponent(location.pathname.split("/")[2] || "");
const base = "/api/campaigns/" + encodeURIComponent(campaignName);
const jobState = { offset: 0, limit: 50, total: 0 };
let lastSeen = "";

function say(text, isError) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = isError ? "message error" : "message";
  box.hidden = false;
}

async function run(path, body, button) {
  if (button) button.disabled = true;
  try {
    const result = await act(path, body);
    say(result.message || "done", false);
  } catch (error) {
    say(error.message, true);
  } finally {
    if (button) button.disabled = false;
    await refreshCampaign();
  }
}

function card(label, value, testid) {
  return el("div", { class: "card", "data-testid": testid }, el("b", { text: value }), label);
}

function renderCampaign(d) {
  document.title = "postpilot: " + d.name;
  document.getElementById("title").replaceChildren(d.name + " ", stateBadges(d));
  document.getElementById("summary").replaceChildren(
    card("posted today of " + d.today.capacity, String(d.today.posted), "card-today"),
    card("success", String(d.counts.success), "card-success"),
    card("failed", String(d.counts.failed), "card-failed"),
    card("pending / retrying", String(d.counts.pending + d.counts.retrying), "card-pending"),
    card("unconfirmed", String(d.unconfirmed), "card-unconfirmed"),
    card("success rate", pct(d.success_rate), "card-rate"),
    card("next slot", slotText(d.next_slot), "card-next"));
  const pause = document.getElementById("pause");
  pause.textContent = d.paused ? "Resume" : "Pause";
  pause.dataset.paused = d.paused ? "yes" : "no";

  const health = document.getElementById("health-rows");
  health.replaceChildren(...d.health.map((h) => {
    const jobs = Object.entries(h.jobs).map(([k, v]) => k + " " + v).join(", ") || "no jobs";
    const block = h.block
      ? el("span", {}, el("span", { class: "badge blocked", text: h.block.block }), " " + h.block.reason + (h.block.until ? " until " + when(h.block.until) : ""))
      : el("span", { class: "muted", text: "ok" });
    const error = h.last_error
      ? el("div", { class: "error-text", text: h.last_error.error_type + " (" + when(h.last_error.at) + "): " + h.last_error.error })
      : el("span", { class: "muted", text: "–" });
    const button = h.block
      ? el("button", { type: "button", "data-testid": "unblock-" + h.account, text: "Unblock",
          onclick: (event) => run(base + "/accounts/" + encodeURIComponent(h.account) + "/unblock", {}, event.target) })
      : null;
    return el("tr", { "data-account": h.account },
      el("td", { text: h.account }), el("td", { text: h.today + " / " + h.limit }),
      el("td", { text: jobs }), el("td", {}, block), el("td", {}, error), el("td", {}, button));
  }));

  const select = document.getElementById("f-account");
  if (select.options.length <= 1) {
    for (const h of d.health) select.append(el("option", { value: h.account, text: h.account }));
  }
  document.getElementById("plan-rows").replaceChildren(...d.plan.map((p) => el("tr", {},
    el("td", { text: p.day }), el("td", { text: String(p.scheduled) }), el("td", { text: String(p.posts) }),
    el("td", { text: Object.entries(p.per_account).map(([a, n]) => a + " " + n).join(", ") || "–" }))));
  const archives = document.getElementById("archives");
  archives.replaceChildren(...(d.archives.length ? d.archives.map((a) => el("li", { text: a.name + " (" + a.bytes + " bytes)" }))
    : [el("li", { class: "muted", text: "no archived days yet" })]));
  const actions = document.getElementById("actions");
  actions.replaceChildren(...(d.actions.length ? d.actions.map((a) => el("li", { text: when(a.at) + ": " + a.action + " " + a.target + " by " + a.actor }))
    : [el("li", { class: "muted", text: "none yet" })]));
  document.getElementById("chart").src = base + "/chart.svg?t=" + Date.now();
}

function renderJobs(page) {
  jobState.total = page.total;
  const rows = document.getElementById("job-rows");
  rows.replaceChildren(...page.jobs.map((j) => {
    let buttons = null;
    if (j.status === "unconfirmed") {
      const path = base + "/jobs/" + encodeURIComponent(j.job_id) + "/confirm";
      buttons = el("span", {},
        el("button", { type: "button", "data-testid": "confirm-posted-" + j.job_id, text: "Was posted",
          onclick: (event) => run(path, { posted: true }, event.target) }), " ",
        el("button", { type: "button", "data-testid": "confirm-not-posted-" + j.job_id, text: "Not posted",
          onclick: (event) => run(path, { posted: false }, event.target) }));
    }
    return el("tr", { "data-job": j.job_id },
      el("td", { text: j.job_id }), el("td", { text: j.account }), el("td", { text: j.video }),
      el("td", { text: j.scheduled_at ? when(j.scheduled_at) : "asap" }),
      el("td", {}, el("span", { class: "badge " + j.status, "data-field": "status", text: j.status })),
      el("td", { text: j.attempts + " / " + j.max_attempts }),
      el("td", {}, el("div", { class: "error-text", text: j.error })), el("td", {}, buttons));
  }));
  const last = Math.min(page.offset + page.jobs.length, page.total);
  document.getElementById("page-info").textContent =
    page.total ? (page.offset + 1) + "–" + last + " of " + page.total : "no jobs match";
  document.getElementById("prev").disabled = page.offset === 0;
  document.getElementById("next").disabled = last >= page.total;
}

async function loadJobs() {
  const params = new URLSearchParams({ offset: String(jobState.offset), limit: String(jobState.limit) });
  const status = document.getElementById("f-status").value;
  const account = document.getElementById("f-account").value;
  const search = document.getElementById("f-search").value.trim();
  if (status) params.set("status", status);
  if (account) params.set("account", account);
  if (search) params.set("q", search);
  renderJobs(await api(base + "/jobs?" + params.toString()));
}

async function refreshCampaign() {
  try {
    renderCampaign(await api(base));
    await loadJobs();
  } catch (error) {
    say(error.message, true);
  }
}

async function campaignPage() {
  document.getElementById("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    jobState.offset = 0;
    loadJobs().catch((error) => say(error.message, true));
  });
  document.getElementById("prev").addEventListener("click", () => {
    jobState.offset = Math.max(0, jobState.offset - jobState.limit);
    loadJobs();
  });
  document.getElementById("next").addEventListener("click", () => {
    jobState.offset += jobState.limit;
    loadJobs();
  });
  const pause = document.getElementById("pause");
  pause.addEventListener("click", () => run(base + (pause.dataset.paused === "yes" ? "/resume" : "/pause"), {}, pause));
  const retry = document.getElementById("retry");
  retry.addEventListener("click", () => run(base + "/retry-failed", { include_non_retryable: false }, retry));
  await refreshCampaign();
  follow((data) => {
    const mine = data.campaigns.find((c) => c.name === campaignName);
    const seen = JSON.stringify(mine || null);
    if (seen !== lastSeen) {
      lastSeen = seen;
      refreshCampaign();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  (page === "overview" ? overviewPage() : campaignPage()).catch((error) => {
    const live = document.getElementById("live");
    live.textContent = error.message;
  });
});
