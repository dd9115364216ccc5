// The editor's live preview. Without this script the pane keeps its note and the Preview
// button sends the whole form back for a preview above it. With it, the pane beside
// the text shows the body as readers will see it, a moment after the author stops
// typing: the body goes to the preview address (with the editor's CSRF token), which
// renders it with the very call that saving uses and answers with the HTML (already
// sanitised by kmblog/rendering.py) and its length ("1,380 words · 6 min read").
document.addEventListener("DOMContentLoaded", () => {
  const pane = document.querySelector("section.live-preview");
  const body = document.querySelector("textarea#body");
  if (!pane || !body || !window.fetch || !window.FormData) return;
  const form = body.closest("form");
  const token = form ? form.querySelector("input[name=csrf_token]") : null;
  const shown = pane.querySelector(".live-preview-body");
  const status = pane.querySelector(".live-preview-status");
  const stats = document.querySelector(".reading-stats");
  const WAIT_MS = 400;
  let timer = null;
  let sent = 0; // the number of the latest request: an older answer is dropped
  let pending = null;

  const say = (text) => {
    status.textContent = text;
  };

  const update = async () => {
    const number = ++sent;
    if (pending) pending.abort();
    pending = new AbortController();
    const data = new FormData();
    data.append("body", body.value);
    try {
      const response = await fetch(pane.dataset.previewUrl, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
        credentials: "same-origin",
        signal: pending.signal,
      });
      let answer = {};
      try {
        answer = await response.json();
      } catch {
        answer = {};
      }
      if (number !== sent) return;
      if (!response.ok || typeof answer.html !== "string") {
        say(
          answer.error ||
            (response.status === 400
              ? "The preview stopped: the page has expired. Save your work, then reload."
              : `The preview could not be updated (error ${response.status}).`),
        );
        return;
      }
      // The server's own sanitised output (rendering.py), as a published post has it.
      shown.innerHTML = answer.html;
      if (stats) stats.textContent = answer.summary;
      say("");
    } catch (error) {
      if (error.name === "AbortError") return;
      if (number === sent) say("The preview could not reach the blog; it resumes as you type.");
    }
  };

  // A preview the server made (the Preview button) is on the page already, with the
  // same ids as this pane would have: the pane takes over once the text changes.
  const served = document.querySelector("section.preview");
  if (served) {
    say("The preview above shows the text as it was sent; this pane follows your typing.");
  } else {
    update();
  }
  body.addEventListener("input", () => {
    if (served && served.isConnected) served.remove();
    clearTimeout(timer);
    timer = setTimeout(update, WAIT_MS);
  });
});
