"""``vidpred study results``: Walker et al. Table 1 from a study's judgements.

- The table: judgements preferring A, preferring B and indifferent, as counts and shares of all judgements, each
  share with a 95% **Wilson score interval** (a binomial interval on the share of judgements; it treats judgements
  as independent, which raters who judge many pairs are not quite -- the per-rater counts are given beside it).
- Per pair: its clip, sample and the three counts.
- Agreement between raters: **Krippendorff's alpha** for nominal data (Krippendorff 2011, "Computing
  Krippendorff's Alpha-Reliability"), which allows any number of raters per pair, over the pairs judged at least
  twice; and the raw share of agreeing rater pairs. Both None when no pair has two judgements.
- Written as ``results.json``, ``results.md`` and ``results.png`` (a bar per answer with its interval); the app's
  results page shows the same (``results_html``).
"""
from __future__ import annotations

import html
import io
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

from vidpred.study.store import CHOICES, StudyStore

Z95 = 1.959964


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial share ``k / n`` (Wilson 1927); (0, 1) for ``n = 0``."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def krippendorff_alpha_nominal(units: list[list]) -> float | None:
    """Krippendorff's alpha for nominal values; ``units``: per unit (pair) the values its raters gave. Units with
    fewer than two values are not pairable and are left out. None when alpha is undefined (no pairable unit, or
    every value the same, so no disagreement could be expected)."""
    coincidence: dict[tuple, float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, nc in counts.items():
            for k, nk in counts.items():
                coincidence[c, k] += (nc * (nk - (c == k))) / (m - 1)
    totals: dict = defaultdict(float)
    for (c, _), value in coincidence.items():
        totals[c] += value
    n = sum(totals.values())
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if n <= 1 or expected == 0:
        return None
    observed = sum(value for (c, k), value in coincidence.items() if c != k)
    return 1.0 - (n - 1) * observed / expected


def pairwise_agreement(units: list[list]) -> float | None:
    """The share of pairs of judgements of the same pair that agree (None: no pair judged twice)."""
    agree = total = 0
    for values in units:
        counts = Counter(values)
        m = len(values)
        total += m * (m - 1) // 2
        agree += sum(c * (c - 1) // 2 for c in counts.values())
    return agree / total if total else None


def study_results(store: StudyStore) -> dict:
    meta, pairs, judgements = store.meta(), store.pairs(), store.judgements()
    n = len(judgements)
    counts = Counter(j["choice"] for j in judgements)
    table = {}
    for choice in CHOICES:
        low, high = wilson_interval(counts[choice], n)
        table[choice] = {"count": counts[choice], "share": counts[choice] / n if n else None,
                         "ci95": [low, high]}
    by_pair: dict[int, list[str]] = defaultdict(list)
    by_rater: dict[str, Counter] = defaultdict(Counter)
    for j in judgements:
        by_pair[j["pair"]].append(j["choice"])
        by_rater[j["rater"]][j["choice"]] += 1
    per_pair = [{"pair": p["id"], "clip_id": p["clip_id"], "sample": p["sample"],
                 **{c: by_pair[p["id"]].count(c) for c in CHOICES}, "judgements": len(by_pair[p["id"]])}
                for p in pairs]
    units = list(by_pair.values())
    return {"a": meta.get("a"), "b": meta.get("b"), "protocol": meta.get("protocol"),
            "judgements": n, "raters": len(by_rater), "pairs": len(pairs),
            "judgements_per_pair": {"min": min((r["judgements"] for r in per_pair), default=0),
                                    "max": max((r["judgements"] for r in per_pair), default=0)},
            "table": table, "interval": "95% Wilson score interval on the share of judgements",
            "agreement": {"krippendorff_alpha_nominal": krippendorff_alpha_nominal(units),
                          "pairwise": pairwise_agreement(units),
                          "pairs_judged_twice_or_more": sum(len(u) >= 2 for u in units)},
            "per_rater": {rater: {c: counts_[c] for c in CHOICES} for rater, counts_ in sorted(by_rater.items())},
            "per_pair": per_pair}


def _labels(results: dict) -> dict:
    return {"a": f"Prefer A ({results['a']})", "b": f"Prefer B ({results['b']})", "indifferent": "Indifferent"}


def _share(entry: dict) -> str:
    if entry["share"] is None:
        return "-"
    low, high = entry["ci95"]
    return f"{100 * entry['share']:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def results_markdown(results: dict) -> str:
    labels = _labels(results)
    agreement = results["agreement"]
    lines = [f"# Side-by-side study: A = {results['a']}, B = {results['b']} ({results['protocol']})", "",
             f"{results['judgements']} judgements by {results['raters']} raters on {results['pairs']} pairs "
             f"({results['judgements_per_pair']['min']}-{results['judgements_per_pair']['max']} per pair); "
             f"shares with {results['interval']}.", "",
             "| " + " | ".join(labels.values()) + " |", "|---|---|---|",
             "| " + " | ".join(f"{results['table'][c]['count']}" for c in CHOICES) + " |",
             "| " + " | ".join(_share(results["table"][c]) for c in CHOICES) + " |", "",
             "Agreement between raters: Krippendorff's alpha (nominal) "
             f"{_number(agreement['krippendorff_alpha_nominal'])}, "
             f"agreeing pairs of judgements {_number(agreement['pairwise'])}, over "
             f"{agreement['pairs_judged_twice_or_more']} pairs judged at least twice.", "",
             "| rater | A | B | indifferent |", "|---|---|---|---|"]
    lines += [f"| {html.escape(r)} | {c['a']} | {c['b']} | {c['indifferent']} |"
              for r, c in results["per_rater"].items()]
    lines += ["", "| pair | clip | sample | A | B | indifferent |", "|---|---|---|---|---|---|"]
    lines += [f"| {p['pair']} | {p['clip_id']} | {p['sample']} | {p['a']} | {p['b']} | {p['indifferent']} |"
              for p in results["per_pair"]]
    return "\n".join(lines) + "\n"


def results_plot(results: dict) -> bytes:
    """A bar per answer (share of judgements) with its 95% interval, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = _labels(results)
    shares = [100 * (results["table"][c]["share"] or 0) for c in CHOICES]
    errors = [[shares[i] - 100 * results["table"][c]["ci95"][0] for i, c in enumerate(CHOICES)],
              [100 * results["table"][c]["ci95"][1] - shares[i] for i, c in enumerate(CHOICES)]]
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    ax.bar(range(3), shares, yerr=errors, capsize=6, color=["#3b7dd8", "#e07b39", "#9a9a9a"])
    ax.set_xticks(range(3), [labels[c].replace(" (", "\n(") for c in CHOICES], fontsize=8)
    ax.set_ylabel("share of judgements (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"{results['judgements']} judgements, {results['raters']} raters, {results['pairs']} pairs "
                 "(95% Wilson intervals)", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def results_html(results: dict, plot_url: str) -> str:
    """The results page of the app: the table, the plot and the per-pair counts."""
    labels = _labels(results)
    agreement = results["agreement"]
    head = "".join(f"<th>{html.escape(labels[c])}</th>" for c in CHOICES)
    counts = "".join(f"<td>{results['table'][c]['count']}</td>" for c in CHOICES)
    shares = "".join(f"<td>{_share(results['table'][c])}</td>" for c in CHOICES)
    per_pair = "".join(f"<tr><td>{p['pair']}</td><td>{html.escape(str(p['clip_id']))}</td><td>{p['sample']}</td>"
                       f"<td>{p['a']}</td><td>{p['b']}</td><td>{p['indifferent']}</td></tr>"
                       for p in results["per_pair"])
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Study results</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}th{{background:#f3f3f3}}</style></head><body>
<h1>Side-by-side study results</h1>
<p>A = {html.escape(str(results['a']))}, B = {html.escape(str(results['b']))},
protocol {html.escape(str(results['protocol']))}:
<b id="summary">{results['judgements']} judgements by {results['raters']} raters on {results['pairs']} pairs</b>.
Shares with {html.escape(results['interval'])}.</p>
<table id="table"><tr><th></th>{head}</tr><tr><th>judgements</th>{counts}</tr><tr><th>share</th>{shares}</tr></table>
<img src="{html.escape(plot_url)}" alt="shares of judgements" width="640">
<p>Agreement between raters: Krippendorff's alpha (nominal) {_number(agreement['krippendorff_alpha_nominal'])},
agreeing pairs of judgements {_number(agreement['pairwise'])},
over {agreement['pairs_judged_twice_or_more']} pairs judged at least twice.</p>
<h2>Per pair</h2><table><tr><th>pair</th><th>clip</th><th>sample</th><th>A</th><th>B</th><th>indifferent</th></tr>
{per_pair}</table></body></html>
"""


def write_results(store: StudyStore, out: str | Path) -> dict:
    results = study_results(store)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(results_markdown(results))
    (out / "results.png").write_bytes(results_plot(results))
    return results
