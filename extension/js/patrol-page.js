// Injected by the patrol (patrol-run.js, chrome.scripting) into the page it looks at: reads what
// the page shows, changes nothing, clicks nothing. Its value is the last expression's: where the
// page is, whether it asks for a password or shows a check that the browser is a person, its
// height and whether it is scrolled to its end, and how many requests it has made.
(() => {
  // The page's resource entries are counted; the browser keeps 250 unless asked for more.
  performance.setResourceTimingBufferSize(10000);
  const doc = document.documentElement;
  return {
    url: location.href,
    password: Boolean(document.querySelector("input[type=password]")),
    challenge: Boolean(document.querySelector(
      "iframe[src*=captcha], iframe[src*=challenge], #captcha, .g-recaptcha, .h-captcha")),
    height: doc.scrollHeight,
    bottom: Math.ceil(window.scrollY + window.innerHeight) >= doc.scrollHeight - 2,
    requests: performance.getEntriesByType("resource").length + 1, // and the page itself
  };
})();
