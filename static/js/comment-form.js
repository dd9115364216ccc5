// A page kept by a shared cache carries no reader's own form token (it is the same for
// everyone). When the comment form has none, fetch this reader's token and form timer
// before they send it.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.comment-form[data-token-url]");
  if (!form) return;
  const token = form.querySelector("input[name='csrf_token']");
  const shown = form.querySelector("input[name='shown']");
  if (!token || token.value) return;
  fetch(form.dataset.tokenUrl, { credentials: "same-origin", cache: "no-store" })
    .then((response) => response.json())
    .then((fields) => {
      token.value = fields.csrf_token;
      if (shown) shown.value = fields.shown;
    })
    .catch(() => {
      // Without a token the server answers with the form kept and a fresh token.
    });
});
