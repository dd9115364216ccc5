"""Blogger import and export (services: plain arguments, no request).

The Blogger export format is Atom: one `feed`, whose entries are told apart by a
category of the `kind` scheme (settings, template, post, page, comment).
"""

from datetime import UTC, datetime

ATOM = "http://www.w3.org/2005/Atom"
APP = "http://purl.org/atom/app#"
THR = "http://purl.org/syndication/thread/1.0"
GD = "http://schemas.google.com/g/2005"
KIND_SCHEME = "http://schemas.google.com/g/2005#kind"
KIND_PREFIX = "http://schemas.google.com/blogger/2008/kind#"
LABEL_SCHEME = "http://www.blogger.com/atom/ns#"

# Prefixes Blogger's exports use; some real exports use one without declaring it.
KNOWN_PREFIXES = {
    "app": APP,
    "thr": THR,
    "gd": GD,
    "georss": "http://www.georss.org/georss",
    "openSearch": "http://a9.com/-/spec/opensearchrss/1.0/",
    "media": "http://search.yahoo.com/mrss/",
}


def comment_link(post_address: str, created_at: datetime, anchor: str | int) -> str:
    """Blogger's link to a comment: its post, `showComment=` its time in milliseconds
    (kmblog opens the page of comments that starts there), and its `#c` anchor."""
    return f"{post_address}?showComment={int(created_at.timestamp() * 1000)}#c{anchor}"


def comment_time(millis: int) -> datetime:
    """The moment a `showComment=` value names."""
    return datetime.fromtimestamp(millis / 1000, UTC)
