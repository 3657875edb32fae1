"""`quorum backtest`: its options and the run (`api.cli` hands the command line to `main`)."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, get_args

from backtest import markdown, plots, report
from backtest.datasets import DatasetError, find_datasets, load_dataset
from backtest.jury import DEFAULT_AUDIT_RATE, DEFAULT_LABELS
from backtest.replay import run_backtest
from backtest.routing_curve import DEFAULT_ALPHAS, DEFAULT_DELTA, DEFAULT_SPLITS, RoutingSettings
from routing.calibration_floor import check_certifiable
from routing.jury import JuryPriors, Selection

__all__ = ["cmd_backtest", "command_line", "main", "register"]


def main(argv: Sequence[str]) -> int:
    """Run `quorum backtest ARGV...` (the words after `backtest`); the exit status."""
    parser = argparse.ArgumentParser(prog="quorum")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["backtest", *argv])
    return int(args.func(args))


def register(subparsers: Any) -> None:
    """Add the `backtest` subcommand to the `quorum` CLI."""
    parser = subparsers.add_parser(
        "backtest",
        help="replay recorded judge votes with human labels through Quorum's routing code",
        description="Score single judges and panels against human labels on recorded "
        "votes (canonical JSONL, docs/backtest.md).",
    )
    add = parser.add_argument
    add("paths", nargs="*", type=Path, metavar="PATH", help="dataset dir or .jsonl file")
    add("--all", dest="all_dir", type=Path, metavar="DIR", help="every <name>/votes.jsonl in DIR")
    add("--json", type=Path, metavar="OUT", help="write the results as JSON")
    add("--plot", type=Path, metavar="OUT.png", help="kappa plots (OUT-<dataset>.png if several)")
    add("--folds", type=int, default=5, help="cross-fitting folds for weights (default 5)")
    add("--seed", type=int, default=0, help="fold assignment seed (default 0)")
    add("--min-human", type=int, default=30, help="labels a judge needs for a human weight")
    add(
        "--labels",
        type=int,
        default=DEFAULT_LABELS,
        help=f"human labels any fold's jury may use, from other folds (default {DEFAULT_LABELS}; "
        "0: none, the cold start)",
    )
    add(
        "--audit-rate",
        type=float,
        default=DEFAULT_AUDIT_RATE,
        help="random audit share of the production-labels jury row (default "
        f"{DEFAULT_AUDIT_RATE:g})",
    )
    add(
        "--dependence",
        type=float,
        default=JuryPriors().dependence,
        help="the jury's correlated-judge correction, 0 (independent) to 1 "
        f"(default {JuryPriors().dependence:g}; docs/statistics.md)",
    )
    add("--no-dependence-cv", action="store_true", help="skip the dependence CV table")
    add(
        "--select",
        choices=get_args(Selection),
        default="scale",
        help="where each fold's jury error model is chosen on held-out labels instead of "
        "the fixed shrinkage s = L: 'scale' (default, as the service does: every scale but "
        "ordinal ones of more than two values), 'all' or 'none' (docs/statistics.md)",
    )
    add("--markdown", type=Path, metavar="OUT.md", help="write the summary tables as Markdown")
    add_options(add)
    parser.set_defaults(func=cmd_backtest)


def cmd_backtest(args: argparse.Namespace) -> int:
    """Load every dataset (a malformed one stops the run, status 2), replay each, print
    its table, and write the JSON and plots asked for."""
    unwritable = _output_problem(args)
    if unwritable is not None:  # checked first: a long run must not end unable to write
        print(f"quorum backtest: {unwritable}", file=sys.stderr)
        return 2
    try:
        paths = list(args.paths) + (find_datasets(args.all_dir) if args.all_dir else [])
        if not paths:
            print("quorum backtest: give a dataset PATH or --all DIR", file=sys.stderr)
            return 2
        datasets = [load_dataset(p) for p in paths]
    except DatasetError as exc:
        print(f"quorum backtest: {exc}", file=sys.stderr)
        return 2
    settings = settings_from(args)
    if isinstance(settings, str):
        print(f"quorum backtest: {settings}", file=sys.stderr)
        return 2
    if args.folds < 2 or args.min_human < 1 or args.labels < 0 or args.seed < 0:
        print(
            "quorum backtest: --folds must be >= 2, --min-human >= 1, --labels >= 0"
            " and --seed >= 0",
            file=sys.stderr,
        )
        return 2
    if not (0 <= args.audit_rate <= 1 and 0 <= args.dependence <= 1):
        print("quorum backtest: --audit-rate and --dependence must lie in [0, 1]", file=sys.stderr)
        return 2
    for path, ds in zip(paths, datasets, strict=True):
        if not any(v.value is not None for item in ds.items for v in item.votes):
            print(
                f"quorum backtest: {path}: no usable vote (every vote is unscored, or there "
                "are none): nothing to replay",
                file=sys.stderr,
            )
            return 2
    priors = JuryPriors(dependence=args.dependence)
    results = []
    for ds in datasets:
        once = _OnceEach()  # per dataset: its folds share one fit, and one warning
        logging.getLogger("routing.reliability").addFilter(once)
        try:
            result = run_backtest(
                ds,
                folds=args.folds,
                seed=args.seed,
                min_human=args.min_human,
                routing=settings,
                labels=args.labels,
                audit_rate=args.audit_rate,
                priors=priors,
                dependence_cv=not args.no_dependence_cv,
                select=args.select,
            )
        finally:
            logging.getLogger("routing.reliability").removeFilter(once)
        print(report.format_result(result), end="\n\n", flush=True)
        results.append(result)
    if args.json:
        report.write_json(results, args.json, command=command_line(args))
    if args.markdown:
        markdown.write_markdown(results, args.markdown, command=command_line(args))
    if args.plot:
        for result, out in zip(results, plots.plot_paths(args.plot, results), strict=True):
            plots.plot_result(result, out)
    return 0


class _OnceEach(logging.Filter):
    """Lets each distinct message through once: the weighted row's folds share one
    Dawid-Skene fit, so its warning came once per fold and again for the whole set."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.levelno, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _output_problem(args: argparse.Namespace) -> str | None:
    """Why an output path asked for cannot be written, or None."""
    seen: dict[Path, str] = {}
    for flag, out in (("--json", args.json), ("--markdown", args.markdown), ("--plot", args.plot)):
        if out is None:
            continue
        same = seen.setdefault(out.resolve(), flag)
        if same != flag:
            return f"{same} and {flag} name the same file {out}"
        folder = out.parent  # Path("r.json").parent is Path(".")
        if out.is_dir():
            return f"{flag} {out}: is a directory"
        if not folder.is_dir():
            return f"{flag} {out}: no such directory {folder}"
        if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
            return f"{flag} {out}: not writable"
    return None if args.markdown is None else markdown.target_problem(args.markdown)


