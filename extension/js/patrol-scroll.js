// Injected by the patrol (patrol-run.js, chrome.scripting) into the page it looks at: two screens
// down, as a reader scrolls. In Chromium the patrol's window is drawn, and this is all. In Firefox
// the patrol looks in an unselected tab, so its page is hidden, and a browser does not draw a
// hidden page: it sends it no scroll event and loads none of its lazy pictures until it is shown.
// What a reader's scroll would have set off is set off here: the scroll event, and the lazy
// pictures of the screens scrolled past. A list that waits for its end to be drawn (an
// IntersectionObserver) waits for more: no script of the page can draw it, so the patrol asks
// Firefox to before each scroll (patrol-run.js, drawn(); extension/README.md, "Where the patrol looks").
(() => {
  scrollBy(0, innerHeight * 2);
  if (document.visibilityState !== "hidden") return;
  document.dispatchEvent(new Event("scroll", { bubbles: true }));
  for (const img of document.querySelectorAll("img[loading=lazy]")) {
    if (img.getBoundingClientRect().top < innerHeight) img.loading = "eager";
  }
})();
