"""What README.md and docs/*.md name exists: every option of an `ldcsr` command line they show, every
link between them (and its anchor), every file of the repository they point to. A user follows the
docs literally; an option renamed, a section retitled or a script moved must take its docs along."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OPTION = re.compile(r"(?<![\w\-/.=])(--?[a-zA-Z][\w-]*)")


def _options(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for param in command.params:
        names |= set(param.opts) | set(param.secondary_opts)
    return names


def _command_lines(text: str):
    """(line number, global options, command, the rest up to a comment or the end of the code) of
    each `ldcsr [global options] COMMAND ...` in ``text`` (code blocks' continued lines joined)."""
    from ldcsr_core.cli import main

    commands = "|".join(main.list_commands(click.Context(main)))
    pattern = re.compile(rf"(?<![\w/.-])ldcsr((?:\s+--?[\w-]+(?:\s+[A-Z0-9]+)?)*)\s+({commands})\b([^`\n#]*)")
    for number, line in enumerate(text.replace("\\\n", " ").splitlines(), 1):
        for m in pattern.finditer(line):
            yield number, m.group(1), m.group(2), m.group(3)


def _known(option: str, names: set[str]) -> bool:
    return option in names or (re.fullmatch(r"-([a-z])\1+", option) is not None and option[:2] in names)  # -vv


def test_every_ldcsr_option_the_docs_show_exists():
    from ldcsr_core.cli import main

    ctx = click.Context(main)
    group = _options(main)
    own = {name: _options(main.get_command(ctx, name)) for name in main.list_commands(ctx)}
    unknown, seen = [], 0
    for doc in DOCS:
        for number, before, command, rest in _command_lines(doc.read_text(encoding="utf-8")):
            seen += 1
            unknown += [f"{doc.name}:{number}: ldcsr {o} (before {command})" for o in OPTION.findall(before)
                        if not _known(o, group)]
            unknown += [f"{doc.name}:{number}: ldcsr {command} {o}" for o in OPTION.findall(rest)
                        if not _known(o, own[command])]
    assert seen > 100, seen  # the scan found the docs' command lines
    assert not unknown, "\n".join(unknown)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but hyphens dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    anchors, counts, in_code = set(), {}, False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else re.match(r"#+\s+(.*)", line)
        if m:
            slug = _slug(m.group(1))
            anchors.add(f"{slug}-{counts[slug]}" if slug in counts else slug)
            counts[slug] = counts.get(slug, 0) + 1
    return anchors


def test_links_between_the_docs_and_their_anchors_resolve():
    broken = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for target in re.findall(r"\]\(([^)\s]+)\)", line):
                if re.match(r"[a-z]+:", target):
                    continue
                path, _, anchor = target.partition("#")
                file = (doc.parent / path).resolve() if path else doc
                if not file.exists():
                    broken.append(f"{doc.name}:{number}: {target} (no such file)")
                elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
                    broken.append(f"{doc.name}:{number}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_repository_files_the_docs_name_exist(doc):
    text = doc.read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/.-])((?:tests|benchmarks|scripts|napari_ldcsr|qgis_ldcsr|src/ldcsr_core)"
                           r"/[\w/.-]*\w)", text))
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, missing
