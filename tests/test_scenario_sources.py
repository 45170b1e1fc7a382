"""Every number in a shipped scenario says where it comes from.

A scenario is only as trustworthy as its inputs, and a reader can only judge
an input whose origin is written next to it. The rule (documented in
docs/data-sources.md, "How scenario files cite this page") is checked on the
text line by line, not through the loader, which drops comments; it holds for
any file dropped into scenarios/:

* A line *sets a value* when, outside strings and comments, it holds a
  number, a string, a boolean or a date that is not exempt (below). Inside a
  multi-line array each line is judged on its own; the lines of a multi-line
  string belong to the line that opens it.
* Such a line is *cited* when one of these carries a citation -- ``sources §N``
  (N a numbered section of docs/data-sources.md), the word ``assumption``, or
  ``[I]`` (arithmetic on cited numbers):
  1. its own trailing comment;
  2. the trailing comment of the line that opens its (multi-line) value;
  3. a full-line comment, or a table header's comment, above it in the same
     paragraph (a run of lines with no blank line between);
  4. in a ``[[policy]]`` table, that table's ``note``.
* Exempt: the tables ``[scenario]`` (name, description, dates, horizon,
  replications, seed), ``[output]`` and ``[sweep]``, and the keys ``extends``,
  ``name``, ``jurisdiction``, ``description``, ``note``, ``grade``, ``stage``
  and ``release_to`` wherever they stand (inline tables included).
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from resim.calibration.observed import read_observed

from chain_fixtures import ROOT

SOURCES = ROOT / "docs" / "data-sources.md"
OBSERVED = ROOT / "data" / "observed_2025.csv"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))

EXEMPT_TABLES = ("scenario", "output", "sweep")
EXEMPT_KEYS = ("extends", "name", "jurisdiction", "description", "note",
               "grade", "stage", "release_to")
CITES = re.compile(r"sources §\d+|\bassumptions?\b|\[I\]", re.IGNORECASE)
SECTION_CITED = re.compile(r"sources §(\d+)")
SECTION_HEADING = re.compile(r"^## (\d+)\. ", re.MULTILINE)
_STRING = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY = rf"(?:[A-Za-z0-9_-]+|{_STRING})(?:\s*\.\s*(?:[A-Za-z0-9_-]+|{_STRING}))*"
_EXEMPT_PAIR = re.compile(rf"\b(?:{'|'.join(EXEMPT_KEYS)})\s*=\s*(?:{_STRING}|\[[^\]]*\])")
_ANY_KEY = re.compile(rf"(?:{_KEY})\s*=")
_LITERAL = re.compile(r"[\"'0-9]|\b(?:true|false|inf|nan)\b")
_HEADER = re.compile(r"^\[\[?\s*([^\]]+?)\s*\]\]?$")
_KEY_LINE = re.compile(rf"^({_KEY})\s*=(.*)$")


@dataclass
class Line:
    """One physical line: its code (strings kept, comment cut), comment, and
    whether it continues a value opened on an earlier line."""

    number: int
    code: str
    comment: str
    continues: bool  # inside a multi-line array or string opened above
    in_string: bool  # inside a multi-line string opened above


def split_lines(text: str) -> list[Line]:
    """Cut each line into code and comment, knowing TOML's strings: a ``#``
    inside a string is text, not a comment."""
    lines: list[Line] = []
    depth, open_string = 0, ""
    for number, raw in enumerate(text.splitlines(), start=1):
        continues, in_string = depth > 0 or bool(open_string), bool(open_string)
        i, comment, cut = 0, "", len(raw)
        while i < len(raw):
            if open_string:
                end = raw.find(open_string, i)
                while end > 0 and open_string == '"""' and _escaped(raw, end):
                    end = raw.find(open_string, end + 1)
                if end < 0:
                    i = len(raw)
                    break
                i, open_string = end + 3, ""
                continue
            ch = raw[i]
            if ch == "#":
                comment, cut = raw[i + 1:].strip(), i
                break
            if raw.startswith(('"""', "'''"), i):
                open_string, i = raw[i:i + 3], i + 3
            elif ch in "\"'":
                end = i + 1
                while end < len(raw) and (raw[end] != ch or (ch == '"' and _escaped(raw, end))):
                    end += 1
                i = end + 1
            else:
                depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(ch, 0)
                i += 1
        lines.append(Line(number, raw[:cut].strip(), comment, continues, in_string))
    return lines


def _escaped(raw: str, at: int) -> bool:
    backslashes = len(raw[:at]) - len(raw[:at].rstrip("\\"))
    return backslashes % 2 == 1


