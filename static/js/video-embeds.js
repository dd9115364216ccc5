// Click-to-load videos. A post's YouTube or Vimeo video arrives as a box (made in
// kmblog/rendering.py) holding a link to the video's own page: nothing is fetched from
// the host while the page is read, and a reader without JavaScript follows the link.
// A click here puts the host's privacy-enhanced player in the box instead; the CSP's
// frame-src allows those two players and no other frame.
(() => {
  const players = {
    youtube: {
      id: /^[A-Za-z0-9_-]{11}$/,
      src: (id) => `https://www.youtube-nocookie.com/embed/${id}?autoplay=1`,
      name: "YouTube",
    },
    vimeo: {
      id: /^[1-9][0-9]{0,11}$/,
      src: (id) => `https://player.vimeo.com/video/${id}?dnt=1&autoplay=1`,
      name: "Vimeo",
    },
  };

  document.addEventListener("click", (event) => {
    const link = event.target.closest(".video-embed > a.video-embed-link");
    if (!link) return;
    // A new tab or window (middle click, Ctrl or Shift) goes to the video's page.
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      return;
    }
    const box = link.parentElement;
    const host = box.dataset.videoHost || "";
    const id = box.dataset.videoId || "";
    // The same checks as the server's: anything else stays a plain link.
    if (!Object.hasOwn(players, host) || !players[host].id.test(id)) return;
    event.preventDefault();
    const player = players[host];
    const frame = document.createElement("iframe");
    frame.src = player.src(id);
    frame.title = `${player.name} video player`;
    frame.allow = "autoplay; encrypted-media; fullscreen; picture-in-picture";
    frame.allowFullscreen = true;
    // The players want to know which site embeds them (YouTube refuses to play
    // without it); the origin is all they get.
    frame.referrerPolicy = "strict-origin-when-cross-origin";
    box.classList.add("video-embed-playing");
    link.replaceWith(frame);
    // Keyboard users land on the player they asked for, not back at the page's top.
    frame.focus();
  });
})();
