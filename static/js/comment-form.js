// Every reader of a post gets the same page (no cookie, no token), so the comment form
// carries a timer that says when the page was made, not when this reader saw it. When
// the form comes into view, ask for a timer of this reader's own: a comment sent back
// sooner than a person could write it is then known for a bot's. Without this script
// the blog asks the reader to press Publish once more instead.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.comment-form[data-timer-url]");
  const shown = form && form.querySelector("input[name='shown']");
  if (!shown) return;
  let asked = false;
  const ask = () => {
    if (asked) return;
    asked = true;
    fetch(form.dataset.timerUrl, { credentials: "omit", cache: "no-store" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((fields) => {
        shown.value = fields.shown;
      })
      .catch(() => {
        // The page's own timer stays: the blog then asks to confirm the comment.
      });
  };
  form.addEventListener("focusin", ask, { once: true });
  if ("IntersectionObserver" in window) {
    const watcher = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) {
        watcher.disconnect();
        ask();
      }
    });
    watcher.observe(form);
  }
});
