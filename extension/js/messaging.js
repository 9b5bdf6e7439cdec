// The one wrapper around chrome.runtime messaging. Pages `send(type, payload)`; the worker
// `serve(handlers)`, one dispatcher that answers only this extension's own pages.

/** Ask the worker to do `type`; resolves to its answer, rejects with its error. */
export async function send(type, payload = {}) {
  const reply = await chrome.runtime.sendMessage({ type, ...payload });
  if (!reply || !reply.ok) throw new Error(reply ? reply.error : `no answer to ${type}`);
  return reply.value;
}

/** Whether a message comes from a page of this extension (not a content script, not a web page). */
export function fromOwnPage(sender) {
  return sender.id === chrome.runtime.id && typeof sender.url === "string"
    && sender.url.startsWith(chrome.runtime.getURL(""));
}

/** Install the dispatcher: `handlers[type](message)` answers `{ ok, value }` or `{ ok: false, error }`. */
export function serve(handlers) {
  chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
    if (!fromOwnPage(sender)) return false;
    const handler = Object.hasOwn(handlers, message?.type) ? handlers[message.type] : null;
    if (!handler) {
      sendResponse({ ok: false, error: `unknown message ${message?.type}` });
      return false;
    }
    Promise.resolve()
      .then(() => handler(message))
      .then((value) => sendResponse({ ok: true, value }),
            (error) => sendResponse({ ok: false, error: String(error?.message || error) }));
    return true; // the answer comes asynchronously
  });
}

/** Tell every open page of the extension that something changed (no answer expected). */
export async function broadcast(type, payload = {}) {
  try {
    await chrome.runtime.sendMessage({ type, ...payload });
  } catch {
    // no page is open to hear it
  }
}

/** In a page: call `handler(message)` for broadcasts of `type` from this extension. */
export function listen(type, handler) {
  chrome.runtime.onMessage.addListener((message, sender) => {
    if (sender.id === chrome.runtime.id && message?.type === type) handler(message);
    return false;
  });
}
