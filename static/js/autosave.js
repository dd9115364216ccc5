// Autosave in the post editor. A few seconds after the author types, their writing
// (title, text, summary, labels) is sent to the blog, which keeps it apart from the
// post: readers never see it, and saving the post removes it. When the blog cannot be
// reached it is kept in this browser (localStorage) instead, sent when the connection
// is back, and offered the next time this editor is opened if it never arrived.
// Without this script nothing is autosaved, but a copy the blog kept is still offered,
// and restored by a plain link.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.post-editor[data-autosave-url]");
  if (!form || !window.fetch || !window.FormData) return;
  const url = form.dataset.autosaveUrl;
  const key = form.dataset.autosaveKey;
  const status = form.querySelector(".autosave-status");
  const FIELDS = ["title", "body", "summary", "labels"];
  const EVERY_MS = 3000;
  const field = (name) => form.elements.namedItem(name);
  let dirty = false; // typed since the last copy the blog kept
  let sending = false;
  let reached = true; // the last attempt reached the blog
  let submitting = false;

  const say = (text, problem = false) => {
    if (status.textContent !== text) status.textContent = text;
    status.classList.toggle("problem", problem);
  };
  const offers = () => document.querySelectorAll(".autosave-offer");
  const waiting = () => offers().length > 0;
  const sayWaiting = () =>
    say("Autosave waits until you restore or discard the unsaved text above.");

  const writing = () => {
    const text = {};
    for (const name of FIELDS) text[name] = field(name) ? field(name).value : "";
    return text;
  };
  const version = () => (field("version") ? field("version").value : "");

  // localStorage may be missing or refused (private windows, full disks, settings).
  const storage = (() => {
    try {
      window.localStorage.getItem(key);
      return window.localStorage;
    } catch {
      return null;
    }
  })();
  const readLocal = () => {
    if (!storage) return null;
    try {
      const copy = JSON.parse(storage.getItem(key) || "null");
      return copy && typeof copy.body === "string" && copy.savedAt ? copy : null;
    } catch {
      return null;
    }
  };
  const keepLocal = () => {
    if (!storage) return false;
    try {
      const copy = { ...writing(), version: version(), savedAt: new Date().toISOString() };
      storage.setItem(key, JSON.stringify(copy));
      return true;
    } catch {
      return false;
    }
  };
  const dropLocal = () => {
    try {
      if (storage) storage.removeItem(key);
    } catch {
      // nothing to drop
    }
  };

  const payload = () => {
    const data = new FormData();
    const token = field("csrf_token");
    data.append("csrf_token", token ? token.value : "");
    for (const [name, value] of Object.entries(writing())) data.append(name, value);
    data.append("version", version());
    return data;
  };

  const unreachable = () => {
    reached = false;
    dirty = true; // sent again when the blog answers
    say(
      keepLocal()
        ? "The blog cannot be reached: your text is kept in this browser until it can be."
        : "The blog cannot be reached and this browser cannot keep a copy: keep this page open.",
      true,
    );
  };

  const send = async () => {
    if (!dirty || sending || submitting || waiting()) return;
    sending = true;
    dirty = false;
    try {
      const response = await fetch(url, {
        method: "POST",
        body: payload(),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        redirect: "manual",
      });
      if (response.status >= 500 || response.type === "opaqueredirect") {
        if (response.type === "opaqueredirect") {
          // Signed out: the sign-in page answered instead.
          keepLocal();
          say("You are signed out: your text is kept in this browser. Sign in again in another tab.", true);
          return;
        }
        unreachable();
        return;
      }
      let answer = {};
      try {
        answer = await response.json();
      } catch {
        answer = {};
      }
      if (!response.ok) {
        keepLocal();
        say(`${answer.error || `The blog refused the copy (error ${response.status}).`}`, true);
        return;
      }
      reached = true;
      dropLocal();
      say(answer.stale ? `${answer.message} ${answer.stale}` : answer.message || "", Boolean(answer.stale));
    } catch {
      unreachable();
    } finally {
      sending = false;
    }
  };

  form.addEventListener("input", (event) => {
    if (!FIELDS.includes(event.target.name)) return;
    dirty = true;
    if (waiting()) {
      // Not sent, so as not to replace the copy offered above; kept here meanwhile.
      keepLocal();
      sayWaiting();
    }
  });
  form.addEventListener("submit", (event) => {
    // Saving removes the blog's copy; an autosave sent after it would bring it back.
    submitting = true;
    const action = event.submitter ? event.submitter.value : "save";
    // A save that reaches the blog either keeps the text or gives the form back with
    // it; this browser's copy is kept only while the blog cannot be reached.
    if (reached && ["save", "publish", "unpublish"].includes(action)) dropLocal();
  });
  window.setInterval(send, EVERY_MS);
  window.addEventListener("online", send);
  window.addEventListener("pagehide", () => {
    if (!dirty || submitting) return;
    if (waiting() || !reached || !navigator.sendBeacon || !navigator.sendBeacon(url, payload())) {
      keepLocal();
    }
  });
  // A tab in the background may be closed without warning: keep what is there now, on
  // the blog, or in this browser while the blog could not be reached a moment ago.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "hidden" || !dirty || submitting) return;
    if (reached) send();
    else keepLocal();
  });

  // ---- A copy kept in this browser (the blog could not be reached) ----

  const shownTime = (iso) =>
    new Date(iso).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });

  const make = (tag, attributes = {}, text = "") => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text) node.textContent = text;
    return node;
  };

  const noun = key.startsWith("kmblog-page-") ? "page" : "post";

  const offerLocal = (copy) => {
    const time = shownTime(copy.savedAt);
    const box = make("section", {
      class: "autosave-offer local-copy",
      "aria-labelledby": "local-copy-title",
    });
    box.append(
      make("h3", { id: "local-copy-title" }, "Unsaved text in this browser"),
      make(
        "p",
        {},
        `This browser kept text of this ${key.endsWith(":new") ? "new " : ""}${noun} ` +
          `at ${time} that the blog never received (it could not be reached, or autosave was waiting).`,
      ),
    );
    const details = make("details");
    const title = make("p", { class: "autosave-title" });
    title.append(make("strong", {}, copy.title || "(no title)"));
    details.append(make("summary", {}, "Show the unsaved text"), title);
    details.append(make("pre", { class: "autosave-text" }, copy.body));
    const choices = make("div", { class: "autosave-choices" });
    const restore = make("button", { type: "button", class: "restore-local" }, `Restore the unsaved text from ${time}`);
    const discard = make("button", { type: "button", class: "link-button" }, "Discard it");
    choices.append(restore, discard);
    box.append(details, choices);
    form.before(box);

    const settle = (message) => {
      box.remove();
      say(waiting() ? "" : message);
      if (waiting()) sayWaiting();
    };
    restore.addEventListener("click", () => {
      for (const name of FIELDS) {
        if (field(name) && typeof copy[name] === "string") field(name).value = copy[name];
      }
      // Saved, it is checked against the version it was written from.
      if (field("version") && copy.version) field("version").value = copy.version;
      dirty = true;
      settle(`The unsaved text from ${time} is back in the form. It is not saved yet.`);
      field("title").focus();
    });
    discard.addEventListener("click", () => {
      dropLocal();
      settle("The unsaved text kept in this browser was discarded.");
      field("title").focus();
    });
  };

  const copy = readLocal();
  if (copy) {
    const now = writing();
    const offered = document.querySelector(".autosave-offer pre.autosave-text");
    const sameAsForm = FIELDS.every((name) => (copy[name] || "") === now[name]);
    const sameAsOffered = offered && offered.textContent === copy.body;
    if (sameAsForm || sameAsOffered) dropLocal();
    else offerLocal(copy);
  }
  if (waiting()) sayWaiting();
});
