// What to do next about an alert: the platform's report forms, the country's help lines and
// general advice, all from data/next-steps.json, in the UI language.

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

/** { platform: [...], country: [...], countryName, advice: [...] } with words in `language`. */
export function stepsFor(data, platform, countryCode, language) {
  const words = (entry) => ({ ...entry, label: entry.label[language] || entry.label.en });
  const country = data.countries[countryCode] || data.countries.OTHER;
  return {
    platform: (data.platforms[platform] || data.platforms.other).map(words),
    country: country.help.map(words),
    countryName: country.name[language] || country.name.en,
    advice: data.advice.map((advice) => advice[language] || advice.en),
  };
}
