"""The audit trail's page for admins: /manage/audit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from kmblog.audit.forms import AuditFilterForm
from kmblog.audit.services import ACTIONS, audit_page, comment_statuses, people
from kmblog.context import current_settings, current_zone

audit = Blueprint("audit", __name__, url_prefix="/manage/audit")


@audit.before_request
@login_required
def require_admin() -> None:
    """Only an administrator reads the trail (it names everyone's actions)."""
    if not current_user.is_admin:
        abort(403, description="Only an administrator may open the audit trail.")


@audit.get("/")
def index() -> Any:
    """The events, newest first, filtered by what, who, when and on what."""
    form = AuditFilterForm(request.args)
    page_number = max(1, min(request.args.get("page", type=int) or 1, 100_000))
    if not form.validate():
        # Nothing listed rather than a list that ignored part of what was asked.
        return render_template(
            "manage/audit.html",
            form=form,
            page=None,
            statuses={},
            people=people(),
            actions=ACTIONS,
            query={},
            settings=current_settings(),
        ), 400
    page = audit_page(form.filter(current_zone()), page_number)
    # The filter as it was given, for the pager's links.
    query = {
        field.name: field.raw_data[0] for field in form if field.raw_data and field.raw_data[0]
    }
    return render_template(
        "manage/audit.html",
        form=form,
        page=page,
        statuses=comment_statuses(page.items),
        people=people(),
        actions=ACTIONS,
        query=query,
        settings=current_settings(),
    )
