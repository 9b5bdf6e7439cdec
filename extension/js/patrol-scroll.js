// Injected by the patrol (patrol-run.js, chrome.scripting) into the page it looks at: two screens
// down, as a reader scrolls. The patrol's window is minimized, so its page is hidden, and a
// browser does not draw a hidden page: it sends it no scroll event and loads none of its lazy
// pictures until it is shown. What a reader's scroll would have set off is set off here: the
// scroll event, and the lazy pictures of the screens scrolled past. A list that waits for its end
// to be drawn (an IntersectionObserver) still waits, its first results too: nothing a script can
// do draws a hidden page (tests/extension/test_patrol.py, docs/parents.md).
(() => {
  scrollBy(0, innerHeight * 2);
  if (document.visibilityState !== "hidden") return;
  document.dispatchEvent(new Event("scroll", { bubbles: true }));
  for (const img of document.querySelectorAll("img[loading=lazy]")) {
    if (img.getBoundingClientRect().top < innerHeight) img.loading = "eager";
  }
})();
