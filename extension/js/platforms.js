// The social networks Sentinelle watches, by the names its API uses (the keys of proxy/hosts.py's
// SOCIAL_DOMAINS; tests/extension/test_extension_files.py checks they are the same): the networks
// a child's own accounts can be on.

export const PLATFORMS = Object.freeze(["instagram", "facebook", "tiktok", "x", "snapchat", "reddit", "pinterest"]);
