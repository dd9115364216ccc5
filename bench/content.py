"""Text for the benchmark blog: post bodies, comments, titles, labels and names.

Written for this benchmark. A handful of variants is enough: the seed renders each one
once and reuses the stored HTML across many rows.
"""

from __future__ import annotations

POST_BODIES: tuple[str, ...] = (
    """Most knowledge management programmes start with a tool and end with a shrug. The
wiki is installed, the intranet gets a search box, and eighteen months later nobody can
say what changed. The trouble is rarely the software: it is that nobody wrote down which
decisions the programme was meant to improve.

A better first step is a short list of **decisions that go wrong for lack of knowledge**.
A sales engineer quoting a delivery date without knowing the plant is retooling. A new
project manager repeating the supplier mistake of three years ago. Each of these has a
cost, and each points at a specific flow of knowledge that is missing.

## From decisions to flows

For every decision on the list, ask three questions:

1. Who knows what the decision needs, today?
2. How would the person deciding find them, or their notes?
3. What would make that cheaper than guessing?

The answers rarely say "a new platform". They say "a ten-minute call before each quote"
or "a page of lessons attached to each supplier record". Those are the strategy; the
tools come after.
""",
    """Tacit knowledge is the part of expertise that does not survive being written down.
The engineer who can hear that a pump is about to fail, the nurse who notices that a
patient is quieter than usual: they could write a manual, but the manual would not do
what they do.

That does not make tacit knowledge unmanageable. It means the *transfer mechanism* is
people, not documents. Apprenticeship, pairing, shadowing and storytelling are the
oldest knowledge management techniques we have, and they still work.

What an organisation can manage is the **opportunity** for that transfer:

- rotas that put a junior next to a senior on difficult jobs;
- after-action reviews held while memories are fresh;
- time budgeted for mentoring, not squeezed out of lunch breaks;
- a retirement plan that starts two years before the leaving party.

None of this needs a repository. All of it needs a manager who believes the time is
well spent.
""",
    """Every knowledge management strategy should fit on one page. If it takes twenty, it
is a plan, and plans are what you write *after* the strategy is agreed.

A one-page strategy answers five questions:

| Question | Example answer |
| --- | --- |
| What business goal does it serve? | Cut the time to bring a new branch to full productivity |
| Which knowledge matters most? | Local regulation, supplier contacts, lessons from past openings |
| Who holds it now? | Twelve branch managers and two people in legal |
| How will it flow? | A playbook, a peer network and a review after each opening |
| How will we know it worked? | Months to break-even for the next five branches |

The table is not decoration. Each row is a commitment someone can be held to, and each
answer can be checked a year later. A strategy that cannot be checked is a slogan.
""",
    """Communities of practice are the most reliable way I know to keep knowledge alive
across an organisation, and the easiest to kill with good intentions.

They die in predictable ways. A sponsor asks for a monthly report on "knowledge
captured". A platform team mandates a template for every post. Membership becomes
compulsory, and the people who joined because they cared stop talking, because the room
is now full of people who were told to be there.

### What keeps them alive

A community needs a **coordinator** with time in their week, a domain its members care
about, and a rhythm of meetings that people would miss if they stopped. It does not
need metrics in its first year. Ask instead whether members solve problems faster
because they can ask each other, and listen to the stories they tell.

Later, when the community is strong, it will produce artefacts on its own: a checklist
here, a reference design there. Those are the harvest, not the crop.
""",
    """Lessons learned databases have a reputation for being where lessons go to die. The
reputation is earned: most of them are write-only. Projects dutifully record what went
wrong, and the next project, under pressure, never looks.

The fix is to move the lesson to the **moment of use**. Instead of a database someone
must remember to search, attach lessons to the things people already touch:

- the supplier record, so a buyer sees last year's late deliveries;
- the project template, so a new plan starts with the known risks listed;
- the design review checklist, so a reviewer asks the question that was missed.

A lesson that changes a template has been learned. A lesson that sits in a spreadsheet
has only been recorded. It is worth counting the first kind separately, because that
number tells you whether the process works.

> A lesson is learned when behaviour changes, not when a form is filled in.
""",
    """Search is the knowledge management tool everyone uses and nobody plans for. People
judge the whole programme by whether the search box finds the thing they know exists.

Three habits improve enterprise search more than any new engine:

1. **Owners for the top queries.** Look at the hundred most frequent searches each
   quarter and make sure each has a good answer, written by someone accountable.
2. **Fewer copies.** Five versions of the travel policy defeat any ranking algorithm.
   Retire old documents instead of archiving them in place.
3. **Titles that say what a page is.** "Minutes 2019-03" is not a title; "Decision to
   move the Leeds warehouse, March 2019" is.

None of these is glamorous, and all of them compound. After a year of pruning and
titling, the same engine that everybody complained about starts to look clever.
""",
    """Measuring knowledge management is hard because the benefits show up in other
people's numbers. A faster bid, a safer shutdown, a shorter onboarding: the KM team did
not deliver any of those alone, and claiming them invites an argument.

I prefer to measure in three layers:

- **Activity**: are people using the practices? Reviews held, questions answered,
  pages updated. Cheap to count, easy to game, useful only as a health check.
- **Outcomes for people**: did someone find what they needed? Short surveys at the
  moment of use beat annual questionnaires.
- **Business results**: pick two or three, agree them with the business owner in
  advance, and report them together, never as the KM team's alone.

Above all, write the measures into the strategy before the programme starts, so that
nobody can move the goalposts afterwards, including you.
""",
    """Onboarding is where an organisation shows what it really knows about itself. A new
hire's first month exposes every gap: the undocumented approval step, the shared drive
nobody can find, the colleague who "just knows" how the billing system works.

Treat each new starter as a **knowledge audit that walks in the door**. Give them a
notebook, literal or digital, and ask them to write down every question they had to ask
a person because no page answered it. After a month, go through the notebook together.

Patterns appear quickly. The same three questions come up for every hire, and nobody has
written the answers down because to the people who know, the answers are obvious. Write
them down, put them where the next starter will look first, and the notebook of the next
hire gets shorter. That shrinking notebook is one of the most honest measures of a
knowledge management strategy I know.
""",
)