def sets_value(code: str) -> bool:
    """Whether a code fragment holds a value that needs a citation: exempt
    ``key = value`` pairs and every key are cut first, then any literal left
    counts."""
    rest = _ANY_KEY.sub(" ", _EXEMPT_PAIR.sub(" ", code))
    return bool(_LITERAL.search(rest))


def uncited(text: str, label: str) -> list[str]:
    """One message per line that sets a value without a citation: the file,
    the line, the table and the key."""
    lines = split_lines(text)
    notes = _policy_notes(lines)
    problems: list[str] = []
    table, table_no, key, key_comment = "", 0, "", ""
    where, covered = "top level", False
    for ln in lines:
        if ln.in_string:
            continue
        if not ln.code:  # a comment line extends the paragraph, a blank line ends it
            covered = bool(ln.comment) and (covered or bool(CITES.search(ln.comment)))
            continue
        if ln.continues:
            fragment = ln.code
        else:
            header = _HEADER.match(ln.code)
            if header:
                table, table_no, key, key_comment = header.group(1), table_no + 1, "", ""
                where = ln.code
                covered = covered or bool(CITES.search(ln.comment))
                continue
            match = _KEY_LINE.match(ln.code)
            key, key_comment = (match.group(1), ln.comment) if match else (ln.code, ln.comment)
            fragment = match.group(2) if match else ln.code
            if key == "name" and table:
                where = f"{where.split(' ')[0]} {fragment.strip()}"
        exempt = key.split(".")[-1].strip("\"'") in EXEMPT_KEYS
        if exempt or table.split(".")[0] in EXEMPT_TABLES or not sets_value(fragment):
            continue
        if covered or CITES.search(ln.comment) or CITES.search(key_comment) or CITES.search(notes.get(table_no, "")):
            continue
        part = " (a line of its value)" if ln.continues else ""
        problems.append(f"{label}:{ln.number}: {where} {key}{part} has no 'sources §N', 'assumption' "
                        f"or '[I]' in its comment, a comment line above it in its paragraph, or a policy note")
    return problems


def _policy_notes(lines: list[Line]) -> dict[int, str]:
    """The ``note`` of each ``[[policy]]`` table, by table number."""
    notes: dict[int, str] = {}
    table, table_no = "", 0
    for ln in lines:
        header = None if ln.continues else _HEADER.match(ln.code)
        if header:
            table, table_no = header.group(1), table_no + 1
        elif table == "policy" and not ln.continues and re.match(r"note\s*=", ln.code):
            notes[table_no] = str(tomllib.loads(ln.code).get("note", ""))
    return notes


def cited_sections(text: str) -> set[int]:
    return {int(n) for n in SECTION_CITED.findall(text)}


def sections() -> set[int]:
    return {int(n) for n in SECTION_HEADING.findall(SOURCES.read_text(encoding="utf-8"))}


# ------------------------------------------------------------ shipped files

def test_the_scenarios_are_found() -> None:
    assert len(SCENARIOS) >= 8, [p.name for p in SCENARIOS]


