// What to do next about an alert: the platform's report forms (its impersonation form first for
// an account that pretends to be the child), the country's help lines and general advice, all
// from data/next-steps.json, in the UI language.

export async function loadNextSteps() {
  const response = await fetch(chrome.runtime.getURL("data/next-steps.json"));
  return response.json();
}

/** The country chosen before, else the one of the browser's language ("fr-FR" → FR), else OTHER. */
export async function pickCountry(countries) {
  const { country } = await chrome.storage.local.get("country");
  if (country && countries[country]) return country;
  for (const tag of [...navigator.languages, chrome.i18n.getUILanguage()]) {
    const [language, region] = tag.split(/[-_]/);
    const guess = region ? region.toUpperCase() : { fr: "FR", en: "US" }[language.toLowerCase()];
    if (guess === "UK") return "GB";
    if (guess && countries[guess]) return guess;
  }
  return "OTHER";
}

export function saveCountry(code) {
  return chrome.storage.local.set({ country: code });
}

/**
 * { platform: [...], country: [...], countryName, advice: [...] } with words in `language`. For
 * an account that pretends to be the child (`impersonation`), the platform's impersonation form
 * comes first: that is what the parent must fill in, before the forms about a photo.
 */
export function stepsFor(data, platform, countryCode, language, { impersonation = false } = {}) {
  const words = (entry) => ({ ...entry, label: entry.label[language] || entry.label.en });
  const country = data.countries[countryCode] || data.countries.OTHER;
  const forms = data.platforms[platform] || data.platforms.other;
  const first = impersonation ? forms.filter((entry) => entry.impersonation === true) : [];
  return {
    platform: [...first, ...forms.filter((entry) => !first.includes(entry))].map(words),
    country: country.help.map(words),
    countryName: country.name[language] || country.name.en,
    advice: data.advice.map((advice) => advice[language] || advice.en),
  };
}
