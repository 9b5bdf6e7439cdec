"""Sentinelle's words for a parent, in English and French, keyed by what they are for: what the
case file's report and timeline say (server/casefile/), the platforms' names a message gives
(server/notify/news.py), how the run's log says a takedown and a return (server/alerts/recorder.py); and
`with_names`, which puts names into them as each language writes them."""

from __future__ import annotations

import re
import unicodedata

# The words French writes without their last letter before a vowel sound: "d'Alice", not "de Alice".
_ELIDING = re.compile(r"\b(de|que|le|la|jusque|lorsque|puisque|quoique) \{(\w+)\}", re.IGNORECASE)
_VOWELS = frozenset("aeiouyæœ")


def vowel_sound(word: str) -> bool:
    """Whether a French word or name begins with a vowel sound: a vowel (accents aside), an h
    before a vowel (mute in nearly every first name: Hélène, Hugo), a y before a consonant
    (Yves, not Yann)."""
    letters = "".join(c for c in unicodedata.normalize("NFD", word.casefold()) if not unicodedata.combining(c))
    padded = letters + "  "
    first, second = padded[0], padded[1]
    if first == "h":
        return second in _VOWELS
    if first == "y":
        return second.isalpha() and second not in _VOWELS
    return first in _VOWELS


def with_names(template: str, lang: str, **values: str) -> str:
    """`template` filled with `values`, the word before each one elided as `lang` writes it:
    "une photo de {child}" with Alice is "une photo d'Alice", with Léa "une photo de Léa"."""
    if lang == "fr":
        template = _ELIDING.sub(
            lambda m: f"{m[1][:-1]}'{{{m[2]}}}" if vowel_sound(values.get(m[2], "")) else m[0], template)
    return template.format(**values)


def say(key: str, lang: str, **values: str) -> str:
    """The words for `key` in `lang` (English when `lang` has none), with `values` put in."""
    words = WORDS[key]
    return with_names(words.get(lang, words["en"]), lang, **values)


def looks_like(found: dict, lang: str) -> str:
    """Why an account looks like her, from a resemblance (child, field, what): "its handle
    looks like Alice Martin's full name"."""
    field, what = found.get("field") or "?", found.get("what") or "?"
    child = found.get("child") or say("a_child", lang)
    field = say(field, lang) if field in WORDS else field
    what = say(what, lang, child=child) if what in WORDS else f"{what} ({child})"
    return say("resemblance", lang, field=field, what=what)


def why_gone(detail: dict, lang: str = "en") -> str:
    """What said an account was gone (proxy/feeds/gone.py), from its takedown's detail: the
    network's words in a sentence of `lang` when they need one (a page's sentence quoted), else
    as the network said them ("HTTP 404")."""
    why, means = str(detail.get("why")), detail.get("means")
    return say(means, lang, why=why) if means in WORDS else why


def came_back(event: dict, lang: str = "en") -> str:
    """What a return (server/store/cases.py) says: "came back as @y, 2 days after @x was taken down"."""
    detail = event["detail"]
    days = detail.get("days") or 0
    return say("tl_came_back", lang, handle=event["handle"], before=detail["after"],
               after=in_days(0 if days < 1 else round(days), lang))


def in_days(days: int, lang: str) -> str:
    """A whole number of days: "less than a day", "1 day", "3 days"."""
    return say("tl_under_a_day" if days < 1 else "tl_one_day" if days == 1 else "tl_days", lang, count=str(days))


