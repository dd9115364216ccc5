// Images in the editor. Without this script the "Upload image" button sends the whole
// form and the page comes back with the image's Markdown at the end of the text. With
// it the image is sent alone and its Markdown goes in at the cursor; an image dropped
// on or pasted into the text is put in the file field, and the author is asked for its
// description before anything is sent (a description is required).
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector("fieldset.image-upload");
  const body = document.querySelector("textarea.markdown");
  if (!box || !body || !window.fetch || !window.FormData) return;
  const form = box.closest("form");
  const file = box.querySelector("input[type=file]");
  const alt = box.querySelector("input[name=image_alt]");
  const button = box.querySelector("button[value=upload]");
  const status = box.querySelector(".upload-status");
  const token = form.querySelector("input[name=csrf_token]");
  let cursor = null;

  const say = (text) => {
    status.textContent = text;
  };

  const take = (files) => {
    const images = Array.from(files || []).filter((f) => f.type.startsWith("image/"));
    if (!images.length) return false;
    const chosen = new DataTransfer();
    chosen.items.add(images[0]);
    file.files = chosen.files;
    cursor = body.selectionStart;
    say(`“${images[0].name || "Pasted image"}” is ready: describe it, then choose Upload image.`);
    alt.focus();
    return true;
  };

  const insert = (markdown) => {
    const at = cursor ?? body.selectionStart ?? body.value.length;
    const before = body.value.slice(0, at);
    const after = body.value.slice(at);
    const lead = before && !before.endsWith("\n\n") ? (before.endsWith("\n") ? "\n" : "\n\n") : "";
    const text = `${lead}${markdown}\n\n`;
    body.value = before + text + after.replace(/^\n+/, "");
    body.selectionStart = body.selectionEnd = before.length + text.length;
    body.dispatchEvent(new Event("input", { bubbles: true }));
    cursor = null;
  };

  body.addEventListener("blur", () => {
    cursor = body.selectionStart;
  });
  body.addEventListener("dragover", (event) => {
    if (event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files")) {
      event.preventDefault();
    }
  });
  body.addEventListener("drop", (event) => {
    if (event.dataTransfer && take(event.dataTransfer.files)) event.preventDefault();
  });
  body.addEventListener("paste", (event) => {
    if (event.clipboardData && take(event.clipboardData.files)) event.preventDefault();
  });

  button.addEventListener("click", async (event) => {
    event.preventDefault();
    if (!file.files.length) {
      say("Choose an image first.");
      file.focus();
      return;
    }
    if (!alt.value.trim()) {
      say("Describe the image first: readers who cannot see it read the description.");
      alt.focus();
      return;
    }
    const data = new FormData();
    data.append("csrf_token", token ? token.value : "");
    data.append("image", file.files[0]);
    data.append("alt", alt.value);
    button.disabled = true;
    say("Uploading…");
    try {
      const response = await fetch(box.dataset.uploadUrl, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      let answer = {};
      try {
        answer = await response.json();
      } catch {
        answer = {};
      }
      if (!response.ok || !answer.markdown) {
        say(answer.error || `The upload failed (error ${response.status}); nothing was added.`);
        return;
      }
      insert(answer.markdown);
      file.value = "";
      alt.value = "";
      say(`Uploaded: ${answer.markdown} was added to the text.`);
      body.focus();
    } catch {
      say("The upload could not reach the blog; check the connection and try again.");
    } finally {
      button.disabled = false;
    }
  });
});
