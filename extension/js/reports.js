// The review page's reports: the "Reported" form (to the platform's form, Pharos, the police, the
// school…, with the reference the channel gave), the reports of the shown alert's account with
// how long each has gone unanswered, and, past the number of days the parent chose, the country's
// channels to escalate to (data/next-steps.json). The server keeps the reports in the case
// (/api/reports, /api/cases) and follows the reported account for its takedown.

import { dateTime, t, tn } from "./i18n.js";
import { text } from "./page.js";

const DEFAULT_ESCALATE_AFTER = 7;

/** The number of days after which an unanswered report is escalated: the parent's choice. */
export async function escalateAfter() {
  const { escalateAfterDays } = await chrome.storage.local.get("escalateAfterDays");
  return Number(escalateAfterDays) || DEFAULT_ESCALATE_AFTER;
}

export async function saveEscalateAfter(days) {
  const value = Math.min(365, Math.max(1, Math.round(Number(days)) || DEFAULT_ESCALATE_AFTER));
  await chrome.storage.local.set({ escalateAfterDays: value });
  return value;
}

/** Keep that the parent reported the shown alert (its account, when the feed named one). */
export async function saveReport(api, alert, form) {
  const data = new FormData(form);
  return api.report({
    target: alert.account ? `${alert.platform}:${alert.account}` : alert.id,
    channel: data.get("channel"), ref: data.get("ref") || undefined, on: data.get("on") || undefined,
  });
}

/**
 * Show the reports of the alert's account (or of the alert), each with its answer or how long it
 * has gone unanswered; and the escalation channels (`escalation`: list items) when one is due.
 */
export async function showReports(api, alert, escalation) {
  const days = await escalateAfter();
  document.getElementById("escalate-days").value = days;
  const cases = await api.cases(days);
  const theirs = cases.flatMap((c) => c.reports).filter((r) => (alert.account
    ? r.platform === alert.platform && (r.handle || "").toLowerCase() === alert.account.toLowerCase()
    : r.alert_id === alert.id));
  document.getElementById("report-list").replaceChildren(...theirs.map((r) => {
    const state = r.answered ? t("reportAnswered", tn("days", r.days)) : t("reportUnanswered", tn("days", r.days));
    const line = t("reportLine", [t(`channel_${r.channel}`) || r.channel, dateTime(r.reported_on)]);
    const item = text("li", r.ref ? `${line} (${r.ref}) — ${state}` : `${line} — ${state}`);
    item.classList.toggle("overdue", r.escalate);
    return item;
  }));
  const due = theirs.some((r) => r.escalate);
  document.getElementById("report-escalate").hidden = !due;
  document.getElementById("escalate-steps").replaceChildren(...(due ? escalation() : []));
  return theirs;
}
