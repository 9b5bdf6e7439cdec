"""The fronts: where the social networks' responses come in, and the watch they share.

`watch` keeps images for the quiet moments and hands them, and the feeds, to the checking
processes (`worker`); a front attaches it to traffic: the mitmproxy add-on (`addon`) on a
family PC, the ICAP service (`icap_service`, on the protocol in `icap`) behind a network's
Squid. Bodies are decoded within a limit (`encoding`); `memory` tunes the proxy process's
allocator; a match leaves as a `Sighting` (`sighting`).
"""