def add_options(add: Callable[..., Any]) -> None:
    """The calibration options of `quorum backtest` (`add` is `parser.add_argument`)."""
    add(
        "--alpha",
        type=float,
        action="append",
        help="target disagreement rate above the calibrated threshold; repeatable "
        "(default 0.05, 0.1, 0.2)",
    )
    add(
        "--delta",
        type=float,
        default=DEFAULT_DELTA,
        help="allowed failure probability of the guarantee (default 0.1)",
    )
    add(
        "--splits",
        type=int,
        default=DEFAULT_SPLITS,
        help="random calibration/held-out splits to repeat the check over (default 20)",
    )


def settings_from(args: argparse.Namespace) -> RoutingSettings | str:
    """The settings from parsed options (filling in the default alphas), or an error."""
    args.alpha = tuple(dict.fromkeys(args.alpha or DEFAULT_ALPHAS))  # each alpha once
    if not all(0 < a < 1 for a in (*args.alpha, args.delta)):
        return "--alpha and --delta must lie strictly between 0 and 1"
    for alpha in args.alpha:  # one no recorded set could certify: said before the run
        try:
            check_certifiable(alpha, args.delta)
        except ValueError as exc:
            return f"--alpha: {exc}"
    if args.splits < 1:
        return "--splits must be >= 1"
    return RoutingSettings(alphas=args.alpha, delta=args.delta, splits=args.splits)


def command_line(args: argparse.Namespace) -> str:
    """The `quorum backtest` command that reproduces a run, from its parsed arguments."""
    words = ["quorum", "backtest", *(str(p) for p in args.paths)]
    if args.all_dir:
        words += ["--all", str(args.all_dir)]
    for flag in ("json", "plot", "markdown"):
        if getattr(args, flag):
            words += [f"--{flag}", str(getattr(args, flag))]
    words += ["--folds", str(args.folds), "--seed", str(args.seed)]
    words += ["--min-human", str(args.min_human), "--labels", str(args.labels)]
    words += ["--audit-rate", f"{args.audit_rate:g}", "--dependence", f"{args.dependence:g}"]
    if args.no_dependence_cv:
        words.append("--no-dependence-cv")
    words += ["--select", args.select]
    for alpha in args.alpha:
        words += ["--alpha", f"{alpha:g}"]
    return shlex.join([*words, "--delta", f"{args.delta:g}", "--splits", str(args.splits)])
