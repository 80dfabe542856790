"""Synthetic but realistic RSS 2.0 and Atom feeds for the poll benchmark.

Deterministic for a seed: news-like titles, summaries with some HTML, full
`content:encoded` / `<content>` bodies in about a third of the feeds, a few
syndicated stories shared between feeds, and about 3% of entries that mention a
clean-energy commitment the shipped rules know (Toyota's solid-state battery,
the Paris Agreement, 2035 combustion-engine bans…). 100 feeds come to about 22 MB.

    python benchmarks/feedgen.py OUT_DIR [--files 100] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ACTORS = (
    "Siemens", "BASF", "Shell", "BP", "Iberdrola", "Enel", "Orsted", "Vestas", "Tesla", "Ford",
    "General Motors", "Hyundai", "Honda", "Volkswagen", "Stellantis", "Panasonic", "LG Energy Solution",
    "SK On", "Rio Tinto", "Glencore", "the World Bank", "the IEA", "the UN", "Germany", "India",
    "Brazil", "Indonesia", "Australia", "Canada", "Mexico", "South Africa", "Japan's trade ministry",
    "the European Commission", "the Treasury", "the Bank of England", "the Fed", "Nvidia", "Apple",
    "Microsoft", "Amazon", "Airbus", "Boeing", "Maersk", "Équinor", "Rosatom", "Petrobras",
)
VERBS = (
    "announces", "delays", "expands", "cuts", "reviews", "launches", "wins approval for", "scraps",
    "invests in", "reports record", "warns over", "signs deal on", "pauses", "doubles down on",
    "faces questions over", "unveils", "plans", "considers",
)
OBJECTS = (
    "offshore wind farm", "grid upgrade", "hydrogen hub", "battery recycling plant", "lithium mine",
    "carbon capture project", "heat pump subsidy", "EV charging network", "coal plant closure",
    "solar tariff", "quarterly earnings", "rate decision", "chip export rules", "shipping emissions levy",
    "nuclear restart", "steel decarbonisation plan", "copper supply deal", "data centre expansion",
    "rail electrification", "sustainable aviation fuel mandate", "wage talks", "merger review",
)
PLACES = (
    "in Texas", "in the North Sea", "in Bavaria", "in Gujarat", "in Queensland", "in Ontario",
    "near Rotterdam", "in Sichuan", "in Chile's Atacama", "in Kenya", "across Europe", "in Vietnam",
    "in Poland", "in the Gulf", "in Scotland", "in Java", "in California", "in Hokkaido",
)
FILLER = (
    "Analysts said the decision reflected higher interest rates and slower demand.",
    "The company did not give a timeline for the next phase.",
    "Officials said talks with local communities would continue through the spring.",
    "Shares moved little in early trading after the announcement.",
    "Critics argue the plan relies on technology that has not yet been proven at scale.",
    "The project is expected to create about 1,200 jobs during construction.",
    "Environmental groups welcomed the move but called for faster action.",
    "A spokesperson declined to comment on the cost estimate, reported at $2.4bn.",
    "The regulator will publish its final assessment later this year.",
    "Supply-chain bottlenecks and permitting delays remain the main risks, the report said.",
    "Executives told investors that margins should recover in the second half.",
    "The government said the scheme would be reviewed after 18 months.",
    "Local media reported that the site had been chosen over two rival bids.",
    "Industry groups have lobbied for clearer rules on subsidies and grid access.",
    "Demand for electricity from data centres has risen sharply, the utility said.",
)
# Sentences the shipped rules should recognise, and near misses they must not.
COMMITMENTS = (
    ("Toyota says its all-solid-state battery pilot line will start production in 2027",
     "Toyota said its solid-state batteries for EVs remain on track for 2027-28, with Idemitsu supplying the solid electrolyte."),
    ("Nissan now expects solid-state EVs in 2030",
     "Nissan pushed back its all-solid-state battery launch, citing yield problems at its Yokohama pilot line."),
    ("Samsung SDI to mass-produce solid-state batteries in 2027",
     "Samsung SDI said it has begun supplying solid-state battery samples to carmakers and plans mass production in 2027."),
    ("QuantumScape and PowerCo expand solid-state licensing deal",
     "PowerCo, Volkswagen's battery company, will produce QuantumScape solid-state cells under an expanded licence."),
    ("EU weighs watering down its 2035 combustion-engine ban",
     "European Commission officials are considering e-fuel exemptions to the 2035 ban on new petrol and diesel cars."),
    ("UK confirms 2035 phase-out date for new petrol and diesel cars",
     "The UK government said the ban on the sale of new petrol and diesel cars would return to 2030, with hybrids allowed until 2035."),
    ("China restates Paris Agreement pledge to peak emissions before 2030",
     "China's new NDC under the Paris Agreement commits to cutting net emissions 7-10% from peak by 2035."),
    ("US withdraws from the Paris Agreement again",
     "The United States formally notified the UN of its withdrawal from the Paris Agreement."),
    ("California holds to its 2035 zero-emission vehicle rule",
     "California regulators said the state still plans to end sales of new gasoline cars by 2035."),
    ("CATL and BYD race to commercialise solid-state batteries",
     "CATL and BYD both aim for small-scale solid-state battery production in 2027."),
    ("Samsung unveils a faster solid-state drive for laptops",
     "The new SSD doubles read speeds, Samsung said."),
    ("Toyota recalls 100,000 hybrids over a faulty airbag sensor",
     "Toyota said no injuries had been reported."),
)
JAPANESE = ("トヨタ、全固体電池の量産に向け新工場", "日産、全固体電池の試作ラインを公開")


def _title(rng: random.Random) -> str:
    return f"{rng.choice(ACTORS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(PLACES)}"


def _paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(rng.choice(FILLER) for _ in range(sentences))


def _summary_html(rng: random.Random, lead: str) -> str:
    link = f'<a href="https://www.example.org/topics/{rng.randrange(900)}">{escape(rng.choice(OBJECTS))}</a>'
    return f"<p>{escape(lead)} {_paragraph(rng, rng.randint(1, 3))} Read more on {link}.</p>"


def _content_html(rng: random.Random, lead: str) -> str:
    parts = [f"<p><strong>{escape(lead)}</strong></p>"]
    for number in range(rng.randint(4, 14)):
        parts.append(f"<p>{_paragraph(rng, rng.randint(3, 6))}</p>")
        if number == 1:
            parts.append(f'<figure><img src="/images/{rng.randrange(10**6)}.jpg" alt="site photo" width="800"/>'
                         "<figcaption>Photo: agency &amp; staff</figcaption></figure>")
        if number == 3:
            parts.append("<blockquote>“We are on schedule,” the chief executive said.</blockquote>"
                         "<script>window.ads = window.ads || [];</script>")
    return "".join(parts)


def _story(rng: random.Random, site: str, number: int, shared: list[tuple[str, str, str]]) -> tuple[str, str, str]:
    """(title, link, lead sentence): mostly new, sometimes a wire story, sometimes a commitment."""
    roll = rng.random()
    if roll < 0.02 and shared:
        return rng.choice(shared)
    if roll < 0.05:
        title, lead = rng.choice(COMMITMENTS)
        if rng.random() < 0.1:
            title = rng.choice(JAPANESE)
    else:
        title, lead = _title(rng), rng.choice(FILLER)
    slug = "-".join(re.findall(r"[a-z0-9]+", title.lower())[:7]) or "story"
    link = f"https://{site}/2026/11/{number}-{slug}?utm_source=rss"
    story = (title, link, lead)
    if roll < 0.03:
        shared.append(story)
    return story


def render_rss(rng: random.Random, site: str, items: int, full: bool, shared: list, now: datetime) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>{escape(site)} news</title>\n<link>https://{site}/</link>\n"
        f'<atom:link href="https://{site}/feed/" rel="self" type="application/rss+xml"/>\n'
        f"<description>Latest from {escape(site)}</description>\n<language>en-GB</language>\n<ttl>30</ttl>\n"
    ]
    for number in range(items):
        title, link, lead = _story(rng, site, number, shared)
        published = now - timedelta(minutes=17 * number + rng.randrange(15))
        out.append(
            f"<item>\n<title>{escape(title)}</title>\n<link>{escape(link)}</link>\n"
            f'<guid isPermaLink="true">{escape(link)}</guid>\n<pubDate>{format_datetime(published)}</pubDate>\n'
            f"<dc:creator>{escape(rng.choice(ACTORS))} desk</dc:creator>\n"
            f"<category>{escape(rng.choice(OBJECTS))}</category>\n"
            f"<description><![CDATA[{_summary_html(rng, lead)}]]></description>\n"
        )
        if full:
            out.append(f"<content:encoded><![CDATA[{_content_html(rng, lead)}]]></content:encoded>\n")
        out.append("</item>\n")
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def render_atom(rng: random.Random, site: str, items: int, full: bool, shared: list, now: datetime) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">\n'
        f"<title>{escape(site)}</title>\n<id>tag:{site},2026:feed</id>\n"
        f'<link rel="alternate" href="https://{site}/"/>\n<updated>{now.isoformat()}</updated>\n'
    ]
    for number in range(items):
        title, link, lead = _story(rng, site, number, shared)
        published = (now - timedelta(minutes=23 * number + rng.randrange(20))).isoformat()
        out.append(
            f"<entry>\n<title>{escape(title)}</title>\n<id>tag:{site},2026:post-{number}</id>\n"
            f'<link rel="alternate" type="text/html" href="{escape(link)}"/>\n'
            f"<published>{published}</published>\n<updated>{published}</updated>\n"
            f"<author><name>{escape(rng.choice(ACTORS))} desk</name></author>\n"
            f'<summary type="html">{escape(_summary_html(rng, lead))}</summary>\n'
        )
        if full:
            out.append(f'<content type="html" xml:base="https://{site}/">{escape(_content_html(rng, lead))}</content>\n')
        out.append("</entry>\n")
    out.append("</feed>\n")
    return "".join(out)


def write_feeds(folder: Path, files: int = 100, seed: int = 7) -> list[Path]:
    """Write `files` feeds into `folder`; returns their paths."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    shared: list[tuple[str, str, str]] = []
    paths = []
    for number in range(files):
        site = f"news{number:03d}.example.com"
        items = min(300, max(10, int(rng.lognormvariate(4.55, 0.7))))
        full = rng.random() < 0.33
        if rng.random() < 0.3:
            path, text = folder / f"gen{number:03d}.atom", render_atom(rng, site, items, full, shared, now)
        else:
            path, text = folder / f"gen{number:03d}.xml", render_rss(rng, site, items, full, shared, now)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    paths = write_feeds(args.out, args.files, args.seed)
    total = sum(path.stat().st_size for path in paths)
    print(f"{len(paths)} feeds, {total / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