WORDS = {
    "title": {"en": "Case file: copies of a child's photos on social networks",
              "fr": "Dossier : copies des photos d'un enfant sur les réseaux sociaux"},
    "made": {"en": "Made by Sentinelle on the family computer, {time} UTC.",
             "fr": "Établi par Sentinelle sur l'ordinateur familial, le {time} UTC."},
    "intro": {
        "en": "Sentinelle watches the images social networks send to this computer's browser and "
              "recognises copies of photos the parent protected. Each copy below is kept exactly as "
              "the network sent it, with its address, the time (UTC), the server's response headers "
              "and, when the network's feed named it, the account and post that published it.",
        "fr": "Sentinelle examine les images que les réseaux sociaux envoient au navigateur de cet "
              "ordinateur et reconnaît les copies des photos protégées par le parent. Chaque copie "
              "ci-dessous est conservée telle que le réseau l'a envoyée, avec son adresse, l'heure "
              "(UTC), les en-têtes de réponse du serveur et, quand le flux du réseau l'indiquait, le "
              "compte et la publication qui l'ont publiée."},
    "integrity": {
        "en": "Integrity: manifest.json (and SHA256SUMS) list the SHA-256 of every file of this case "
              "file. `sentinelle verify` or `sha256sum -c SHA256SUMS` shows any file changed, added or "
              "removed. Each evidence file is named by its own SHA-256.",
        "fr": "Intégrité : manifest.json (et SHA256SUMS) donnent le SHA-256 de chaque fichier de ce "
              "dossier. `sentinelle verify` ou `sha256sum -c SHA256SUMS` signale tout fichier modifié, "
              "ajouté ou retiré. Chaque fichier de preuve porte son propre SHA-256 pour nom."},
    "glyphs": {
        "en": "In report.pdf, characters its font cannot show (emoji, flags, some scripts) are written as "
              "their Unicode name in brackets; report.html and sightings.json keep them exactly.",
        "fr": "Dans report.pdf, les caractères que sa police ne peut pas afficher (émojis, drapeaux, "
              "certaines écritures) sont écrits entre crochets sous leur nom Unicode (en anglais) ; "
              "report.html et sightings.json les conservent à l'identique."},
    "summary": {"en": "Summary", "fr": "Résumé"},
    "child": {"en": "Child", "fr": "Enfant"},
    "accounts": {"en": "Accounts", "fr": "Comptes"},
    "alert": {"en": "Alert", "fr": "Alerte"},
    "posted_by": {"en": "posted by @{account} on {platform}", "fr": "publiée par @{account} sur {platform}"},
    "reposted_by": {"en": "re-posted by @{account}, first posted by @{first} on {platform}",
                    "fr": "republiée par @{account}, publiée d'abord par @{first} sur {platform}"},
    "profile_picture": {"en": "@{account} uses a photo of {child} as its profile picture on {platform}",
                        "fr": "@{account} utilise une photo de {child} comme photo de profil sur {platform}"},
    "in_story": {"en": "shown by @{account} in a story on {platform}",
                 "fr": "montrée par @{account} dans une story sur {platform}"},
    "posted_by_id": {"en": "posted on {platform} by account id {account_id}, post {post} (no feed has named its handle yet)",
                     "fr": "publiée sur {platform} par le compte d'identifiant {account_id}, publication {post} "
                           "(aucun flux n'a encore donné son nom d'utilisateur)"},
    "account_by_id": {"en": "account id {account_id} (its handle not yet named by a feed: open the post)",
                      "fr": "compte d'identifiant {account_id} (nom d'utilisateur pas encore donné par un flux : ouvrir la publication)"},
    "story": {"en": "Story", "fr": "Story"},
    "story_gone": {"en": "a story: it disappears from the network a day after it is posted (this one at {time} UTC); "
                         "the evidence is what Sentinelle kept",
                   "fr": "une story : elle disparaît du réseau un jour après sa publication (celle-ci le {time} UTC) ; "
                         "la preuve est ce que Sentinelle a conservé"},
    "story_goes": {"en": "a story: it disappears from the network a day after it is posted; the evidence is what "
                         "Sentinelle kept",
                   "fr": "une story : elle disparaît du réseau un jour après sa publication ; la preuve est ce que "
                         "Sentinelle a conservé"},
    "posted_at": {"en": "Story posted (UTC)", "fr": "Story publiée (UTC)"},
    "expires_at": {"en": "Story disappears (UTC)", "fr": "Story disparaît (UTC)"},
    "a_child": {"en": "the child", "fr": "l'enfant"},
    "impersonates": {"en": "@{account} pretends to be {child} on {platform}: it {how}",
                     "fr": "@{account} se fait passer pour {child} sur {platform} : {how}"},
    "wears": {"en": "uses her photo as its profile picture", "fr": "il utilise sa photo comme photo de profil"},
    "shows": {"en": "shows her photo", "fr": "il montre sa photo"},
    "impersonation_first": {"en": "First: report the account as impersonation",
                            "fr": "D'abord : signaler le compte pour usurpation d'identité"},
    "impersonation_why": {
        "en": "An account whose name looks like the child's shows her photo. Report the account itself with "
              "the platform's impersonation form below (it takes the account down, not only the photo), then "
              "each photo.",
        "fr": "Un compte dont le nom ressemble à celui de l'enfant montre sa photo. Signalez le compte lui-même "
              "avec le formulaire d'usurpation d'identité de la plateforme ci-dessous (il fait fermer le compte, "
              "pas seulement retirer la photo), puis chaque photo."},
    "display_name": {"en": "Name shown", "fr": "Nom affiché"},
    "resembles": {"en": "Why it looks like her", "fr": "Pourquoi il lui ressemble"},
    "resemblance": {"en": "its {field} looks like {what}", "fr": "son {field} ressemble {what}"},
    "handle": {"en": "handle", "fr": "identifiant"},
    "display name": {"en": "display name", "fr": "nom affiché"},
    "full name": {"en": "{child}'s full name", "fr": "au nom complet de {child}"},
    "own handle": {"en": "one of {child}'s own handles", "fr": "à l'un des identifiants de {child}"},
    "nickname and last name": {"en": "a nickname and the last name of {child}",
                               "fr": "à un surnom et au nom de famille de {child}"},
    "account_seen": {"en": "Account as the feed showed it", "fr": "Compte tel que le flux l'a montré"},
    "first_posted_by": {"en": "First posted by", "fr": "Publiée d'abord par"},
    "first_post": {"en": "Original post", "fr": "Publication d'origine"},
    "seen_on": {"en": "seen on {platform} (account not named by the feed)",
                "fr": "vue sur {platform} (compte non indiqué par le flux)"},
    "protected": {"en": "Protected photo (thumbnail)", "fr": "Photo protégée (miniature)"},
    "received": {"en": "Copy received from the network", "fr": "Copie reçue du réseau"},
    "outlined": {"en": " (outlined in red: where the protected photo lies in it)",
                 "fr": " (entouré de rouge : où se trouve la photo protégée)"},
    "outlined_part": {"en": " (the protected photo runs past this image's edges: outlined in red is the part shown)",
                      "fr": " (la photo protégée déborde des bords de cette image : la partie montrée est entourée de rouge)"},
    "no_photo": {"en": "(no longer enrolled)", "fr": "(plus protégée)"},
    "account": {"en": "Account", "fr": "Compte"},
    "post": {"en": "Post", "fr": "Publication"},
    "caption": {"en": "Caption", "fr": "Légende"},
    "platform": {"en": "Platform", "fr": "Plateforme"},
    "first_seen": {"en": "First seen (UTC)", "fr": "Vue la première fois (UTC)"},
    "last_seen": {"en": "Last seen (UTC)", "fr": "Vue la dernière fois (UTC)"},
    "times": {"en": "Times seen", "fr": "Nombre de fois"},
    "status": {"en": "Status", "fr": "Statut"},
    "score": {"en": "Match score", "fr": "Score de correspondance"},
    "sightings": {"en": "Sightings", "fr": "Observations"},
    "time": {"en": "Time (UTC)", "fr": "Heure (UTC)"},
    "image_url": {"en": "Image address", "fr": "Adresse de l'image"},
    "page": {"en": "Page shown on", "fr": "Page affichée"},
    "sha256": {"en": "SHA-256 of the bytes received", "fr": "SHA-256 des octets reçus"},
    "file": {"en": "Evidence file", "fr": "Fichier de preuve"},
    "headers": {"en": "Response headers", "fr": "En-têtes de réponse"},
    "feed": {"en": "Feed record", "fr": "Enregistrement du flux"},
    "report": {"en": "Where to report", "fr": "Où signaler"},
    "country_lines": {"en": "Help lines: {country}", "fr": "Aides : {country}"},
    "advice": {"en": "Advice", "fr": "Conseils"},
    "unknown": {"en": "unknown", "fr": "inconnu"},
    "colon": {"en": ": ", "fr": " : "},
    "missing": {"en": "missing from Sentinelle's data dir", "fr": "absent du dossier de données de Sentinelle"},
}
WORDS |= {
    "case_title": {"en": "Case file: {child}, from the first account to the last",
                   "fr": "Dossier : {child}, du premier compte au dernier"},
    "timeline": {"en": "Timeline", "fr": "Chronologie"},
    "timeline_intro": {
        "en": "Every account, sighting, report, takedown and return of the case, in order. Times in UTC and in "
              "the family computer's local time. The accounts, their evidence and the reports follow.",
        "fr": "Chaque compte, observation, signalement, suppression et retour du dossier, dans l'ordre. Heures en "
              "UTC et à l'heure locale de l'ordinateur familial. Suivent les comptes, leurs preuves et les "
              "signalements."},
    "when_utc": {"en": "UTC", "fr": "UTC"},
    "when_local": {"en": "Local time", "fr": "Heure locale"},
    "what": {"en": "What happened", "fr": "Ce qui s'est passé"},
    "case_accounts": {"en": "The accounts", "fr": "Les comptes"},
    "photos_shown": {"en": "Her photos it showed", "fr": "Ses photos montrées"},
    "looks_like": {"en": "Why it looks like her", "fr": "Pourquoi il lui ressemble"},
    "taken_down": {"en": "Taken down (UTC)", "fr": "Supprimé (UTC)"},
    "came_back": {"en": "Came back", "fr": "Revenu"},
    "case_reports": {"en": "Reports and their answers", "fr": "Signalements et réponses"},
    "no_reports": {"en": "No report recorded yet (`sentinelle reported`).",
                   "fr": "Aucun signalement enregistré (`sentinelle reported`)."},
    "report_line": {"en": "{on} UTC: {target} reported {channel}{ref}: {state}",
                    "fr": "{on} UTC : {target} signalé {channel}{ref} : {state}"},
    "answered": {"en": "answered, the account was taken down {days} day(s) later",
                 "fr": "suivi d'effet, le compte a été supprimé {days} jour(s) plus tard"},
    "unanswered": {"en": "unanswered for {days} day(s)", "fr": "sans réponse depuis {days} jour(s)"},
    "escalate": {"en": "Reports unanswered for {days} days or more: take them further, to the channels below.",
                 "fr": "Signalements sans réponse depuis {days} jours ou plus : allez plus loin, vers les recours ci-dessous."},
    "offences": {"en": "Offences the acts may fall under: {country}", "fr": "Infractions dont les faits peuvent relever : {country}"},
    "source": {"en": "source", "fr": "source"},
    "reviewed": {"en": "reviewed", "fr": "relu le"},
}
# The timeline's sentences (server/casefile/timeline.py), one a kind of event.
WORDS |= {
    "tl_account": {"en": "@{handle}{name} on {platform} first seen{photos}{looks}{last}",
                   "fr": "@{handle}{name} sur {platform} vu pour la première fois{photos}{looks}{last}"},
    "tl_photos": {"en": "; shows {count} of her photos: {names}", "fr": " ; montre {count} de ses photos : {names}"},
    "tl_looks": {"en": "; looks like her: {how}", "fr": " ; lui ressemble : {how}"},
    "tl_last": {"en": "; last seen {time}", "fr": " ; vu pour la dernière fois le {time}"},
    "tl_unnamed": {"en": "an account the feed did not name", "fr": "un compte que le flux n'a pas nommé"},
    "tl_her_photo": {"en": "her photo", "fr": "sa photo"},
    "tl_as_avatar": {"en": "as its profile picture", "fr": "comme photo de profil"},
    "tl_in_post": {"en": "in a post", "fr": "dans une publication"},
    "tl_sighting": {"en": "{who} showed {photo} {shown} (alert #{alert}, evidence {sha}…)",
                    "fr": "{who} a montré {photo} {shown} (alerte n° {alert}, preuve {sha}…)"},
    "tl_report": {"en": "{target} reported {channel}{ref} ({state})", "fr": "{target} signalé {channel}{ref} ({state})"},
    "tl_ref": {"en": ", reference {ref}", "fr": ", référence {ref}"},
    "tl_answered": {"en": "answered: taken down {days} later", "fr": "suivi d'effet : supprimé {days} plus tard"},
    "tl_unanswered": {"en": "unanswered for {days}", "fr": "sans réponse depuis {days}"},
    "tl_escalate": {"en": " — time to escalate", "fr": " — il est temps d'aller plus loin"},
    "tl_taken_down": {"en": "@{handle} taken down: {platform} answered {why} for {url} (page kept: evidence/{file})",
                      "fr": "@{handle} supprimé : {platform} a répondu {why} pour {url} (page conservée : evidence/{file})"},
    "tl_came_back": {"en": "came back as @{handle}, {after} after @{before} was taken down",
                     "fr": "revenu sous le nom @{handle}, {after} après la suppression de @{before}"},
    "tl_under_a_day": {"en": "less than a day", "fr": "moins d'un jour"},
    "tl_one_day": {"en": "1 day", "fr": "1 jour"},
    "tl_days": {"en": "{count} days", "fr": "{count} jours"},
    # Where a report went, with the word that leads to it ("reported to Pharos", "signalé à Pharos").
    "ch_platform": {"en": "to the platform's form", "fr": "via le formulaire de la plateforme"},
    "ch_pharos": {"en": "to Pharos", "fr": "à Pharos"},
    "ch_police": {"en": "to the police", "fr": "à la police"},
    "ch_school": {"en": "to the school", "fr": "à l'école"},
    "ch_3018": {"en": "to 3018", "fr": "au 3018"},
    "ch_ncmec": {"en": "to NCMEC", "fr": "au NCMEC"},
    "ch_other": {"en": "to another channel", "fr": "à un autre service"},
}
# What said an account is gone (proxy/feeds/gone.py `Gone.means`), around the network's own words.
WORDS |= {
    "gone_page_says": {"en": "the page says “{why}”", "fr": "la page indique « {why} »"},
    "gone_no_such_account": {"en": "{why} (no such account)", "fr": "{why} (compte inexistant)"},
    "gone_banned": {"en": "{why} (banned)", "fr": "{why} (compte banni)"},
    "gone_suspended": {"en": "{why} (suspended)", "fr": "{why} (compte suspendu)"},
}
PLATFORM_NAMES = {"instagram": "Instagram", "facebook": "Facebook", "tiktok": "TikTok", "x": "X (Twitter)",
                   "snapchat": "Snapchat", "reddit": "Reddit", "pinterest": "Pinterest"}
