// Threaded replies. Without this script a comment's Reply link opens the post again with
// ?reply=<id>, and the comment form below the comments answers that comment. With it,
// the form itself moves under the comment being answered, with the same hidden field
// and the same "Replying to NAME" line; "Cancel reply" puts it back where it was.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.comment-form");
  const parent = form && form.querySelector("input[name='parent']");
  const line = form && form.querySelector(".replying-to");
  if (!parent || !line) return;
  const nameLink = line.querySelector(".replying-to-name");
  const cancel = line.querySelector(".cancel-reply");
  // Where the form lives when it answers the post itself.
  const home = document.createComment("comment form");
  form.before(home);

  const answer = (item, id, name) => {
    // Under the comment's own text and Reply link, before the replies to it.
    const replies = item.querySelector(":scope > .comment-replies");
    item.insertBefore(form, replies);
    parent.value = id;
    nameLink.textContent = name;
    nameLink.href = "#c" + id;
    line.hidden = false;
  };

  const stopAnswering = () => {
    home.after(form);
    parent.value = "";
    line.hidden = true;
  };

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.comment-reply[data-reply-to]");
    if (!link) return;
    const item = document.getElementById("c" + link.dataset.replyTo);
    if (!item) return;
    event.preventDefault();
    answer(item, link.dataset.replyTo, link.dataset.replyName);
    form.querySelector("textarea").focus();
  });

  cancel.addEventListener("click", (event) => {
    event.preventDefault();
    stopAnswering();
    form.querySelector("textarea").focus();
  });
});
