// What the popup, the review page and the options page share (never the worker: this is DOM):
// their words from _locales, images behind the token, elements from templates, error sentences.

import { ApiError } from "./api.js";
import { t, uiLanguage } from "./i18n.js";

// Pages mark elements with data-i18n (text) and data-i18n-<attribute> (an attribute's value).
const ATTRIBUTES = Object.freeze(["title", "placeholder", "aria-label", "alt"]);

/** Fill every data-i18n element under `root`, and the document's language and title. */
export function localize(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const attribute of ATTRIBUTES) {
    for (const element of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      element.setAttribute(attribute, t(element.getAttribute(`data-i18n-${attribute}`)));
    }
  }
  if (root === document) {
    document.documentElement.lang = uiLanguage();
  }
}

/** Show an API image in `img`: fetched with the token, shown as a blob: URL. */
export async function showApiImage(img, api, path) {
  img.classList.remove("missing");
  try {
    const url = URL.createObjectURL(await api.blob(path));
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.src = url;
  } catch (error) {
    img.removeAttribute("src");
    img.classList.add("missing");
    img.alt = error instanceof ApiError && error.status === 404 ? t("imageGone") : t("imageUnavailable");
  }
}

/** A copy of `<template id=…>`'s first element. */
export function fromTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

/** The sentence that explains an error to the parent. */
export function explain(error) {
  if (error instanceof ApiError) {
    return error.kind === "http" ? t("errorServer", error.message) : t(error.messageKey);
  }
  return t("errorUnexpected", String(error?.message || error));
}

/** Say `message` in the status line `id`, in a `tone` ("ok", "info", "error") its style shows. */
export function say(id, message, tone) {
  const element = document.getElementById(id);
  element.textContent = message;
  element.dataset.tone = tone;
}

/**
 * A button that acts on the second click: the first asks (the button then says `asking`, and
 * `ask()`, if given, says more), the second runs `act()`. No dialog to miss. The button is off
 * while `act` runs; if it fails, it is on again and `failed(error)` says why.
 */
export function twoClicks(button, asking, act, { ask, failed }) {
  button.addEventListener("click", async () => {
    if (button.dataset.confirm !== "true") {
      button.dataset.confirm = "true";
      button.textContent = asking;
      ask?.();
      return;
    }
    button.disabled = true;
    try {
      await act();
    } catch (error) {
      button.disabled = false;
      failed(error);
    }
  });
}

/** A text element for `element.append(...)`. */
export function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}

export function openTab(url) {
  return chrome.tabs.create({ url });
}

export function extensionUrl(path) {
  return chrome.runtime.getURL(path);
}
