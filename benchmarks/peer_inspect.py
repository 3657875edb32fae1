"""The peer of peer.py: Inspect AI's model-graded jury judging the bench items.

Runs in the peer's own venv (`benchmarks/.venv-peer`, made by peer.py), never in Quorum's:
it imports no Quorum code, only `common.py` (stdlib, httpx and PyYAML, which Inspect
brings too). A worker driven by JSON commands on stdin, one JSON answer per line, like
inproc.py. Each item is graded by `model_graded_qa(model=[j1, j2, j3])`: three grader
models on the judge double (`openai-api/double/grade-<behaviour>`, plain chat completions
on the double's base URL), each asked Inspect's own grading prompt, combined by Inspect's
default `majority` reducer. Two modes:

  scorer   the jury scorer called directly, `concurrency` items at a time under an
           asyncio.Semaphore: the grading alone, like Quorum's PanelRunner
  eval     `inspect_ai.eval()` on a Task of the items (a solver that sets the item's
           response as the output; no model call) with `max_samples=concurrency`: the
           documented way, with Inspect's harness (sample transcripts, the .eval log file)

The double's `honest` marker is 1-5 (`common.item`); a correct jury answers C for 3 and
above, I below: anything else (or no grade) counts as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import claim_stdout, cpu_seconds, figures, item, timed_run  # noqa: E402

CRITERION = "Explains in two sentences what DNS does."
JUDGES = 3


def expected(i: int) -> str:
    return "C" if 1 + i % 5 >= 3 else "I"  # the marker common.item(i) carries


def graders(behaviour: str) -> list[str]:
    return [f"openai-api/double/grade-{behaviour}"] * JUDGES


def check(i: int, value: Any, errors: list[str]) -> None:
    if value != expected(i):
        errors.append(f"item {i}: grade {value!r}, expected {expected(i)}")


def run_scorer(cmd: dict[str, Any], loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    from inspect_ai.model import ChatMessageUser, ModelName, ModelOutput
    from inspect_ai.scorer import Target, model_graded_qa
    from inspect_ai.solver import TaskState

    scorer = model_graded_qa(model=graders(cmd["behaviour"]))
    errors: list[str] = []

    async def evaluation(i: int) -> float:
        data = item(i)
        state = TaskState(
            model=ModelName("mockllm/model"),
            sample_id=i,
            epoch=1,
            input=data["prompt"],
            messages=[ChatMessageUser(content=data["prompt"])],
            output=ModelOutput.from_content(model="answer", content=data["response"]),
        )
        started = time.perf_counter()
        score = await scorer(state, Target(CRITERION))
        check(i, score.value if score is not None else None, errors)
        return time.perf_counter() - started

    return loop.run_until_complete(timed_run(evaluation, cmd, errors))


def run_eval(cmd: dict[str, Any], log_dir: str) -> dict[str, Any]:
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput
    from inspect_ai.scorer import model_graded_qa
    from inspect_ai.solver import Generate, TaskState, solver

    @solver
    def answered() -> Any:  # the output under judgement is given: no model call
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            response = state.metadata["response"]
            state.output = ModelOutput.from_content(model="answer", content=response)
            return state

        return solve

    def batch(first: int, count: int) -> tuple[float, float, list[float], list[str]]:
        samples = [
            Sample(
                id=i,
                input=item(i)["prompt"],
                target=CRITERION,
                metadata={"response": item(i)["response"]},
            )
            for i in range(first, first + count)
        ]
        task = Task(
            dataset=samples,
            solver=answered(),
            scorer=model_graded_qa(model=graders(cmd["behaviour"])),
        )
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        (log,) = inspect_eval(
            task,
            model="mockllm/model",  # the evaluated model: never called (see the solver)
            max_samples=cmd["concurrency"],
            max_connections=cmd["concurrency"] * JUDGES,
            log_dir=log_dir,
            display="none",
            log_level="warning",
        )
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        errors = [] if log.status == "success" else [f"eval status {log.status}: {log.error}"]
        latencies = []
        for sample in log.samples or []:
            score = (sample.scores or {}).get("model_graded_qa")
            check(int(sample.id), score.value if score else None, errors)
            latencies.append(float(sample.total_time or 0.0))
        if len(log.samples or []) != count:
            errors.append(f"{len(log.samples or [])} samples in the log, expected {count}")
        return wall, cpu, latencies, errors

    batch(0, cmd["warmup"])
    wall, cpu, latencies, errors = batch(cmd["warmup"], cmd["evals"])
    return figures(cmd, wall, cpu, latencies, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the judge double's /v1 URL")
    parser.add_argument("--mode", choices=("scorer", "eval"), required=True)
    parser.add_argument("--log-dir", required=True, help="where `eval` writes its logs")
    args = parser.parse_args()
    os.environ["DOUBLE_BASE_URL"] = args.base_url  # Inspect's `openai-api/double/...`
    os.environ["DOUBLE_API_KEY"] = "placeholder"
    os.environ.setdefault("INSPECT_LOG_DIR", args.log_dir)
    import inspect_ai.scorer  # noqa: F401  (import time stays out of the first command)

    loop = asyncio.new_event_loop()  # one for every command: Inspect's clients belong to it
    answers = claim_stdout()
    print(json.dumps({"ready": True}), file=answers, flush=True)
    while line := sys.stdin.readline():
        cmd = json.loads(line)
        out = run_scorer(cmd, loop) if args.mode == "scorer" else run_eval(cmd, args.log_dir)
        print(json.dumps(out), file=answers, flush=True)


if __name__ == "__main__":
    main()
