"""Posting a comment: the form posts back to the post's own address."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)
from flask.wrappers import Response
from flask_limiter import RequestLimit
from flask_login import current_user

from kmblog.blog.pages import render_post_page
from kmblog.blog.services import find_post
from kmblog.comments.edit_claims import EDIT_COOKIE, read_claims, store_claims, with_claim
from kmblog.comments.forms import CommentForm, EditCommentForm, Verdict
from kmblog.comments.services import (
    CommentRules,
    CommentsClosed,
    EditRefusal,
    EditRefused,
    MailWish,
    NewComment,
    ReplyRefused,
    add_comment,
    comment_moment,
    comments_open,
    delete_own_comment,
    edit_comment,
    hash_ip,
    own_comment,
)
from kmblog.context import current_settings
from kmblog.extensions import csrf, limiter
from kmblog.formtimer import TimerKind, new_timer
from kmblog.models import MAX_ID, Comment, CommentStatus, utcnow
from kmblog.urls import comment_link, post_url

comments = Blueprint("comments", __name__)

EXPIRED = (
    "This form had expired, so your comment was not published. "
    "It is still below: please send it again."
)
REPLY_TO_GONE = (
    "The comment you replied to is no longer there, so your reply is posted as a comment "
    "on the post."
)
CONFIRM = (
    "Please check your comment below and press Publish once more: "
    "this step keeps automated spam out (browsers that run the page's script skip it)."
)

# The nginx front (bench/nginx.conf) passes readers with this cookie to the app.
FRESH_COOKIE = "kmblog_fresh"
FRESH_SECONDS = 300


@comments.get("/comments/form-timer")
def form_timer() -> Response:
    """A reader timer for the comment form of a page every reader shares (its script asks
    when the form comes into view). No cookie, no session: nothing of the reader's kept."""
    response = jsonify(shown=new_timer(TimerKind.READER))
    response.headers["Cache-Control"] = "no-store"
    return response


def _too_many_comments(limit: RequestLimit) -> Response:
    """Over the rate limit: the post page again, with what was typed and why (429)."""
    now = utcnow()
    args = request.view_args or {}
    post = find_post(args["year"], args["month"], args["slug"], now)
    if post is None:
        abort(404)
    notice = (
        "You have sent several comments in a short time. Your comment is still below: "
        "please wait a minute and send it again."
    )
    return make_response(
        render_post_page(post, CommentForm.for_visitor(), now, status=429, notice=notice)
    )


# The form checks its own CSRF token (FlaskForm), so that a stale token gives the
# reader the form back with what they typed, not a bare 400 page.
@csrf.exempt
@comments.post("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<slug>.html")
@limiter.limit(lambda: current_app.config["COMMENT_RATE_LIMIT"], on_breach=_too_many_comments)
def add(year: int, month: int, slug: str) -> Any:
    """Publish (or hold) a comment, then return to it on the post (Post/Redirect/Get)."""
    now = utcnow()
    post = find_post(year, month, slug, now)
    if post is None:
        abort(404, description="There is no post at this address.")
    rules = CommentRules.from_settings(current_settings())
    if not comments_open(post, rules.policy):
        abort(403, description="Comments on this post are closed.")
    form = CommentForm.for_visitor()
    if not form.validate_on_submit():
        return render_post_page(post, form, now, status=400 if form.csrf_failed() else 422)
    verdict = form.verdict()
    if verdict == Verdict.EXPIRED:
        return render_post_page(post, form, now, status=400, notice=EXPIRED)
    if verdict == Verdict.CONFIRM:
        # The page timer it came with is replaced by the reader's own (render_post_page).
        return render_post_page(post, form, now, notice=CONFIRM)
    user = current_user if current_user.is_authenticated else None
    wish = form.mail_wish()
    try:
        comment = add_comment(
            post,
            NewComment(body=form.body.data, name=form.name.data, url=form.url.data),
            rules,
            now,
            ip_hash=hash_ip(request.remote_addr or "", current_app.config["SECRET_KEY"]),
            user=user,
            bot_suspected=verdict == Verdict.SPAM,
            parent_id=form.parent_id,
            mail=MailWish(*wish) if wish else None,
        )
    except CommentsClosed:
        abort(403, description="Comments on this post are closed.")
    except ReplyRefused as refused:
        # Nothing is lost: the text comes back, as a comment on the post.
        form.parent.data = ""
        return render_post_page(post, form, now, status=422, notice=str(refused))
    if form.parent_id is not None and comment.parent_id is None:
        flash(REPLY_TO_GONE)
    # Spam is told the same as a held comment: a bot learns nothing from the answer.
    if comment.status != CommentStatus.PUBLISHED:
        flash("Thank you: your comment will appear once a moderator has approved it.")
        response = redirect(post_url(post) + "#comment-form", 303)
    elif comment.parent_id is not None:
        # A reply may sit on an older page of comments: the page of its thread.
        response = redirect(comment_link(post_url(post), comment.created_at, comment.id), 303)
    else:
        response = redirect(post_url(post) + f"#c{comment.id}", 303)
    # A front cache lets this reader through for a while, so they see their comment.
    response.set_cookie(FRESH_COOKIE, "1", max_age=FRESH_SECONDS, httponly=True, samesite="Lax")
    # This browser may edit or delete what it just sent, for a while (whatever became of
    # the comment: a bot learns no more from the cookie than from the answer).
    window = edit_window()
    if window > timedelta(0):
        claims = with_claim(
            read_claims(request.cookies.get(EDIT_COOKIE)),
            comment.id,
            comment_moment(comment.created_at),
            now,
            window,
        )
        store_claims(response, claims, now, window)
    return response


