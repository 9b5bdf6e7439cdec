// The options page's children: each child's full name, nicknames and own accounts, saved to
// Sentinelle (PUT /api/children), listed (GET /api/children) and removed (DELETE), as `sentinelle
// child set`, `child list` and `child remove` do. Sentinelle checks the accounts the feeds show
// against them to see the ones that pretend to be her; her own accounts are never flagged. One
// child, one name: the server says which child a name means, and the page says what it chose.

import { Api } from "./api.js";
import { platformName, t, tn } from "./i18n.js";
import { explain, fromTemplate, localize, say, twoClicks } from "./page.js";
import { PLATFORMS } from "./platforms.js";

const $ = (id) => document.getElementById(id);
const hooks = { photosChanged: async () => {} };

/** Wire the form once; the list fills when `listChildren` is called with a working API.
 *  `photosChanged(api)` is called when a child's photos were removed with her. */
export function setUpChildren(photosChanged) {
  hooks.photosChanged = photosChanged;
  $("child-form").addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
  $("child-form").addEventListener("reset", (event) => {
    event.preventDefault(); // emptied here, one row for an account left ready
    fill({ name: "", aliases: [], handles: [] });
    say("child-status", "", "info");
    $("child-name").focus();
  });
  $("child-handle-add").addEventListener("click", () => {
    addHandleRow();
    $("child-handles").lastElementChild.querySelector("input").focus();
  });
  fill({ name: "", aliases: [], handles: [] });
}

export function enableChildren(enabled) {
  $("child-fields").disabled = !enabled; // a fieldset: every field and button in it, rows added later too
}

/** Show the children Sentinelle knows (and offer their names to the enrollment's "whose photos"). */
export async function listChildren(api) {
  let children;
  try {
    children = await api.children();
  } catch (error) {
    $("children-count").textContent = explain(error);
    return;
  }
  $("children-count").textContent = children.length ? "" : t("childrenNone");
  $("children").replaceChildren(...children.map(childItem));
  $("children-names").replaceChildren(...children.map((child) => {
    const option = document.createElement("option");
    option.value = child.name;
    return option;
  }));
}

/** The form's words as the API takes them: full name, nicknames, [platform, handle] pairs, and
 *  the child being edited (her name may be the one changed). */
function fromForm() {
  const name = $("child-name").value.split(/\s+/).filter(Boolean).join(" ");
  const aliases = $("child-aliases").value.split(",").map((alias) => alias.trim()).filter(Boolean);
  const handles = [...$("child-handles").children]
    .map((row) => [row.querySelector("select").value, row.querySelector("input").value.trim().replace(/^@+/, "")])
    .filter(([, handle]) => handle);
  const id = Number($("child-form").dataset.childId) || undefined;
  return { id, name, aliases, handles };
}

async function save() {
  const child = fromForm();
  if (!child.name) {
    say("child-status", t("childNameMissing"), "error");
    return;
  }
  say("child-status", t("statusSaving"), "info");
  try {
    const api = await Api.fromStorage();
    const saved = await api.setChild(child);
    fill(saved);
    // As `sentinelle child set` says: whom the name was taken for, and that a first name alone
    // never makes an account look like her.
    const chosen = saved.was ? t("childRenamed", [saved.was, saved.name])
      : saved.name !== child.name ? t("childMeant", [child.name, saved.name]) : null;
    const alone = saved.name.split(/\s+/).length < 2;
    const said = [chosen, t("childSaved", saved.name), alone && t("childFirstNameOnly")].filter(Boolean).join(" ");
    say("child-status", said, alone ? "info" : "ok");
    await listChildren(api);
  } catch (error) {
    say("child-status", explain(error), "error");
  }
}

function fill({ id, name, aliases, handles }) {
  $("child-form").dataset.childId = id || "";
  $("child-name").value = name;
  $("child-aliases").value = aliases.join(", ");
  $("child-handles").replaceChildren();
  for (const [platform, handle] of handles) addHandleRow(platform, handle);
  if (!handles.length) addHandleRow();
}

function addHandleRow(platform = PLATFORMS[0], handle = "") {
  const row = fromTemplate("handle-row");
  localize(row);
  const select = row.querySelector("select");
  select.append(...PLATFORMS.map((value) => {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = platformName(value);
    return option;
  }));
  select.value = PLATFORMS.includes(platform) ? platform : PLATFORMS[0];
  row.querySelector("input").value = handle;
  row.querySelector("button").addEventListener("click", () => row.remove());
  $("child-handles").append(row);
}

function childItem(child) {
  const item = fromTemplate("child-item");
  localize(item);
  item.dataset.child = child.name;
  item.querySelector(".child-name").textContent = child.name;
  item.querySelector(".child-aliases").textContent =
    child.aliases.length ? t("childAlso", child.aliases.join(", ")) : "";
  item.querySelector(".child-accounts").textContent = child.handles.length
    ? t("childAccounts", child.handles.map(([platform, handle]) => `${platformName(platform)} @${handle}`).join(", "))
    : "";
  item.querySelector(".child-photos").textContent = tn("childPhotos", child.photos);
  item.querySelector(".child-edit").addEventListener("click", () => {
    fill(child);
    say("child-status", "", "info");
    $("child-name").focus();
  });
  // The first click also says what removing her does.
  twoClicks(item.querySelector(".child-remove"), t("childRemoveConfirm"), async () => {
    const api = await Api.fromStorage();
    const removed = await api.removeChild(child.id);
    if (Number($("child-form").dataset.childId) === child.id) fill({ name: "", aliases: [], handles: [] });
    say("child-status", t("childRemoved", removed.name), "ok");
    await Promise.all([listChildren(api), hooks.photosChanged(api)]);
  }, {
    ask: () => {
      const what = item.querySelector(".child-remove-what");
      what.textContent = tn("childRemoveWhat", child.photos);
      what.hidden = false;
    },
    failed: (error) => say("child-status", explain(error), "error"),
  });
  return item;
}
