"""`quorum qualify`: run a candidate model on the governance corpus, have a running Quorum
assess every answer on a profile, print per-criterion results with 95% intervals, then
apply the service's policies to the model and print the transition they gave.

Exit codes (docs/governance.md, "Qualification"):
  0  every prompt answered and assessed; the model is not in quarantine
  1  the model is in quarantine after the policies ran
  2  it could not run: bad arguments or corpus, unknown profile, the service unreachable
     or refusing the key, the client not installed
  3  incomplete: some prompts were not answered or not assessed, or the policies could
     not be applied (results for the rest are printed)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import httpx
from pydantic import ValidationError

from api.cli_common import check_output
from api.cli_output import replaced_on_success
from rubrics import GOVERNANCE_CORPUS, CorpusLoadError, load_corpus, select

if TYPE_CHECKING:
    from collections.abc import Sequence

    from api.qualify import Outcome, Report
    from judges import Candidate, ChatClient
    from quorum_client import AsyncQuorumClient, ProfilePublic
    from routing.governance import Rate
    from rubrics import Corpus, CorpusPrompt

OK, QUARANTINED, CANNOT_RUN, INCOMPLETE = 0, 1, 2, 3
DEFAULT_URL = "http://127.0.0.1:8000"


FLAGS = {
    "model": "--model",
    "api_base": "--api-base",
    "api_key_env": "--api-key-env",
    "timeout_s": "--timeout",
}
"""The option of each `Candidate` field, for its validation errors."""


class Refused(Exception):
    """The run cannot start or go on; the message is one line for stderr (exit 2)."""


def add_parser(sub: Any) -> None:
    """The `qualify` subcommand on the `quorum` parser."""
    q = sub.add_parser(
        "qualify",
        help="run a candidate model on the governance corpus, assess its answers on a "
        "profile, and apply the policies",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("--model", required=True, help="the candidate: a litellm model string")
    q.add_argument("--profile", required=True, help="the profile every answer is assessed on")
    q.add_argument("--corpus", type=Path, help="prompt corpus YAML (default: the shipped one)")
    q.add_argument("--n", type=int, help="at most N prompts, spread over the categories")
    q.add_argument(
        "--use-case", default="qualification", help="governance use case (default: %(default)s)"
    )
    q.add_argument("--subject", help="the subject model name recorded (default: --model)")
    q.add_argument("--url", help=f"the Quorum service (default: $QUORUM_URL or {DEFAULT_URL})")
    q.add_argument("--api-base", help="the candidate's OpenAI-compatible base URL")
    q.add_argument("--api-key-env", help="variable holding the candidate's key")
    q.add_argument(
        "--concurrency", type=int, default=4, help="prompts in flight (default: %(default)s)"
    )
    q.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per candidate call (default: 60)"
    )
    q.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    q.add_argument("--no-evaluate", action="store_true", help="do not apply the policies")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_qualify)


def cmd_qualify(args: argparse.Namespace) -> int:
    check_output("--json", args.json)  # before the run and its policy step on the service
    try:
        candidate, path = _checked(args)
        return asyncio.run(_qualify_then_stop(args, candidate, path))
    except Refused as exc:
        print(f"quorum qualify: {exc}", file=sys.stderr)
        return CANNOT_RUN


def _checked(args: argparse.Namespace) -> tuple[Candidate, Path]:
    """Every option checked before any call (to the service, the candidate or, through
    the service, the judges): the candidate, and the corpus file, parsed (its rubrics are
    checked against the service's once it is asked). A use case or subject the service
    refuses used to be found out by one 422 per prompt, after the candidate had answered
    every one."""
    from api.schemas.common import USE_CASE_PATTERN, Subject
    from judges import Candidate

    if args.n is not None and args.n < 1:
        raise Refused(f"--n must be at least 1; got {args.n}")
    if args.concurrency < 1:
        raise Refused(f"--concurrency must be at least 1; got {args.concurrency}")
    if not re.fullmatch(USE_CASE_PATTERN, args.use_case):
        raise Refused(
            f"--use-case: {args.use_case!r} is not a use-case label "
            "(1 to 128 letters, digits or . _ : / -)"
        )
    service = ("--url", args.url) if args.url else ("QUORUM_URL", os.environ.get("QUORUM_URL"))
    for flag, url in (service, ("--api-base", args.api_base)):
        if url and not url.startswith(("http://", "https://")):
            raise Refused(f"{flag}: {url!r} is not an http:// or https:// URL")
    try:
        candidate = Candidate(
            model=args.model,
            api_base=args.api_base,
            api_key_env=args.api_key_env,
            timeout_s=args.timeout,
        )
    except ValidationError as exc:
        raise Refused(_said(exc)) from None
    if args.api_key_env and not os.environ.get(args.api_key_env):
        raise Refused(f"--api-key-env: the variable {args.api_key_env} is not set")
    try:  # the recorded subject is --model unless --subject names another
        Subject(model=args.subject if args.subject is not None else args.model)
    except ValidationError as exc:
        raise Refused(_said(exc, "--subject" if args.subject is not None else "--model")) from None
    path = args.corpus or GOVERNANCE_CORPUS
    try:
        load_corpus(path)
    except CorpusLoadError as exc:
        raise Refused(f"corpus: {exc}") from None
    return candidate, path


def _said(exc: ValidationError, flag: str | None = None) -> str:
    """A validation error of an option as one line: the option (`flag`, or the one of
    the field, `FLAGS`) and pydantic's message."""
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err["loc"] else ""
    return f"{flag or FLAGS.get(field, '--model')}: {err['msg'].removeprefix('Value error, ')}"


async def _qualify_then_stop(args: argparse.Namespace, candidate: Candidate, path: Path) -> int:
    from judges.litellm_client import stop_litellm_worker

    try:
        return await _qualify(args, sys.stdout, candidate, path)
    finally:
        await stop_litellm_worker()


async def _qualify(args: argparse.Namespace, out: TextIO, candidate: Candidate, path: Path) -> int:
    try:
        from quorum_client import AsyncQuorumClient
    except ImportError:  # pragma: no cover - the image without the client distribution
        raise Refused("needs the client: pip install ./client (quorum-client)") from None
    from judges.litellm_client import LiteLLMClient, configure_litellm

    url = args.url or os.environ.get("QUORUM_URL") or DEFAULT_URL
    key = os.environ.get("QUORUM_API_KEY") or None
    try:  # the client checks its URL and key as it is made (before any call)
        client = AsyncQuorumClient(url, key, timeout=min(3600.0, max(300.0, args.timeout)))
    except ValueError as exc:
        raise Refused(f"the service: {exc}") from None
    configure_litellm()
    async with client as quorum:
        profile, rubrics = await _server_facts(quorum, url, args.profile)
        try:
            corpus = load_corpus(path, rubrics)
        except CorpusLoadError as exc:
            raise Refused(f"corpus: {exc}") from None
        prompts = select(corpus, {c.rubric for c in profile.criteria}, args.n)
        if not prompts:
            raise Refused(
                f"no prompt of {path} tests a criterion of profile {profile.name!r} "
                f"({', '.join(c.rubric for c in profile.criteria)})"
            )
        before = await _transition_ids(quorum, args.subject or args.model)
        report = await _run(args, quorum, LiteLLMClient(), candidate, profile, corpus, prompts)
        print_report(report, out)
        code = OK if report.complete else INCOMPLETE
        if report.answered == 0:
            print("the candidate answered no prompt: the policies were not applied", file=out)
            code = INCOMPLETE
        elif not args.no_evaluate:
            zone = await _apply_policies(quorum, report.model, before, out)
            code = QUARANTINED if zone == "quarantine" else INCOMPLETE if zone is None else code
        if args.json:
            text = report.model_dump_json(indent=2) + "\n"
            with replaced_on_success("--json", args.json) as file:  # whole, or as it was
                file.write(text)
    return code


async def _server_facts(
    quorum: AsyncQuorumClient, url: str, name: str
) -> tuple[ProfilePublic, set[str]]:
    """The profile and the rubric ids the service knows; Refused when it cannot tell."""
    from quorum_client import AuthError, QuorumAPIError

    try:
        profiles = await quorum.profiles()
        rubrics = {r.id for r in await quorum.rubrics()}
    except httpx.TransportError as exc:
        raise Refused(f"cannot reach Quorum at {url}: {exc or type(exc).__name__}") from None
    except AuthError as exc:
        raise Refused(f"Quorum refused the key (set QUORUM_API_KEY): {exc}") from None
    except QuorumAPIError as exc:
        raise Refused(f"Quorum at {url} answered {exc}") from None
    found = next((p for p in profiles if p.name == name), None)
    if found is None:
        known = ", ".join(sorted(p.name for p in profiles)) or "none"
        raise Refused(f"unknown profile {name!r}; the service has: {known}")
    return found, rubrics


async def _run(
    args: argparse.Namespace,
    quorum: AsyncQuorumClient,
    llm: ChatClient,
    candidate: Candidate,
    profile: ProfilePublic,
    corpus: Corpus,
    prompts: Sequence[CorpusPrompt],
) -> Report:
    from tqdm import tqdm

    from api.qualify import Qualification, summarise
    from quorum_client import AuthError

    subject = args.subject or args.model
    run = Qualification(
        quorum,
        llm,
        candidate,
        subject=subject,
        profile=profile.name,
        use_case=args.use_case,
        corpus=corpus.name,
        concurrency=args.concurrency,
    )
    bar = tqdm(total=len(prompts), desc=f"qualifying {subject}", unit="prompt", disable=args.quiet)
    problems = 0

    def done(outcome: Outcome) -> None:
        nonlocal problems
        problems += outcome.assessment is None
        bar.set_postfix(problems=problems, refresh=False)
        bar.update()

    try:
        outcomes = await run.run(prompts, done)
    except AuthError as exc:
        raise Refused(f"Quorum refused the key (set QUORUM_API_KEY): {exc}") from None
    except httpx.TransportError as exc:
        raise Refused(f"lost Quorum during the run: {exc or type(exc).__name__}") from None
    finally:
        bar.close()
    return summarise(subject, profile, args.use_case, f"{corpus.name} v{corpus.version}", outcomes)


def _interval(rate: Rate | None) -> str:
    return "-" if rate is None else f"{rate.value:.3f} [{rate.low:.3f}, {rate.high:.3f}]"


def print_report(report: Report, out: TextIO) -> None:
    """The per-criterion table and the profile-level line."""
    print(
        f"\nQualification of {report.model} on profile {report.profile} "
        f"(use case {report.use_case}), corpus {report.corpus}",
        file=out,
    )
    print(
        f"{report.prompts} prompt(s): {report.answered} answered, {report.assessed} assessed",
        file=out,
    )
    width = max([len("criterion"), *(len(c.criterion) for c in report.criteria)])
    print(
        f"\n{'criterion':<{width}}  {'n':>4}  {'ok':>4}  {'rate [95% CI]':<22}  "
        f"{'n/a':>4}  {'review':>6}  targeted",
        file=out,
    )
    for c in report.criteria:
        targeted = f"{c.targeted_compliant}/{c.targeted_n}" if c.targeted_n else "-"
        print(
            f"{c.criterion:<{width}}  {c.n:>4}  {c.compliant:>4}  {_interval(c.rate):<22}  "
            f"{c.not_applicable:>4}  {c.in_review:>6}  {targeted}",
            file=out,
        )
    print(
        f"\nprofile {report.profile}: {report.profile_compliant} of {report.profile_n} "
        f"decided assessment(s) compliant: {_interval(report.profile_rate)}",
        file=out,
    )
    for line in (*report.unanswered, *report.unassessed):
        print(f"  not judged: {line}", file=out)


async def _transition_ids(quorum: AsyncQuorumClient, model: str) -> set[str] | None:
    """The ids of the model's stored transitions; None when the service cannot say."""
    from quorum_client import QuorumAPIError

    try:
        return {t.id for t in await quorum.transitions(model)}
    except QuorumAPIError:
        return None


async def _apply_policies(
    quorum: AsyncQuorumClient, model: str, before: set[str] | None, out: TextIO
) -> str | None:
    """`POST /v1/models/{model}/evaluate`, and every transition of the model since the run
    started (the service's own sweep may have applied a policy before this call), printed;
    the zone after, None if unknown."""
    from quorum_client import QuorumAPIError

    try:
        result = await quorum.evaluate_model(model)
        made = list(result.transitions)
        if before is not None:
            seen = {t.id for t in made}
            made += [t for t in await quorum.transitions(model) if t.id not in before | seen]
    except QuorumAPIError as exc:
        print(f"policies not applied: {exc}", file=out)
        return None
    made.sort(key=lambda t: t.created_at)
    for t in made:
        print(f"policy: {t.from_zone} -> {t.to_zone} by {t.actor}: {t.reason}", file=out)
    if made:
        print(f"zone: {result.zone}", file=out)
    else:
        print(f"policy: {result.reason or 'no policy applied'}; zone {result.zone}", file=out)
    return result.zone
