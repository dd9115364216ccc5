"""The blog's own settings: one row, made by the first migration, edited by admins."""

from __future__ import annotations

from sqlalchemy import select

from kmblog.audit.services import Actor, record, setting_changes
from kmblog.extensions import db
from kmblog.models import Settings
from kmblog.rendering import clean_line, clean_text


def get_settings() -> Settings:
    """The blog's one settings row."""
    return db.session.execute(select(Settings).order_by(Settings.id).limit(1)).scalar_one()


def update_settings(settings: Settings, values: dict[str, object], by: Actor = None) -> None:
    """Change the blog's settings (only the keys given); what changed, from what to
    what, goes in the audit trail (kmblog.audit) as done `by`."""
    before = {key: getattr(settings, key) for key in values}
    for key, value in values.items():
        if key in {"title", "description"}:
            value = clean_line(str(value))
        elif key in {"about", "moderation_words", "blocked_words"}:
            value = clean_text(str(value)).strip()
        setattr(settings, key, value)
    changes = setting_changes(before, {key: getattr(settings, key) for key in values})
    if changes:
        record(
            "settings.changed",
            "Changed " + ", ".join(key.replace("_", " ") for key in changes),
            actor=by,
            subject=("settings", None),
            detail={"changes": changes},
        )
    db.session.commit()
