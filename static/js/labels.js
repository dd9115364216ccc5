// The labels field takes several labels separated by commas; a plain <datalist> only
// suggests for the whole value. This offers the existing labels after each comma too.
document.addEventListener("DOMContentLoaded", () => {
  const input = document.querySelector("input[list='label-names']");
  const list = document.getElementById("label-names");
  if (!input || !list) return;
  const names = Array.from(list.options, (option) => option.value);
  input.addEventListener("input", () => {
    const typed = input.value.split(",").slice(0, -1).map((s) => s.trim()).filter(Boolean);
    const prefix = typed.length ? typed.join(", ") + ", " : "";
    list.replaceChildren(
      ...names
        .filter((name) => !typed.includes(name))
        .map((name) => Object.assign(document.createElement("option"), { value: prefix + name })),
    );
  });
});
