"""Starting points for new posts: a KM Plan (the what), a KM Strategy (the how), blank.

The wording of the sections is ours; authors replace the prompts with their own text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kmblog.models import PostKind


@dataclass(frozen=True)
class PostTemplate:
    kind: PostKind
    name: str
    title: str
    body: str


_PLAN = """\
*What this plan is for: the knowledge the organisation needs, and what it already has.*

## The organisation's goals

What is the organisation trying to achieve in the next two or three years? Name the
goals that knowledge could move.

## Knowledge needs

What do people need to know, or know how to do, to reach those goals? Who needs it,
and when?

## Kinds of knowledge

Which of that knowledge is written down (explicit), which lives in people's heads and
hands (tacit), and which sits in routines and relationships?

## Knowledge assets to leverage

Experts, communities, documents, lessons learned, customer insight: what does the
organisation already hold that it is not using well?

## Processes and tools

The processes, traditional and technical, that would put that knowledge to work:
mentoring, after-action reviews, communities of practice, repositories, search.

## Software that fits

Only now: which software supports those processes, and what it must do.
"""

_STRATEGY = """\
*How the plan will be carried out.*

## A shared vision

What will be different when knowledge flows as it should? Say it in words everyone
in the organisation would recognise.

## Consensus of senior management

Who among the senior managers sponsors this, what have they agreed to, and how will
their support show?

## The variety of KM chosen

Which kind of knowledge management fits this organisation (connecting people,
collecting knowledge, or improving processes), and which kinds are deliberately left out?

## Leveraging the assets

How the assets named in the plan will be put to use, by whom, and in what order.

## Execution: enabling sharing and innovation

The first steps, the people who will take them, how progress will be measured, and
how the work will make sharing and new ideas part of everyday work.
"""


def _unwrap(text: str) -> str:
    """One line per paragraph, as an author types in the editor's text box."""
    return re.sub(r"(?<=[^\n])\n(?=[^\n#])", " ", text)


TEMPLATES = {
    PostKind.ARTICLE: PostTemplate(PostKind.ARTICLE, "Article", "", ""),
    PostKind.PLAN: PostTemplate(PostKind.PLAN, "KM Plan", "KM Plan: ", _unwrap(_PLAN)),
    PostKind.STRATEGY: PostTemplate(
        PostKind.STRATEGY, "KM Strategy", "KM Strategy: ", _unwrap(_STRATEGY)
    ),
}