# --- commenters' own edits ----------------------------------------------------------------


def edit_window() -> timedelta:
    """How long after posting a commenter may change their comment (the settings)."""
    return timedelta(minutes=current_settings().edit_window_minutes)


REFUSALS = {
    EditRefusal.GONE: (404, "There is no comment here to change: it may have been deleted."),
    EditRefusal.NOT_YOURS: (
        403,
        "Only the browser that posted a comment can change it, for a short while after "
        "posting. This one did not post this comment (or its proof has expired).",
    ),
    EditRefusal.TOO_LATE: (
        403,
        "The time for changing this comment has passed: a comment can be edited or "
        "deleted only for {minutes} minutes after it was posted.",
    ),
    EditRefusal.ANSWERED: (
        409,
        "Someone has replied to this comment, so it can no longer be changed: the reply "
        "would lose what it answers.",
    ),
}


def _refusal(reason: EditRefusal, comment: Comment | None = None) -> Response:
    """A page saying why this comment cannot be changed, and the way back to it."""
    status, message = REFUSALS[reason]
    message = message.format(minutes=current_settings().edit_window_minutes)
    back = None
    if comment is not None and comment.post.is_visible(utcnow()):
        back = post_url(comment.post) + (
            f"#c{comment.id}" if comment.status == CommentStatus.PUBLISHED else "#comments"
        )
    page = render_template(
        "comments/refused.html", message=message, back=back, settings=current_settings()
    )
    return _personal(make_response(page, status))


def _personal(response: Response) -> Response:
    """A page made for this commenter alone: no cache on the way may keep it."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _own_comment(comment_id: int) -> Comment:
    """The comment this browser may change; if it may not, the request ends here with
    the page that says why."""
    claims = read_claims(request.cookies.get(EDIT_COOKIE))
    try:
        return own_comment(comment_id, claims, utcnow(), edit_window())
    except EditRefused as refused:
        abort(_refusal(refused.reason, refused.comment))


ID = "<int(max=" + str(MAX_ID) + "):comment_id>"


# No form token: the signed claim in this browser's cookie is the proof, and the
# cross-site check (kmblog.security) refuses a form sent from another site.
@csrf.exempt
@comments.route(f"/comments/{ID}/edit", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["COMMENT_RATE_LIMIT"], methods=["POST"])
def edit(comment_id: int) -> Any:
    """A commenter's own comment, to edit (or delete) while they may."""
    comment = _own_comment(comment_id)
    post = comment.post
    if not comments_open(post, current_settings().comment_policy):
        abort(403, description="Comments on this post are closed, so it cannot be edited.")
    form = EditCommentForm()
    if request.method == "GET":
        form.body.data = comment.body_source
    elif form.validate_on_submit():
        now = utcnow()
        edit_comment(comment, form.body.data, CommentRules.from_settings(current_settings()), now)
        if comment.status == CommentStatus.PUBLISHED:
            return redirect(post_url(post) + f"#c{comment.id}", 303)
        # Held or spam: told the same, as for a new comment.
        flash("Thank you: your edited comment will appear once a moderator has approved it.")
        return redirect(post_url(post) + "#comments", 303)
    page = render_template(
        "comments/edit.html",
        form=form,
        comment=comment,
        post=post,
        post_link=post_url(post) + f"#c{comment.id}",
        minutes=current_settings().edit_window_minutes,
        settings=current_settings(),
    )
    return _personal(make_response(page, 422 if form.errors else 200))


@csrf.exempt
@comments.route(f"/comments/{ID}/delete", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["COMMENT_RATE_LIMIT"], methods=["POST"])
def delete(comment_id: int) -> Any:
    """Ask the commenter to confirm, then take their comment away."""
    comment = _own_comment(comment_id)
    post = comment.post
    if request.method == "GET":
        page = render_template(
            "comments/delete.html",
            comment=comment,
            post=post,
            post_link=post_url(post) + f"#c{comment.id}",
            settings=current_settings(),
        )
        return _personal(make_response(page))
    delete_own_comment(comment)
    flash("Your comment was deleted.")
    response = redirect(post_url(post) + "#comments", 303)
    claims = read_claims(request.cookies.get(EDIT_COOKIE))
    claims.pop(comment_id, None)
    store_claims(response, claims, utcnow(), edit_window())
    return response