def test_data_sources_numbers_sections_as_cited() -> None:
    """Sections 1-5 keep the numbering scenario comments were written against;
    a new section takes the next number, none is skipped."""
    found = sorted(sections())
    assert found[:5] == [1, 2, 3, 4, 5] and found == list(range(1, len(found) + 1)), found


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_value_is_cited(path: Path) -> None:
    problems = uncited(path.read_text(encoding="utf-8"), f"scenarios/{path.name}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_cited_sections_exist(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    missing = sorted(cited_sections(text) - sections())
    assert not missing, f"scenarios/{path.name} cites sources §{missing[0]}, not a section of docs/data-sources.md"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_header_names_the_project_sources(path: Path) -> None:
    """A reader of the file finds the sources in the repository itself, not in
    a file outside it."""
    text = path.read_text(encoding="utf-8")
    lines = split_lines(text)
    first_code = next((i for i, ln in enumerate(lines) if ln.code), len(lines))
    header = [ln.comment for ln in lines[:first_code]]
    assert any("docs/data-sources.md" in c for c in header), f"scenarios/{path.name}: header never names docs/data-sources.md"
    comments = [(ln.number, ln.comment) for ln in lines]
    stale = [(n, c) for n, c in comments if re.search(r"\.\./shared|facts\.md|facts §", c)]
    assert not stale, f"scenarios/{path.name}:{stale[0][0]}: comment cites a file outside the repository: {stale[0][1]}"


# ------------------------------------------------------------ observed series

OBSERVED_COLUMNS = ["series", "period", "value", "unit", "kind", "source"]


def _observed_rows() -> list[dict[str, str]]:
    with OBSERVED.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_observed_series_columns_and_kinds() -> None:
    with OBSERVED.open(encoding="utf-8", newline="") as f:
        assert next(csv.reader(f)) == OBSERVED_COLUMNS
    rows = _observed_rows()
    # resim calibrate fits every row it is given (it ignores `kind`), so the
    # shipped file holds calibration rows only (docs/data-sources.md §5).
    assert {r["kind"] for r in rows} == {"calibration"}
    assert all(r["unit"] and r["source"] for r in rows)
    assert len(read_observed(OBSERVED)) == len(rows)


def test_observed_month_on_month_changes_match_their_sources() -> None:
    """Where a row's source states a month-on-month change and the previous
    month is in the file too, the two values agree with it (a check on the
    transcription, to the rounding of the stated percentage)."""
    rows = _observed_rows()
    by_key = {(r["series"], r["period"]): float(r["value"]) for r in rows}
    checked = 0
    for r in (r for r in rows if len(r["period"]) == 7):  # monthly rows (a price may be yearly)
        change = re.search(r"([+-]\d+(?:\.\d+)?)% m/m", r["source"])
        year, month = map(int, r["period"].split("-"))
        before = f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"
        if change and (r["series"], before) in by_key:
            ratio = float(r["value"]) / by_key[(r["series"], before)] - 1
            assert ratio * 100 == pytest.approx(float(change.group(1)), abs=0.1), r
            checked += 1
    assert checked >= 2


# ------------------------------------------------------------ the rule itself

def test_an_uncited_value_is_named_by_file_line_and_key() -> None:
    text = "[controls]\nde_minimis = 0.001\n"
    assert uncited(text, "x.toml") == [
        "x.toml:2: [controls] de_minimis has no 'sources §N', 'assumption' or '[I]' in its comment, "
        "a comment line above it in its paragraph, or a policy note"]


@pytest.mark.parametrize("comment", ["# sources §1: No. 61", "# assumption", "# [I] 270,000 / 365",
                                     "# ASSUMPTION: weekly"])
def test_a_trailing_citation_is_enough(comment: str) -> None:
    assert uncited(f"[controls]\nde_minimis = 0.001   {comment}\n", "x.toml") == []


def test_a_comment_covers_its_paragraph_and_no_further() -> None:
    text = "# sources §2: stocks\n[[automakers]]\ntarget_days = 90\nreview_days = 7\n\ndispatch_days = 7\n"
    assert [p.split(":")[1] for p in uncited(text, "x.toml")] == ["6"]


def test_a_hash_inside_a_string_is_not_a_comment() -> None:
    assert len(uncited('[licensing]\nholidays = ["a # sources §1"]\n', "x.toml")) == 1
    assert uncited("[licensing]\nholidays = ['2025-05-01']  # assumption\n", "x.toml") == []


def test_each_line_of_a_multiline_array_is_judged() -> None:
    text = ("[[automakers]]\nsuppliers = [\n"
            '  { name = "A", share = 0.5, transit = 3 },   # sources §2\n'
            '  { name = "B", share = 0.5, transit = 3 },\n'
            "]\n")
    problems = uncited(text, "x.toml")
    assert len(problems) == 1 and problems[0].startswith("x.toml:4: [[automakers]] suppliers (a line of its value)")
    # the comment on the line that opens the value covers all of it
    assert uncited(text.replace("suppliers = [", "suppliers = [   # assumption"), "x.toml") == []


def test_exempt_keys_and_tables() -> None:
    text = ('extends = "baseline.toml"\n[scenario]\nname = "x"\nseed = 3\nhorizon = "1y"\n'
            '[[automakers]]\nname = "EU"\njurisdiction = "DE"\ngrade = "N42SH"\n'
            'suppliers = [\n  { name = "JL MAG" },\n]\n[sweep]\ngrid = { "a.b" = [1, 2] }\n'
            "[output]\nstocks = true\n")
    assert uncited(text, "x.toml") == []
    assert len(uncited(text.replace('{ name = "JL MAG" }', '{ name = "JL MAG", share = 1.0 }'), "x.toml")) == 1


def test_a_policy_is_cited_by_its_note_or_a_comment() -> None:
    policy = '[[policy]]\ndate = "2025-06-04"\nset = {{ "licensing.approval_rate" = 0.65 }}\nnote = "{}"\n'
    assert len(uncited(policy.format("CLEPA"), "x.toml")) == 2
    assert uncited(policy.format("sources §1: CLEPA"), "x.toml") == []
    assert uncited("# sources §1\n" + policy.format("CLEPA"), "x.toml") == []


def test_a_multiline_string_belongs_to_its_key() -> None:
    text = '[licensing]\nremark = """\n123 # not a comment\n"""\n'
    assert [p.split(":")[1] for p in uncited(text, "x.toml")] == ["2"]


def test_unknown_sections_are_found() -> None:
    assert cited_sections("x = 1  # sources §9: nothing; sources §2") == {9, 2}
    assert 9 not in sections()
