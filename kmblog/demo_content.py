"""Original sample articles for the demo blog (written for kmblog; not copied from anywhere)."""

from __future__ import annotations

from typing import Any

ABOUT = (
    "The KM Depot (demo) is sample content shipped with kmblog to show what a "
    "knowledge-management blog can look like. Most posts are by Margaret Hollis, "
    "a fictional KM practitioner, with occasional pieces from her colleague "
    "Daniel Okafor. Everything here is invented for demonstration; any resemblance "
    "to real people or organisations is coincidental."
)

BLOG_TITLE = "The KM Depot (demo)"

BLOG_DESCRIPTION = (
    "Practical notes on planning and running knowledge management in real organisations."
)

AUTHORS: list[dict[str, Any]] = [
    {
        "username": "mhollis",
        "display_name": "Margaret Hollis",
        "bio": (
            "Fictional KM practitioner with fifteen years in engineering and "
            "professional-services firms. Writes mostly about KM planning and strategy."
        ),
        "role": "admin",
    },
    {
        "username": "dokafor",
        "display_name": "Daniel Okafor",
        "bio": (
            "Fictional consultant who helps organisations connect people, processes "
            "and tools. Interested in tacit knowledge and in why good tools go unused."
        ),
        "role": "author",
    },
]

ARTICLES: list[dict[str, Any]] = [
    {
        "title": "Writing a KM Plan: Start With What the Organisation Is Trying to Do",
        "author": "mhollis",
        "published": "2009-02-16T08:40",
        "kind": "plan",
        "labels": ["KM Planning", "Knowledge Assets"],
        "companion": "KM Strategy Is the How: Vision, Consensus, Execution",
        "body": """Most of the KM plans I have been asked to review over the years open with
a technology diagram. A portal in the middle, arrows going out to a wiki, a document
repository, a search engine, maybe an expertise locator. It is an understandable place to
start, because software is concrete and budgets like concrete things. It is also the wrong
place to start.

A KM plan is a statement of *what*: what the organisation is trying to achieve, what it
needs to know in order to get there, and what it already has that could help. The *how*
belongs in the strategy, which I will write about separately. Keeping the two apart is not
pedantry. When they get mixed, the plan turns into a shopping list and nobody can say what
the shopping was for.

## The questions a plan has to answer

1. **What are the organisation's goals for the next two or three years?** Not the mission
   statement; the actual targets people are measured against.
2. **What knowledge do those goals depend on?** Who needs to know what, and when, to hit
   them?
3. **What kinds of knowledge are involved?** Some of it is written down. A great deal of it
   lives in people's heads and habits.
4. **What knowledge assets already exist?** Documents, databases, lessons-learned files,
   experienced staff, client relationships, informal networks.
5. **Which processes and tools will connect needs to assets?** Both traditional ones
   (mentoring, meetings, site visits) and technical ones.
6. **What software, if any, fits those processes?**

Notice that software comes last. That is deliberate.

## Keep it short

A plan that runs to sixty pages will be read by its author and one reviewer. I aim for
something a division head can read on a train: a page on goals, a page on knowledge needs, a
page or two on assets and gaps, and a page on processes and tools. Appendices can hold the
interview notes.

> If you cannot connect a knowledge need to a business goal in one sentence, it probably
> does not belong in the plan.

## Who writes it

The KM team holds the pen, but the content has to come from the business. I interview line
managers, a few newer staff, and a few people who have been around long enough to know where
the bodies are buried. The newer staff are especially useful: they can tell you exactly
which knowledge was hard to find in their first six months.

In the next post I will turn to the strategy, the part that says how we will actually make
any of this happen.
""",
        "comments": [
            {
                "name": "",
                "url": "",
                "body": (
                    "Good point about software coming last. We did it the other way "
                    "round and spent a year trying to find a use for the portal."
                ),
                "at": "2009-02-16T21:14",
            },
            {
                "name": "Ruth K.",
                "url": "https://example.org/ruthk",
                "body": (
                    "I like the suggestion to interview newer staff. In my experience "
                    "they are the only ones who still notice what is missing; after a "
                    "year everyone has built their own workarounds and stops seeing "
                    "the gaps.\n\n"
                    "Do you have a standard set of interview questions you use?"
                ),
                "at": "2009-02-17T07:52",
            },
            {
                "name": "Margaret Hollis",
                "url": "",
                "body": (
                    "Ruth, I keep it very loose, but the core questions are: what do "
                    "you need to know to do your job well, where do you go to find it, "
                    "and what do you wish you had known in your first month? I will "
                    "say more when I write about the asset inventory."
                ),
                "at": "2009-02-17T12:30",
            },
            {
                "name": "",
                "url": "",
                "body": (
                    "A page on goals sounds great until your organisation has fourteen "
                    "of them. How do you choose which goals the plan covers?"
                ),
                "at": "2009-02-18T09:03",
            },
            {
                "name": "Tom",
                "url": "https://example.com/tom-on-km",
                "body": (
                    "To the anonymous commenter above: we simply asked the executive "
                    "team which <i>three</i> goals they would defend in a budget "
                    "meeting. It narrowed things down very quickly."
                ),
                "at": "2009-02-18T18:41",
            },
        ],
    },
    {
        "title": "KM Strategy Is the How: Vision, Consensus, Execution",
        "author": "mhollis",
        "published": "2009-03-02T09:15",
        "kind": "strategy",
        "labels": ["KM Strategy", "Leadership"],
        "companion": "Writing a KM Plan: Start With What the Organisation Is Trying to Do",
        "body": """In my [last post](https://example.org/km-depot/writing-a-km-plan) I
argued that a KM plan answers the question *what*. A strategy answers *how*. The plan says
we need field engineers to learn from each other's repair histories; the strategy says how
we will get a thousand busy engineers, their managers, and a sceptical finance director to
make that happen.

I think of a workable strategy as having five parts.

## 1. A shared vision

People need to be able to picture what will be different. "We will become a learning
organisation" does not qualify. "An engineer facing an unfamiliar fault will be able to
reach someone who has fixed it before, within the hour" does. A good vision is specific
enough that someone could tell you whether it has come true.

## 2. Consensus at the top

Senior managers do not need to be enthusiasts, but they need to agree, out loud and with
each other, that this matters and that they will spend something on it. Silent approval is
the most dangerous kind. It evaporates the first time a budget is cut.

## 3. A choice about which kind of KM

There is no single thing called knowledge management. Some organisations get most value from
capturing and reusing documents; others from connecting people. Trying to do everything at
once is how KM programmes end up with a bit of everything and a lot of nothing. Pick a
primary emphasis and say so.

## 4. Leverage what exists

The plan's inventory of knowledge assets is the raw material here. The strategy should say
which of those assets we will build on first, and why. Usually the answer is whichever asset
sits closest to a painful business problem.

## 5. Execution that makes sharing normal

This is where most strategies go quiet. Execution means deciding:

- who owns each initiative, by name;
- what time people are given to contribute, and whether it counts in their reviews;
- how early wins will be made visible;
- how we will notice, and admit, when something is not working.

Sharing and innovation do not come from a launch event. They come from small changes in how
work is done, repeated until nobody remembers doing it differently.

## A one-page test

If your strategy cannot be summarised on one page, with a name against every line, it is
probably still a plan wearing a strategy's clothes.
""",
        "comments": [
            {
                "name": "Dave",
                "url": "https://example.org/dave",
                "body": (
                    '"Silent approval is the most dangerous kind." Very true. Our '
                    "sponsor approved everything and then left the company, and it "
                    "turned out nobody else had ever said a word in favour."
                ),
                "at": "2009-03-02T19:26",
            },
            {
                "name": "",
                "url": "",
                "body": (
                    "Could you say more about point 3? How is a company supposed to "
                    "pick just one kind of KM when every department wants something "
                    "different?"
                ),
                "at": "2009-03-04T10:11",
            },
            # A threaded exchange: "reply_to" is the place, in this list, of the
            # comment answered.
            {
                "name": "Margaret Hollis",
                "url": "",
                "reply_to": 1,
                "body": (
                    "Pick the kind of KM that serves the goal the executives already "
                    "fund. If the goal is faster proposals, that is reuse of past work; "
                    "the department that wants a social network can wait a year. Saying "
                    "no out loud is part of the strategy, not a failure of it."
                ),
                "at": "2009-03-04T18:40",
            },
            {
                "name": "",
                "url": "",
                "reply_to": 2,
                "body": (
                    "That helps. But what do I tell the department that was told to "
                    "wait? They will build their own thing in a corner."
                ),
                "at": "2009-03-05T09:02",
            },
            {
                "name": "Dave",
                "url": "https://example.org/dave",
                "reply_to": 3,
                "body": (
                    "Give them a date and a small role in the first project. Ours "
                    "waited happily once they knew their turn was on the plan, with a "
                    "name against it."
                ),
                "at": "2009-03-05T12:15",
            },
        ],
    },
    {
        "title": "Tacit and Explicit: A Working Distinction, Not a Dogma",
        "author": "dokafor",
        "published": "2009-03-02T14:30",
        "kind": "article",
        "labels": ["Tacit Knowledge", "KM Planning"],
        "companion": None,
        "body": """Every KM workshop I have attended this year has included a slide dividing
knowledge into two boxes: *tacit* on one side, *explicit* on the other. The distinction is
useful. It is also, in practice, much fuzzier than the slide suggests, and treating it as a
hard line causes planning mistakes.

## A quick working definition

- **Explicit knowledge** has been written, drawn, recorded or otherwise put into a form
  someone else can pick up without you in the room. Procedures, specifications, reports, the
  FAQ on the intranet.
- **Tacit knowledge** is what people know but have not, or cannot easily, put into that
  form. How to read a nervous client. Which supplier will actually deliver on a Friday. When
  a test result "looks wrong" even though it is within tolerance.

## Where the boxes leak

Most useful knowledge sits somewhere between the two. A checklist is explicit, but knowing
when to deviate from it is tacit. A well-written project retrospective captures some of what
the team learned, yet a newcomer reading it still lacks the context that made those lessons
feel obvious to the people who wrote them.

I find it more helpful to ask three questions about any piece of knowledge a plan depends
on:

1. *Could* it be written down in a way that would genuinely help someone?
2. *Would* it be worth the effort, given how often it is needed and how fast it changes?
3. If not, *who* holds it, and how would someone find them?

## Why it matters for planning

If you assume everything important can be captured, you build repositories and wonder why
nobody uses them. If you assume nothing can be captured, you rely entirely on networking and
lose knowledge every time someone retires.

> The goal is not to convert tacit knowledge into explicit knowledge. It is to get the right
> knowledge to the right person in whatever form actually works.

For many organisations that means a mix: documents for the stable, frequently needed
material, and people-to-people channels for the rest. The proportion will differ by
department, which is one reason a single enterprise-wide answer rarely fits.
""",
        # A change after publication, so that the demo post shows its "Updated" line and
        # its public history (issue 18): (old, new) replacements in the body, and a note.
        "updates": [
            {
                "at": "2009-03-09T10:20",
                "replace": [
                    (
                        "Every KM workshop I have attended",
                        "Nearly every KM workshop I have attended",
                    ),
                    (
                        "answer rarely fits.\n",
                        "answer rarely fits.\n\n"
                        "A reader asked how to start. Take one process that matters, list what a "
                        "newcomer would need to know to run it, and sort that list with the three "
                        "questions above.\n",
                    ),
                ],
                "note": "Softened the opening and added a way to start, after a reader's question.",
            }
        ],
        "comments": [
            {
                "name": "Priya",
                "url": "",
                "body": (
                    "The three questions (could / would / who) are going on the wall "
                    "in our team room. Thanks."
                ),
                "at": "2009-03-03T08:47",
            },
        ],
    },
    {
        "title": "Taking Stock: An Inventory of Knowledge Assets",
        "author": "mhollis",
        "published": "2009-04-14T10:05",
        "kind": "plan",
        "labels": ["KM Planning", "Knowledge Assets"],
        "companion": "Picking a Kind of KM (and Saying No to the Others)",
        "body": """Once you know which goals matter and what knowledge they depend on, the
next step in a KM plan is to look at what you already have. Organisations are almost always
richer in knowledge assets than they think, and almost always worse at knowing where those
assets are.

## What counts as a knowledge asset

I use a broad definition: anything the organisation knows, or can get at, that would help
someone do their job better. That covers:

- documents and records (reports, proposals, designs, contracts);
- structured data (customer histories, fault logs, sales figures);
- people and their experience;
- relationships with clients, partners, universities and former staff;
- routines and methods that have been refined over time, even if nobody wrote them down.

## A simple inventory table

For each asset, I record a handful of facts. Here is an excerpt from an inventory I helped
with at a mid-sized engineering firm (details changed):

| Asset | Type | Where it lives | Who uses it | Condition |
|---|---|---|---|---|
| Bid library | Explicit | Shared drive, 4 folders | Sales, estimators | Large, poorly indexed |
| Commissioning know-how | Tacit | Five senior engineers | Project teams | At risk: two retiring |
| Fault database | Explicit | Service system | Field service | Good data, hard to search |
| University lab partnership | Relationship | Head of R&D | R&D only | Under-used |
| Monthly design review | Routine | Meeting room 2 | Design team | Valued, not recorded |

The *Condition* column is where the plan starts to take shape. It tells you which assets are
at risk, which are under-used, and which are fine as they are.

## How to gather it

Do not send a survey. People fill in surveys quickly and vaguely. Instead:

1. Start from the knowledge needs you identified earlier, and ask, for each, "where do
   people go today when they need this?"
2. Follow the answers. You will find assets nobody listed, like the engineer everyone
   phones.
3. Ask what people wish existed. Gaps matter as much as assets.

## What not to do

Resist the temptation to catalogue everything. The inventory exists to support the plan, not
to become a project in its own right. Twenty well-understood assets tied to real needs are
worth more than five hundred entries in a spreadsheet nobody opens.
""",
        "comments": [
            {
                "name": "",
                "url": "",
                "body": (
                    "The <b>Condition</b> column is a simple idea but I had not seen "
                    "it done before. We already have an inventory, so I am going to "
                    "add it this week."
                ),
                "at": "2009-04-15T13:20",
            },
            {
                "name": "Henrik",
                "url": "https://example.com/henrik",
                "body": (
                    "Agree about surveys. We tried one and got two hundred responses "
                    'that all said, more or less, "we need better search."\n\n'
                    "Following up with ten people in person told us far more about "
                    "what they were actually searching for, and why they gave up."
                ),
                "at": "2009-04-16T22:05",
            },
        ],
    },
    {
        "title": "Choose the Software Last",
        "author": "dokafor",
        "published": "2009-05-06T16:20",
        "kind": "article",
        "labels": ["Tools", "KM Planning"],
        "companion": None,
        "body": """Vendors have been in our offices a lot this spring. Enterprise portals,
wikis, social networking "for the enterprise", search appliances, expertise directories.
Some of the demonstrations were genuinely impressive. None of them, on their own, was a KM
solution, and to be fair to the better vendors, they did not claim to be.

## Processes first, tools second

Every knowledge process has a traditional form and, sometimes, a technical one. Mentoring,
apprenticeships, after-action reviews, site visits, storytelling sessions and the humble
corridor conversation all predate software. Many of them still work better without it.
Technology earns its place when it makes a working process faster, wider-reaching, or easier
to search later.

So before looking at products, I write down the process we want to support, in plain
language, and only then list what it needs from software. A short example:

```text
Process:  after-action review for completed projects
Who:      project lead + team, 60 minutes, within 2 weeks of close
Output:   1-page summary, 3-5 lessons, tagged by client and discipline
Needs from software:
  - a template the lead can fill in during the meeting
  - tags that match the bid library's categories
  - search that works across both
Nice to have:
  - a monthly email digest to other project leads
```

That note is small, but it rules out half the products we saw, and it gives the remaining
vendors something concrete to demonstrate against.

## Questions to ask of any tool

- Does it fit how people already work, or does it need them to adopt a new habit first?
- Can someone use it in under five minutes without training?
- Does it connect to the systems where the knowledge already lives?
- Who will look after it in two years, when the project team has moved on?

## Fit matters more than features

A modest wiki that a team actually uses beats a sophisticated platform they avoid. I have
seen a firm spend a year rolling out a portal with dozens of features while its engineers
kept swapping tips in a single shared spreadsheet, because the spreadsheet was where they
already were.

If the tool fits the process and the people, you can add features later. If it does not,
*no* feature will save it.
""",
        "comments": [
            {
                "name": "",
                "url": "",
                "body": "The spreadsheet story is painfully familiar.",
                "at": "2009-05-06T18:02",
            },
            {
                "name": "Lena M.",
                "url": "https://example.org/lena",
                "body": (
                    "The question about who looks after the tool in two years is the "
                    "one everyone forgets. Our wiki is now an orphan: three thousand "
                    "pages and no owner."
                ),
                "at": "2009-05-08T09:34",
            },
        ],
    },
    {
        "title": "Picking a Kind of KM (and Saying No to the Others)",
        "author": "mhollis",
        "published": "2009-06-09T09:00",
        "kind": "strategy",
        "labels": ["KM Strategy", "Knowledge Assets"],
        "companion": "Taking Stock: An Inventory of Knowledge Assets",
        "body": """A strategy that tries to do every kind of knowledge management will
usually do none of them well. One of the most useful conversations a leadership team can
have is about which kind of KM to lead with. A reader asked about this after my March post,
so here is a longer answer.

## Three broad emphases

Simplifying a good deal, I see three common emphases:

1. **Reuse.** Capture what the organisation has learned in documents, templates and
   databases so that others can apply it without reinventing it. Suits organisations that
   solve similar problems again and again.
2. **Connection.** Help people find and talk to those who know. Suits work where problems
   are novel and context matters more than precedent.
3. **Creation.** Bring people and ideas together deliberately to produce something new:
   products, services, ways of working. Suits organisations whose advantage depends on
   innovation.

Every organisation needs some of each. The question is which one gets the lead role, most of
the budget, and the senior sponsor's attention.

## How to choose

Go back to the plan. Look at the goals and the knowledge needs, and at the [asset
inventory](https://example.org/km-depot/inventory-of-knowledge-assets). Then ask:

- Where is the largest gap between what we know and what we use?
- Are most of our high-value assets documents, or people?
- Is our work mostly repeatable, or mostly one-of-a-kind?
- What would the business notice first if it improved?

An engineering services firm with a large, neglected bid library and a stable set of
services will probably lead with reuse. A consultancy whose best assets are five partners
and their networks will lead with connection. A design studio may lead with creation from
day one.

## Saying no

The hard part is not choosing; it is being explicit about what you are *not* doing, at least
for now. Write it down. "This year we will not build an expertise directory" is a perfectly
good sentence in a strategy. It stops the programme from being pulled in every direction by
whoever shouted last.

## Revisit, don't drift

The emphasis can change. After a year of reuse, you may have the repository and the habits,
and be ready to invest in connection. That should be a deliberate decision at a review, not
something that happens because the original focus quietly faded.
""",
        "comments": [],
    },
    {
        "title": "Getting Senior Managers to Agree (Really Agree)",
        "author": "dokafor",
        "published": "2009-07-21T11:45",
        "kind": "article",
        "labels": ["Leadership", "KM Strategy"],
        "companion": None,
        "body": """Margaret's strategy post in March said that consensus at the top matters.
Several readers wrote to ask the obvious follow-up: how do you get it? Here is what has
worked for me, and what has not.

## Nodding is not agreement

A steering committee that nods through a KM proposal has not agreed to anything. It has
agreed not to argue in that meeting. Real consensus shows up later, when a director gives up
a budget line, or tells their managers that time spent in a community of practice is time
well spent.

## Talk about their problems, not KM

Senior managers have a list of things that keep them up at night. KM is rarely on it. Losing
a big client because a bid repeated an old mistake might be. So might the retirement of
three people who know how the plant really runs.

Before any steering meeting, I try to have a one-to-one with each member and ask:

- What is the one thing you wish your people knew that they don't?
- Where have you seen the same mistake made twice?
- If we could fix one knowledge problem this year, which would you pick?

The answers usually overlap more than the executives themselves expect. Showing them that
overlap is the most persuasive thing I can do.

## Make disagreement visible early

If the sales director wants an expertise locator and the operations director wants
lessons-learned reviews, better to find out before launch than after. I put the competing
priorities side by side and ask the group to rank them. It is uncomfortable for twenty
minutes and saves months of quiet resistance.

## Ask for something specific

"Support" is too vague. Ask for a named sponsor, a budget, a number of hours per person per
month, and a date for the first review. *Specific* requests get specific answers, including
the occasional no, which is far more useful than an enthusiastic maybe.

> A sponsor who has never turned down anything you asked for has probably never really been
> asked.

## Keep them in it

Consensus decays. Report back regularly, in their language: time saved, errors avoided,
clients retained. Invite a senior manager to open a community meeting or to tell a story
about a lesson they learned the hard way. Visible involvement from the top does more for
participation than any poster.
""",
        "comments": [
            {
                "name": "Dave",
                "url": "https://example.org/dave",
                "body": (
                    "Ranking the competing priorities in the room is brave. Did anyone walk out?"
                ),
                "at": "2009-07-21T20:15",
            },
            {
                "name": "Daniel Okafor",
                "url": "",
                "body": (
                    "Dave, nobody walked out, but one director did ask for the ranking "
                    "not to be minuted. We minuted it anyway, with his agreement, a "
                    "week later."
                ),
                "at": "2009-07-22T08:10",
            },
        ],
    },
    {
        "title": "A Community of Practice Is Not a Mailing List",
        "author": "mhollis",
        "published": "2009-08-18T08:30",
        "kind": "article",
        "labels": ["Communities of Practice", "Tacit Knowledge"],
        "companion": None,
        "body": """Much of the knowledge that matters most in our organisations is tacit,
and tacit knowledge moves between people, not between databases. That is why so many KM
strategies include communities of practice. It is also why so many of those communities
disappoint: they are set up as a distribution list with a nice name and then left to fend
for themselves.

## What makes a community

A working community of practice has three things a mailing list lacks:

- **A shared domain** that members care about and identify with, such as pump maintenance,
  contract negotiation, or paediatric nursing.
- **Relationships.** Members know each other well enough to ask a "stupid" question without
  embarrassment.
- **A shared practice.** Over time they build up a common stock of stories, tools, cases and
  ways of approaching problems.

The list is just a channel. The community is the people and what they do together.

## Getting one started

From the few I have helped launch, a handful of things seem to matter:

1. Start with a real, recurring problem the members already talk about informally.
2. Find a coordinator who is respected in the domain, not just available. Give them actual
   time, say half a day a week.
3. Meet in person early, if at all possible. Online conversation works much better between
   people who have shared a room.
4. Keep a rhythm: a regular call or meeting, even a short one, so the community has a
   heartbeat.
5. Let the members decide what to capture. Some of what they discuss deserves to become a
   document; most of it does not.

## What managers can do

Communities cannot be ordered into existence, but they can be starved out of existence.
Managers help most by making participation legitimate: counting it as work, mentioning it in
reviews, and showing up occasionally to *listen* rather than to direct.

## Measuring it gently

It is tempting to count posts and members. Those numbers tell you something, but not much. I
would rather collect a few short stories each quarter: a problem solved faster, a mistake
not repeated, a newcomer who got up to speed in weeks instead of months. See the [community
stories page](https://example.org/km-depot/community-stories) for the simple format we use.
""",
        "comments": [
            {
                "name": "",
                "url": "",
                "body": (
                    "Half a day a week for the coordinator is exactly the thing our "
                    "managers refused. Now I know what to point at.\n\n"
                    "Our community still exists, technically, as an inbox folder "
                    "nobody opens."
                ),
                "at": "2009-08-19T11:40",
            },
        ],
    },
    {
        "title": "Is It Working? Reviewing a KM Programme After Six Months",
        "author": "dokafor",
        "published": "2009-09-15T17:10",
        "kind": "article",
        "labels": ["KM Strategy", "Leadership"],
        "companion": None,
        "body": """Six months in, most KM programmes reach an awkward moment. The launch
energy has gone, the early adopters are busy, and someone in finance asks what the money has
bought. This is a good moment, not a bad one, if you prepare for it.

## Go back to the plan

The plan said what the organisation was trying to achieve and what knowledge it needed. The
review should start there, not with usage statistics. For each knowledge need in the plan,
ask:

1. Is it being met better than it was six months ago?
2. What evidence do we have, including anecdotes?
3. If not, is the problem the process, the tool, the people, or the original assumption?

## Mix numbers and stories

Numbers are useful when they are tied to something the business cares about: the time it
takes a new hire to run a project alone, the share of bids that reused an approved template,
repeat faults per month. Page views and login counts are easier to collect and much less
informative.

Stories fill the gap. A short account of how a field engineer found the right person in
twenty minutes, and what that saved, will carry more weight in a steering meeting than a
chart of wiki edits. Collect them routinely, not only when a review is due.

## Be honest about what is not working

Every programme has something that has not taken off. Naming it openly protects the parts
that are working. I usually present the review as three short lists:

- *Keep doing*: initiatives with clear evidence of value.
- *Change*: initiatives with promise but a visible problem.
- *Stop*: initiatives that have had a fair chance and have not delivered.

The *stop* list is the one that builds credibility with senior management. It shows that the
KM team is managing a portfolio, not defending a pet project.

## Refresh the strategy

Finally, check the strategy against what you have learned. Is the shared vision still the
right one? Does the leadership group still agree on the emphasis? Has a new business goal
appeared that the plan never anticipated? A strategy that is never revised has quietly
stopped being a strategy.
""",
        "comments": [],
    },
]

# A series ("Part 2 of 5"): articles above, by title, in reading order.
SERIES: list[dict[str, Any]] = [
    {
        "title": "From Plan to Practice",
        "author": "mhollis",
        "description": (
            "Four articles that follow one KM programme from its first plan to its first "
            "review: what to write down, what to count, how to get agreement and how to "
            "tell whether any of it is working. Read them in order if you are starting out."
        ),
        "posts": [
            "Writing a KM Plan: Start With What the Organisation Is Trying to Do",
            "Taking Stock: An Inventory of Knowledge Assets",
            "Getting Senior Managers to Agree (Really Agree)",
            "Is It Working? Reviewing a KM Programme After Six Months",
        ],
    },
]
