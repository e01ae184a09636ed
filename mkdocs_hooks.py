"""Pages of the documentation site written from the code when it is built (mkdocs.yml: ``hooks``), so that they
cannot drift from it:

- ``index.md``: the README, the repository's front page, with its links into ``docs/`` made site-relative;
- ``cli.md``: every verb of the ``vidpred`` command, from the parser itself (``vidpred.cli.build_parser``);
- ``results.md``: the shipped models' figures, one table per protocol, from ``pretrained/*/metrics.json``;

and, inside any page, a line that is only ``<!-- vidpred:presets MODEL -->`` becomes the table of that model's
presets with their parameter counts (built on PyTorch's meta device) and docstrings, and one that is only
``<!-- vidpred:results FOLDER -->`` the table of ``pretrained/FOLDER``'s figures beside its baselines.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).parent


def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "index.md", content=front_page()))
    files.append(File.generated(config, "cli.md", content=cli_reference()))
    files.append(File.generated(config, "results.md", content=results_page()))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    return re.sub(r"^<!-- vidpred:(presets|results) (\S+) -->$", lambda m: TABLES[m.group(1)](m.group(2)), markdown,
                  flags=re.M)  # a marker alone on its line; one quoted in a sentence stays as it is


def presets_table(model: str) -> str:
    import inspect

    from vidpred.models.catalogue import parameter_count
    from vidpred.models.presets import PRESETS

    rows = []
    for name, make in PRESETS.items():
        cfg = make()
        if cfg.name == model:
            about = " ".join(inspect.getdoc(make).split("\n\n")[0].split())
            rows.append(f"| `{name}` | {parameter_count(cfg):,} | {about} |")
    if not rows:
        raise ValueError(f"no preset builds the model {model!r}")
    return "\n".join(["| preset | parameters | what it is |", "|---|---:|---|", *rows])


def results_table(folder: str) -> str:
    from vidpred.models.catalogue import pretrained_folders, results_markdown

    found = [f for f in pretrained_folders(ROOT / "pretrained") if Path(f["path"]).name == folder]
    if not found:
        raise ValueError(f"no pretrained/{folder} with a saved model")
    return results_markdown(found)


TABLES = {"presets": presets_table, "results": results_table}


def front_page() -> str:
    return (ROOT / "README.md").read_text().replace("](docs/", "](")


def cli_reference() -> str:
    from vidpred.cli import build_parser

    parser = build_parser()
    lines = ["# CLI reference", "",
             "Every verb of the `vidpred` command with its options, written from the command's own parser when this "
             "site was built (`vidpred VERB --help` prints the same). Errors in what you give print one sentence "
             "and exit with status 2; Ctrl-C leaves what was on disk before as it was.", ""]
    for name, sub in _verbs(parser):
        lines += _verb_section(name, sub)
    return "\n".join(lines)


def _verbs(parser: argparse.ArgumentParser, prefix: str = "vidpred"):
    """(full command, parser) of every verb, depth first, in the order `vidpred --help` lists them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                command = f"{prefix} {name}"
                nested = any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
                if not nested:
                    yield command, sub
                yield from _verbs(sub, command)


def _verb_section(command: str, parser: argparse.ArgumentParser) -> list[str]:
    usage = parser.format_usage().removeprefix("usage: ").strip()
    lines = [f"## {command}", "", parser.description or "", "", "```", usage, "```", ""]
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.dest.upper()}`"
        if action.metavar and action.option_strings:
            name += f" `{action.metavar}`"
        helptext = (action.help or "").replace("%%", "%").replace("|", "\\|")
        if action.choices and not isinstance(action, argparse._SubParsersAction):
            helptext += " (one of: " + ", ".join(f"`{c}`" for c in action.choices) + ")"
        unset = action.default is None or action.default is False  # (0 is a default worth saying)
        required = "required" if action.required else ("" if unset else f"default `{action.default}`")
        rows.append(f"| {name} | {helptext} | {required} |")
    if rows:
        lines += ["| argument | meaning | |", "|---|---|---|", *rows, ""]
    if parser.epilog:
        lines += [parser.epilog, ""]
    return lines


def results_page() -> str:
    from vidpred.models.catalogue import pretrained_folders, results_markdown

    pretrained = pretrained_folders(ROOT / "pretrained")
    return "\n".join([
        "# Results", "",
        "The models bundled in `pretrained/`, scored under their protocols (`vidpred evaluate`), each beside the "
        "`blank` (black frames) and `copy_last` (the last context frame repeated) baselines scored on the same "
        "sequences. A model counts as predicting only where it beats both on every headline metric. This page "
        "is written from the `metrics.json` beside each model when the site is built; how each figure was "
        "measured -- command, date, machine -- is in the [experiment log](RESULTS.md).", "",
        "Best of N: with N samples per sequence, each sequence's best sample on each metric counts (the papers' "
        "convention); with one sample it is simply the model's prediction.", "",
        results_markdown(pretrained)])
