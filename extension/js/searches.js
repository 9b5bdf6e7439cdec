// Her searches: each network's own search for accounts (data/search.json, the extension's own
// reviewed list, never the server's) and the terms she is looked for by. Shared by the review
// page's "Look for her" links (look-for-her.js) and the patrol (patrol.js), in pages and worker.

import { safeUrl } from "./places.js";

export async function loadSearches() {
  const response = await fetch(chrome.runtime.getURL("data/search.json"));
  return response.json();
}

/** Her full name, nicknames, then her own handles: each once, whatever its case. */
export function searchTerms(child) {
  const terms = [child.name, ...child.aliases, ...child.handles.map(([, handle]) => handle)];
  const seen = new Set();
  return terms.map((term) => term.trim()).filter((term) => {
    const key = term.toLocaleLowerCase();
    if (!term || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A network's search address for `term`: the term written with encodeURIComponent, nothing else
 *  of it reaches the address. Null for a template that does not make an https address. */
export function searchUrl(template, term) {
  const url = safeUrl(template.replaceAll("{q}", encodeURIComponent(term)));
  return url && url.startsWith("https://") ? url : null;
}

