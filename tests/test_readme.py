"""The commands of the README and of the documentation's pages (docs/, but for the experiment log, whose commands
are a record of what ran) are ones the `vidpred` command accepts as written: each parses, names configs that load
and pretrained folders that exist, and reads only run and evaluation folders that an earlier command of the same
page writes (so a reader who runs a page's commands in order never meets a folder nothing created)."""
import re
import shlex
from pathlib import Path

import pytest

from vidpred.cli import build_parser

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if p.name != "RESULTS.md")]


def page_commands(page: Path) -> list[list[str]]:
    """The argument lists of a page's `vidpred ...` lines in ```bash blocks (continuations joined, comments
    dropped)."""
    text = page.read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "vidpred":
                commands.append(words[1:])
    return commands


def test_the_pages_have_their_commands():
    assert sum(len(page_commands(page)) for page in PAGES) > 40
    assert len(page_commands(ROOT / "docs" / "training.md")) >= 5


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_parses_and_reads_only_what_an_earlier_one_wrote(page):
    from vidpred.training.config import load_experiment

    commands = page_commands(page)
    written: set[str] = set()
    for argv in commands:
        args, extra = build_parser().parse_known_args(argv)  # argparse's error exits: the test fails with it
        overrides = [e for e in extra if "=" in e and not e.startswith("-")]
        assert overrides == extra and (not overrides or getattr(args, "takes_overrides", False)), argv
        reads = [getattr(args, key, None) for key in ("model", "run", "a", "b")] + list(getattr(args, "folders", []))
        for path in filter(None, reads):
            if path.startswith("runs/"):
                assert any(path == w or path.startswith(w + "/") for w in written), f"{argv}: nothing writes {path}"
            if path.startswith("pretrained/") and not any(path == w for w in written):
                assert (ROOT / path).is_dir(), f"{argv}: no {path}"
        if args.verb == "train":
            cfg = load_experiment(ROOT / args.config, [o for o in overrides])
            written.add(f"{cfg.runs_dir}/{cfg.name}")
        if args.verb == "tune":
            from vidpred.training.tune import read_space

            cfg = load_experiment(ROOT / args.config, [o for o in overrides])
            assert read_space(ROOT / args.space), argv
            written.add(f"{cfg.runs_dir}/{args.study}")
        for key in ("out", "study_dir"):
            if getattr(args, key, None):
                written.add(getattr(args, key))
