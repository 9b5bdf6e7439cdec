// The review page's "Look for her": for each child, one link per network to that network's own
// search for each of her names and handles (the addresses in data/search.json). The parent opens
// them in a new tab; what the results show goes through Sentinelle like any page, and accounts
// that look like her land on the watch list. Sentinelle itself fetches nothing.

import { platformName, t } from "./i18n.js";
import { text } from "./page.js";
import { searchTerms, searchUrl } from "./searches.js";

const $ = (id) => document.getElementById(id);

/** Show the links for `children` (GET /api/children) from `searches` (data/search.json). */
export function showLookForHer(children, searches) {
  const named = children.filter((child) => searchTerms(child).length);
  $("look-none").hidden = named.length > 0;
  $("look-children").replaceChildren(...named.map((child) => childLinks(child, searches)));
}

function childLinks(child, searches) {
  const item = document.createElement("li");
  item.className = "look-child";
  item.dataset.child = child.name;
  const terms = searchTerms(child);
  const networks = Object.entries(searches.platforms).map(([platform, template]) => {
    const line = document.createElement("li");
    line.dataset.platform = platform;
    line.append(text("strong", platformName(platform)));
    for (const term of terms) {
      const url = searchUrl(template, term);
      if (!url) continue;
      const anchor = text("a", term);
      anchor.href = url;
      anchor.target = "_blank";
      anchor.rel = "noopener noreferrer";
      anchor.title = t("lookFor", [platformName(platform), term]);
      anchor.dataset.term = term;
      line.append(" ", anchor);
    }
    return line;
  });
  const without = (searches.no_web_search || []).map((platform) =>
    text("li", t("lookNoWebSearch", platformName(platform)), "no-web-search"));
  const list = document.createElement("ul");
  list.className = "look-networks";
  list.append(...networks, ...without);
  item.append(text("h3", child.name), list);
  return item;
}
