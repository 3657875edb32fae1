// Quorum reviewer page: claim, read and decide review items over the REST API.
// Judged text is untrusted: it only ever reaches the DOM through textContent.
"use strict";

(() => {
  const STORE = {
    reviewer: "quorum.review.reviewer",
    panel: "quorum.review.panel",
    current: "quorum.review.current",
    key: "quorum.review.key", // sessionStorage: forgotten when the tab closes
  };
  // After an item appears, its value buttons and number keys do nothing for this long, so a
  // doubled click or key press cannot decide an item nobody has read.
  const LOCK_MS = 1000;

  const $ = (id) => document.getElementById(id);
  // choices: the scale buttons in screen order, each {value (canonical), shown, label}.
  const state = { item: null, busy: false, lockedUntil: 0, lockTimer: 0, choices: [], order: null };

  // --- small helpers -------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setText(id, value) {
    $(id).textContent = value === undefined || value === null ? "" : String(value);
  }

  // Bidi embeddings, overrides and isolates, direction marks and zero-width characters:
  // invisible, yet they reorder or hide what a reviewer reads ("\u202eevil\u202c" shows
  // "live"). Judged texts, comments and rationales show each as a visible marker instead.
  const CONTROLS = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

  function codePoint(ch) {
    return `U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
  }

  // `node` shows `value` as text, each control character as a ⟨U+XXXX⟩ marker (display
  // only: what is sent and stored is unchanged).
  function putText(node, value) {
    const textValue = value === undefined || value === null ? "" : String(value);
    const parts = [];
    let at = 0;
    for (const match of textValue.matchAll(CONTROLS)) {
      if (match.index > at) parts.push(document.createTextNode(textValue.slice(at, match.index)));
      const marker = el("span", "control", `⟨${codePoint(match[0])}⟩`);
      marker.title = "An invisible control character in the text, shown so it cannot reorder it";
      parts.push(marker);
      at = match.index + match[0].length;
    }
    if (at < textValue.length) parts.push(document.createTextNode(textValue.slice(at)));
    node.replaceChildren(...parts);
    return node;
  }

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  function store(key, value) {
    try {
      if (value) localStorage.setItem(key, value);
      else localStorage.removeItem(key);
    } catch (_) {
      /* storage disabled: the page still works, it just forgets */
    }
  }

  function recall(key) {
    try {
      return localStorage.getItem(key) || "";
    } catch (_) {
      return "";
    }
  }

  function apiKey() {
    return $("apikey").value.trim();
  }

  function storedKey() {
    try {
      return sessionStorage.getItem(STORE.key) || "";
    } catch (_) {
      return "";
    }
  }

  function saveKey(value) {
    try {
      if (value) sessionStorage.setItem(STORE.key, value);
      else sessionStorage.removeItem(STORE.key);
    } catch (_) {
      /* storage disabled: the field itself still holds the key */
    }
  }

  function percent(x) {
    return typeof x === "number" ? `${Math.round(x * 100)}%` : "n/a";
  }

  function status(message) {
    setText("status", message);
  }

  function error(message) {
    setText("error", message);
    show("error", Boolean(message));
  }

  // --- REST ----------------------------------------------------------------------------

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    const key = apiKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body ? JSON.stringify(body) : undefined,
        credentials: "same-origin",
      });
    } catch (e) {
      throw new Error(`Could not reach Quorum (${e.message}). Check your connection and retry.`);
    }
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch (_) {
      data = null;
    }
    if (res.status === 401) {
      show("key-field", true);
      $("apikey").focus();
      const err = new Error(
        apiKey()
          ? "This API key was not accepted: it may be mistyped or revoked. " +
            "Paste the key you were given again, or ask your Quorum administrator for a new one."
          : "Quorum needs your reviewer API key before it can show items. " +
            "Paste the key you were given (it starts with qk_) in the API key field, then choose Next item."
      );
      err.status = 401;
      throw err;
    }
    if (!res.ok) {
      const detail = (data && (data.detail || data.title)) || res.statusText;
      const err = new Error(`${detail} (HTTP ${res.status})`);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  const itemPath = (item, action) =>
    `/v1/reviews/${encodeURIComponent(item.id)}${action ? `/${action}` : ""}`;

  // One request at a time; errors end up in the alert region.
  async function run(work) {
    if (state.busy) return;
    state.busy = true;
    document.body.setAttribute("aria-busy", "true");
    error("");
    try {
      await work();
    } catch (e) {
      status("");
      error(e.message || String(e));
    } finally {
      state.busy = false;
      document.body.removeAttribute("aria-busy");
    }
  }

  function reviewer() {
    const name = $("reviewer").value.trim();
    if (!name) {
      error("Enter your name first: it is recorded with every verdict.");
      $("reviewer").focus();
      return "";
    }
    store(STORE.reviewer, name);
    return name;
  }

  // --- rendering -----------------------------------------------------------------------

  function fillText(boxId, textId, value) {
    const present = typeof value === "string" && value.length > 0;
    if (boxId) show(boxId, present);
    putText($(textId), present ? value : "");
    $(textId).scrollTop = 0;
  }

  function isCompliant(rubric, value) {
    const rule = rubric && rubric.compliant;
    if (!rule) return false;
    if (Array.isArray(rule.values)) return rule.values.map(String).includes(String(value));
    if (rule.min !== undefined && rule.min !== null) {
      const scale = rubric.scale.map(String);
      return scale.indexOf(String(value)) >= scale.indexOf(String(rule.min));
    }
    return false;
  }

  // Pairwise values are canonical ("A" is response_a); on screen they are named by the
  // position the reviewer saw them in. `order` is the item's shown_order (null: pointwise).
  function label(value, order) {
    if (!order || (value !== "A" && value !== "B")) return String(value);
    return value === order[0] ? "Response 1" : "Response 2";
  }

  function compliantText(rubric) {
    const rule = rubric && rubric.compliant;
    if (!rule) return "";
    if (Array.isArray(rule.values)) return `Compliant: ${rule.values.join(", ")}`;
    if (rule.min !== undefined && rule.min !== null) return `Compliant: ${rule.min} or better`;
    return "";
  }

  // One choice per scale position. Pairwise: "A" and "B" become the first and the second
  // response shown (the rubric's A anchor describes the response shown first), each carrying
  // the canonical value it stands for in this reviewer's order.
  function choices(rubric, order) {
    const anchors = (rubric && rubric.anchors) || {};
    return (rubric ? rubric.scale : []).map((value) => {
      const anchor = anchors[String(value)];
      if (order && (value === "A" || value === "B")) {
        const first = value === "A";
        return {
          value: first ? order[0] : order[1],
          shown: first ? "first" : "second",
          label: first ? "Response 1" : "Response 2",
          anchor,
        };
      }
      return { value, shown: String(value), label: String(value), anchor };
    });
  }

  function renderScale(rubric, order) {
    const scale = $("scale");
    scale.replaceChildren();
    state.choices = choices(rubric, order);
    state.choices.forEach((choice, i) => {
      const key = i < 9 ? String(i + 1) : "";
      const button = el("button", "choice");
      button.type = "button";
      button.dataset.value = String(choice.value);
      button.dataset.shown = choice.shown;
      if (key) {
        button.setAttribute("aria-keyshortcuts", key);
        button.append(el("kbd", "key", key));
      }
      button.append(el("span", "value", choice.label));
      if (choice.anchor) button.append(el("span", "anchor", choice.anchor));
      if (isCompliant(rubric, choice.value)) button.append(el("span", "tag", "compliant"));
      button.addEventListener("click", () => decide(choice.value));
      scale.append(button);
    });
  }

  function locked() {
    return performance.now() < state.lockedUntil;
  }

  // Disable the value buttons for LOCK_MS (clicks on a disabled button do nothing; the key
  // handler checks `locked()`); `data-locked` on the scale says so to styles and tests.
  function lockChoices() {
    clearTimeout(state.lockTimer);
    state.lockedUntil = performance.now() + LOCK_MS;
    const scale = $("scale");
    scale.dataset.locked = "true";
    for (const button of scale.querySelectorAll("button")) button.disabled = true;
    state.lockTimer = setTimeout(() => {
      delete scale.dataset.locked;
      for (const button of scale.querySelectorAll("button")) button.disabled = false;
    }, LOCK_MS);
  }

  // The panel's verdict (unless a human's has replaced it), confidence and agreement.
  function renderVerdict(container, evaluation, order) {
    container.replaceChildren();
    const verdict = evaluation.verdict;
    const parts = [];
    if (verdict && verdict.source === "panel") {
      const row = el("p", "verdict-line");
      row.append(el("strong", null, "Panel verdict: "), el("span", "verdict-value", label(verdict.value, order)));
      if (verdict.compliant !== null && verdict.compliant !== undefined) {
        row.append(
          el("span", verdict.compliant ? "tag" : "tag bad", verdict.compliant ? "compliant" : "not compliant"),
        );
      }
      parts.push(row);
    }
    const judges = (evaluation.judges || []).filter((j) => j.value !== null && j.value !== undefined);
    if (judges.length) {
      const values = judges.map((j) => `${j.judge} ${label(j.value, order)}`);
      parts.push(el("p", "judge-values", `Judges: ${values.join(" · ")}`));
    }
    const facts = [`confidence ${percent(evaluation.confidence)}`];
    const agreement = evaluation.agreement;
    if (agreement) {
      facts.push(`agreement ${percent(agreement.fleiss_p_i)}`);
      facts.push(`${agreement.usable_votes}/${agreement.total_votes} usable votes`);
      if (typeof agreement.position_consistency === "number") {
        facts.push(`position consistency ${percent(agreement.position_consistency)}`);
      }
    }
    parts.push(el("p", "muted", facts.join(" · ")));
    container.append(...parts);
  }

  // `order`: the reviewer's; a judge's own order is told relative to it.
  function renderVotes(list, evaluation, order) {
    list.replaceChildren();
    for (const vote of evaluation.votes || []) {
      const li = el("li", "vote");
      const head = el("div", "vote-head");
      head.append(el("span", "judge", vote.judge));
      if (vote.order && order) {
        head.append(el("span", "muted", vote.order === order ? "saw your order" : "saw them swapped"));
      } else if (vote.order) {
        head.append(el("span", "muted", `order ${vote.order}`));
      }
      if (vote.value !== null && vote.value !== undefined) {
        head.append(el("span", "vote-value", label(vote.value, order)));
      } else {
        head.append(el("span", "tag bad", vote.unscored ? `unscored: ${vote.unscored}` : "no vote"));
      }
      li.append(head);
      const why = vote.rationale || vote.error || vote.detail;
      if (why) li.append(putText(el("div", "rationale"), why));
      list.append(li);
    }
  }

  // Adjudication: the review-stage decisions that disagree, with who made them and why.
  function renderReviews(item, order) {
    const earlier = item.stage === "adjudication" ? item.decisions.filter((d) => d.stage === "review") : [];
    const list = $("reviews");
    list.replaceChildren();
    for (const d of earlier) {
      const li = el("li", "vote review");
      const head = el("div", "vote-head");
      head.append(putText(el("span", "judge"), d.reviewer), el("span", "vote-value", label(d.value, order)));
      li.append(head);
      if (d.comment) li.append(putText(el("div", "rationale"), d.comment));
      list.append(li);
    }
    show("reviews-box", earlier.length > 0);
  }

  function renderReasons(item) {
    const list = $("reasons");
    list.replaceChildren();
    const routed = item.evaluation.routing ? item.evaluation.routing.reasons : [];
    if (routed.length) {
      for (const r of routed) {
        const li = el("li");
        li.append(el("code", null, r.code));
        if (r.detail) li.append(document.createTextNode(` ${r.detail}`));
        list.append(li);
      }
    } else {
      for (const code of item.reasons || []) list.append(el("li", null, code));
    }
    if (!list.children.length) list.append(el("li", "muted", "no reason recorded"));
  }

  function showItem(item, note) {
    const ev = item.evaluation;
    const input = ev.input || {};
    const rubric = item.rubric;
    const pairwise = ev.kind === "comparison" || "response_a" in input;
    const order = pairwise ? item.shown_order || "AB" : null;
    state.item = item;
    state.order = order;
    store(STORE.current, item.id);

    setText("item-title", `Item ${item.id.slice(0, 8)}`);
    $("item-title").title = item.id;
    setText("meta-panel", item.panel);
    setText("meta-stage", item.stage === "adjudication" ? "adjudication (reviewers disagreed)" : "review");
    setText("meta-uncertainty", typeof item.uncertainty === "number" ? item.uncertainty.toFixed(2) : "n/a");
    setText("meta-reviews", `${item.reviews_done} of ${item.required_reviews}`);
    setText("meta-lease", item.lease_until ? new Date(item.lease_until).toLocaleTimeString() : "n/a");
    renderReasons(item);

    fillText(null, "prompt", input.prompt || "");
    fillText("context-box", "context", input.context);
    fillText("reference-box", "reference", input.reference);
    show("single", !pairwise);
    show("pair", pairwise);
    show("pair-note", pairwise);
    if (pairwise) {
      const text = (side) => input[side === "A" ? "response_a" : "response_b"] || "";
      fillText(null, "response-first", text(order[0]));
      fillText(null, "response-second", text(order[1]));
      fillText(null, "response", "");
    } else {
      fillText(null, "response", input.response || "");
      fillText(null, "response-first", "");
      fillText(null, "response-second", "");
    }

    setText("rubric-id", rubric ? `${rubric.id} v${rubric.version}` : "");
    setText("rubric-description", rubric ? rubric.description : "This rubric is no longer configured.");
    setText("rubric-compliant", compliantText(rubric));
    setText("criteria", rubric ? rubric.criteria : "");
    renderScale(rubric, order);
    lockChoices();
    $("comment").value = "";
    renderReviews(item, order);

    show("blind-note", item.blind);
    show("panel-verdict", !item.blind);
    show("votes", !item.blind);
    if (item.blind) {
      $("panel-verdict").replaceChildren();
      $("votes").replaceChildren();
    } else {
      renderVerdict($("panel-verdict"), ev, order);
      renderVotes($("votes"), ev, order);
    }

    show("welcome", false);
    show("empty", false);
    show("item", true);
    show("decide-box", true);
    show("judges-box", true);
    status(note || `Claimed item ${item.id.slice(0, 8)} on panel ${item.panel}.`);
    // Scroll the item's column, not the page: the buttons stay where the cursor is.
    $("main-col").scrollTop = 0;
    window.scrollTo(0, 0);
    $("item-title").focus({ preventScroll: true });
  }

  function clearItem() {
    state.item = null;
    state.order = null;
    store(STORE.current, "");
    show("item", false);
    show("decide-box", false);
    show("judges-box", false);
    show("reviews-box", false);
  }

  function showEmpty() {
    clearItem();
    const panel = $("panel").value;
    setText(
      "empty-detail",
      panel
        ? `Nothing is waiting for review on panel ${panel}. Try again later or pick another panel.`
        : "Nothing is waiting for review on any panel. Try again later.",
    );
    show("welcome", false);
    show("empty", true);
    status("The queue is empty.");
    $("empty-title").setAttribute("tabindex", "-1");
    $("empty-title").focus({ preventScroll: true });
  }

  // `order`: the one the decided item was shown in.
  function showLast(done, value, order) {
    const chose = label(value, order);
    let outcome;
    if (done.status === "decided") {
      outcome = `You chose ${chose}: final verdict ${label(done.final_value, order)}.`;
    } else if (done.stage === "adjudication") {
      outcome = `You chose ${chose}. Reviewers disagree: the item goes to adjudication.`;
    } else {
      outcome = `You chose ${chose}. Recorded: ${done.reviews_done} of ${done.required_reviews} reviews.`;
    }
    setText("last-outcome", outcome);
    const ev = done.evaluation;
    if (done.status === "decided" && ev.verdict && typeof ev.verdict.compliant === "boolean") {
      const ok = ev.verdict.compliant;
      $("last-outcome").append(el("span", ok ? "tag" : "tag bad", ok ? "compliant" : "not compliant"));
    }
    if (done.blind) {
      $("last-verdict").replaceChildren(el("p", "muted", "The judges' votes stay hidden until all reviews are in."));
      $("last-votes").replaceChildren();
      show("last-details", false);
    } else {
      renderVerdict($("last-verdict"), ev, order);
      renderVotes($("last-votes"), ev, order);
      setText("last-summary", `What the judges said (${(ev.votes || []).length} votes)`);
      show("last-details", true);
    }
    show("last", true);
  }

  // --- actions -------------------------------------------------------------------------

  // The claim is gone (lease expired, taken over, item removed): drop it and say so.
  function dropIfLost(e) {
    if (e.status === 404 || e.status === 409) {
      clearItem();
      show("welcome", true);
      throw new Error(`${e.message}. The item was put away; press N for the next one.`);
    }
    throw e;
  }

  async function claimNext(name) {
    const panel = $("panel").value || null;
    const item = await api("POST", "/v1/reviews/claim", { reviewer: name, panel });
    if (item === null) showEmpty();
    else showItem(item, null);
  }

  function next() {
    const name = reviewer();
    if (!name) return;
    return run(async () => {
      if (state.item && state.item.claimed_by === name) {
        status("Finish or release the current item first.");
        return;
      }
      if (!state.item && (await resumeHeld(name))) return;
      await claimNext(name);
    });
  }

  // `value` is canonical; with it goes the order the two responses were shown in.
  function decide(value) {
    const item = state.item;
    if (!item || locked()) return;
    const name = reviewer();
    if (!name) return;
    const order = state.order;
    return run(async () => {
      const comment = $("comment").value.trim();
      const body = { reviewer: name, value, comment: comment || null };
      if (order) body.shown_order = order;
      const done = await api("POST", itemPath(item, "verdict"), body).catch(dropIfLost);
      showLast(done, value, order);
      clearItem();
      status(`Saved your verdict ${label(value, order)}. Loading the next item…`);
      await claimNext(name);
    });
  }

  function release() {
    const item = state.item;
    if (!item) return;
    const name = reviewer();
    if (!name) return;
    return run(async () => {
      await api("POST", itemPath(item, "release"), { reviewer: name }).catch(dropIfLost);
      clearItem();
      show("welcome", true);
      status(`Released item ${item.id.slice(0, 8)}: it is back in the queue.`);
      $("next").focus();
    });
  }

  // Show the item this browser last held, if the server says `name` still holds it; true
  // if shown. The stored id is forgotten only when the item is gone (404) or no longer held
  // by `name` (decided, released, its lease taken over); a missing key (401), an
  // unreachable server or another error keeps it for the next try (N, after the key).
  async function resumeHeld(name) {
    const id = recall(STORE.current);
    if (!id) return false;
    let item;
    try {
      item = await api("GET", `/v1/reviews/${encodeURIComponent(id)}?reviewer=${encodeURIComponent(name)}`);
    } catch (e) {
      if (e.status !== 404) throw e;
      item = null;
    }
    if (item && item.status === "claimed" && item.claimed_by === name) {
      showItem(item, `Resumed item ${item.id.slice(0, 8)}, still claimed by you.`);
      return true;
    }
    store(STORE.current, "");
    return false;
  }

  // Reloading the page keeps the item this reviewer holds.
  async function resume() {
    const name = $("reviewer").value.trim();
    if (!recall(STORE.current) || !name) return;
    await run(() => resumeHeld(name));
  }

  // --- wiring --------------------------------------------------------------------------

  function typing(target) {
    return (
      target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))
    );
  }

  function onKey(e) {
    if (e.key === "Escape" && typing(e.target)) {
      e.target.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat || typing(e.target)) return;
    const key = e.key.toLowerCase();
    if (key === "n") {
      e.preventDefault();
      next();
    } else if (key === "r" && state.item) {
      e.preventDefault();
      release();
    } else if (/^[1-9]$/.test(key) && state.item) {
      const choice = state.choices[Number(key) - 1];
      if (choice === undefined) return;
      e.preventDefault();
      decide(choice.value);
    }
  }

  function init() {
    const input = $("reviewer");
    input.value = recall(STORE.reviewer);
    input.addEventListener("change", () => store(STORE.reviewer, input.value.trim()));
    const key = $("apikey");
    key.value = storedKey();
    show("key-field", Boolean(key.value));
    key.addEventListener("change", () => saveKey(key.value.trim()));
    const select = $("panel");
    const panel = recall(STORE.panel);
    if ([...select.options].some((o) => o.value === panel)) select.value = panel;
    select.addEventListener("change", () => store(STORE.panel, select.value));
    $("setup").addEventListener("submit", (e) => {
      e.preventDefault();
      next();
    });
    $("release").addEventListener("click", release);
    document.addEventListener("keydown", onKey);
    if (!input.value) input.focus();
    resume();
  }

  init();
})();