COMMENT_BODIES: tuple[str, ...] = (
    "Great post. We tried the decision list last year and it changed the conversation "
    "with our sponsors completely.",
    "I'd add one thing: the <b>coordinator</b> role has to be real time in someone's "
    "week, not a badge.",
    "We had exactly this problem with our lessons database. Moving lessons into the "
    "project template was the turning point.\n\nThanks for writing it up.",
    "Does anyone have a good example of a one-page strategy they could share? I keep "
    "ending up with ten pages.",
    "Disagree slightly on metrics: our sponsor would not fund year two without some "
    "numbers, so we counted reviews held and it was enough.",
    "This matches what I read at https://example.org/km-notes about after-action reviews.",
    "<i>Tacit</i> knowledge transfer through pairing is underrated. Our best engineers "
    "learned on the job, not from the wiki.",
    "Short and useful. Sharing with my team.",
    "The onboarding notebook idea is brilliant. Starting it with our next intern.",
    "How do you keep communities alive when the coordinator leaves? Ours faded within six months.",
    "Search owners for the top queries: simple, obvious once said, and nobody does it.",
    "We retired 4,000 duplicate pages last spring and search complaints halved. Pruning works.",
)

COMMENTER_NAMES: tuple[tuple[str, str], ...] = (
    ("", ""),
    ("", ""),
    ("Maria Lopez", ""),
    ("James Okafor", "https://example.com/james"),
    ("Priya Raman", ""),
    ("Tom Becker", "https://example.net/"),
    ("Aiko Sato", ""),
    ("KM Practitioner", ""),
    ("Lena Fischer", "https://example.org/lena"),
    ("David Chen", ""),
)

AUTHORS: tuple[tuple[str, str, str], ...] = (
    ("ada", "Ada Whitfield", "admin"),
    ("ben", "Ben Hargreaves", "author"),
    ("chen", "Chen Liu", "author"),
)

TITLE_PATTERNS: tuple[str, ...] = (
    "Why {topic} fails without a sponsor",
    "Five questions to ask before starting {topic}",
    "What I learned from a year of {topic}",
    "{topic}: a one-page strategy",
    "The hidden cost of ignoring {topic}",
    "Making {topic} part of everyday work",
    "A plan for {topic} in a small firm",
    "Measuring {topic} without fooling yourself",
    "Notes from a workshop on {topic}",
    "{topic} after the consultants leave",
)

TOPICS: tuple[str, ...] = (
    "communities of practice",
    "lessons learned",
    "enterprise search",
    "tacit knowledge",
    "onboarding",
    "after-action reviews",
    "expert directories",
    "knowledge retention",
    "a corporate wiki",
    "storytelling",
    "taxonomy design",
    "mentoring",
    "knowledge audits",
    "document management",
    "peer assists",
    "a KM strategy",
)

LABEL_QUALIFIERS: tuple[str, ...] = (
    "Tacit", "Explicit", "Team", "Enterprise", "Project", "Customer", "Expert", "Remote",
    "Legacy", "Open", "Shared", "Personal", "Digital", "Field", "Critical", "Public",
    "Cross Border", "Small Firm", "Global", "Local", "Technical", "Sales", "Clinical",
    "Engineering", "Research", "Legal", "Frontline", "Executive", "Volunteer", "Startup",
    "Factory", "Retail", "Academic", "Government", "Nonprofit", "Hybrid", "Agile",
    "Lean", "Safety", "Quality",
)  # fmt: skip

LABEL_NOUNS: tuple[str, ...] = (
    "Knowledge", "Learning", "Search", "Taxonomy", "Wikis", "Communities", "Retention",
    "Onboarding", "Metrics", "Governance", "Storytelling", "Mentoring", "Networks",
    "Content", "Culture", "Strategy", "Plans", "Tools", "Practice", "Reviews", "Lessons",
    "Handover", "Expertise", "Documentation", "Collaboration",
)  # fmt: skip

# Labels every blog size has, first in the list so they are the most used.
CORE_LABELS: tuple[str, ...] = (
    "KM Strategy",
    "Knowledge Sharing",
    "Lessons Learned",
    "Communities of Practice",
    "KM Plan",
    "Tacit Knowledge",
    "Enterprise Search",
    "Onboarding",
)


def label_names(count: int) -> list[str]:
    """`count` distinct label names with spaces and capitals, core labels first."""
    names = list(CORE_LABELS)
    seen = {name.casefold() for name in names}
    for noun in LABEL_NOUNS:
        for qualifier in LABEL_QUALIFIERS:
            name = f"{qualifier} {noun}"
            if name.casefold() not in seen:
                seen.add(name.casefold())
                names.append(name)
    if count > len(names):
        raise ValueError(f"at most {len(names)} label names")
    return names[:count]
