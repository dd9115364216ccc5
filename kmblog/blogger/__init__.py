"""Blogger import and export (services: plain arguments, no request).

The Blogger export format is Atom: one `feed`, whose entries are told apart by a
category of the `kind` scheme (settings, template, post, page, comment).
"""

ATOM = "http://www.w3.org/2005/Atom"
APP = "http://purl.org/atom/app#"
THR = "http://purl.org/syndication/thread/1.0"
GD = "http://schemas.google.com/g/2005"
KIND_SCHEME = "http://schemas.google.com/g/2005#kind"
KIND_PREFIX = "http://schemas.google.com/blogger/2008/kind#"
LABEL_SCHEME = "http://www.blogger.com/atom/ns#"
# A setting of kmblog's own in its exports (Blogger skips it): the prefix of the blog's
# own Atom ids, so that a blog moved to another kmblog serves the same feed ids.
OWN_ATOM_ID = "KMBLOG_ATOM_ID"

# Prefixes Blogger's exports use; some real exports use one without declaring it.
KNOWN_PREFIXES = {
    "app": APP,
    "thr": THR,
    "gd": GD,
    "georss": "http://www.georss.org/georss",
    "openSearch": "http://a9.com/-/spec/opensearchrss/1.0/",
    "media": "http://search.yahoo.com/mrss/",
}
