"""The jury model in the service: the default aggregation, fitted on stored votes with the
human verdicts clamped, versioned, and used by the next evaluation without a restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import ServerThread
from tests.doubles.judge_server import JudgeDouble


def jury_config(path: Path, double: JudgeDouble, **routing: Any) -> Path:
    b = double.base_url
    judges = [
        {"name": "honest", "model": "openai/honest", "api_base": b},
        {"name": "contrary-1", "model": "openai/contrary-honest", "api_base": b},
        {"name": "contrary-2", "model": "openai/contrary-honest", "api_base": b},
    ]
    panels = [
        {  # no aggregation key: the jury is the default
            "name": "safety-jury",
            "rubric": "safety",
            "judges": ["honest", "contrary-1", "contrary-2"],
            "routing": routing,
        },
        {
            "name": "pair-jury",
            "rubric": "pairwise-preference",
            "judges": ["honest", "contrary-1"],
        },
        {  # a 1-5 scale: votes stored as JSON numbers
            "name": "score-jury",
            "rubric": "helpfulness",
            "judges": ["honest", "contrary-1", "contrary-2"],
        },
    ]
    path.write_text(yaml.safe_dump({"judges": judges, "panels": panels}, sort_keys=False))
    return path


def evaluate(h: httpx.Client, truth: str) -> dict[str, Any]:
    body = {"panel": "safety-jury", "input": {"prompt": "p", "response": f"[[q={truth}]]"}}
    r = h.post("/v1/evaluations", json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def service(tmp_path: Path, double: JudgeDouble) -> Any:
    from api.app import create_app
    from api.settings import Settings

    def start(database_url: str | None = None, **routing: Any) -> ServerThread:
        settings = Settings(
            database_url=database_url or f"sqlite:///{tmp_path / 'q.db'}",
            config=jury_config(tmp_path / "q.yaml", double, **routing),
            jury_check_s=3600,
        )
        return ServerThread(create_app(settings), None if database_url else tmp_path / "q.db")

    return start


def _refit_every_scale(h: httpx.Client) -> None:
    for truth in (2, 4, 5):
        body = {"panel": "score-jury", "input": {"prompt": "p", "response": f"[[q={truth}]]"}}
        assert h.post("/v1/evaluations", json=body).status_code == 200
    evaluate(h, "pass")
    pair = {"prompt": "p", "response_a": "[[q=4]]", "response_b": "[[q=2]]"}
    assert h.post("/v1/comparisons", json={"panel": "pair-jury", "input": pair}).status_code == 200
    for name, items in (("score-jury", 3), ("safety-jury", 1), ("pair-jury", 1)):
        refit = h.post(f"/v1/panels/{name}/jury/refit")
        assert refit.status_code == 200, refit.text
        assert refit.json()["version"] == 1 and refit.json()["n_items"] == items
    body = {"panel": "score-jury", "input": {"prompt": "p", "response": "[[q=3]]"}}
    assert h.post("/v1/evaluations", json=body).json()["jury_version"] == 1


def test_panels_on_every_kind_of_scale_refit_on_sqlite(service: Any) -> None:
    """Integer votes (a 1-5 scale), strings (pass/fail) and pairwise letters all read back
    from the stored votes: SQLite hands a JSON number back as a number."""
    with service() as s, httpx.Client(base_url=s.url, timeout=30) as h:
        _refit_every_scale(h)


@pytest.mark.postgres
def test_panels_on_every_kind_of_scale_refit_on_postgres(service: Any, postgres_url: str) -> None:
    """The same on PostgreSQL, whose driver decodes a json column itself."""
    with service(postgres_url) as s, httpx.Client(base_url=s.url, timeout=30) as h:
        _refit_every_scale(h)


def test_a_new_panel_is_a_jury_and_starts_from_the_priors(service: Any) -> None:
    with service() as s, httpx.Client(base_url=s.url, timeout=30) as h:
        ev = evaluate(h, "pass")
        panel = h.get("/v1/panels/safety-jury").json()
        jury = h.get("/v1/panels/safety-jury/jury").json()
    assert panel["aggregation"] == "jury"
    # Cold start: every judge the prior symmetric model (accuracy 0.75 on a binary scale),
    # so two votes against one give posterior odds 3:1 for the majority.
    assert ev["jury_version"] == 0
    assert ev["verdict"]["value"] == "fail"
    assert ev["confidence"] == pytest.approx(0.75)
    assert jury["version"] == 0 and jury["workers"] == []


def test_human_verdicts_teach_the_jury_which_judges_to_believe(service: Any) -> None:
    """Two judges reliably wrong outvote the honest one until reviewers' verdicts are
    clamped into a refit; the next evaluation, without a restart, follows the truth."""
    truths = ["pass", "fail"] * 10
    with (
        service(audit_rate=1.0) as s,  # every item to humans: they label all of them
        httpx.Client(base_url=s.url, timeout=30) as h,
    ):
        for truth in truths:
            ev = evaluate(h, truth)
            assert ev["verdict"]["value"] != truth  # the contrarians carry the vote
            claim = h.post("/v1/reviews/claim", json={"reviewer": "r1", "panel": "safety-jury"})
            assert claim.status_code == 200, claim.text
            item = claim.json()
            decided = h.post(
                f"/v1/reviews/{item['id']}/verdict", json={"reviewer": "r1", "value": truth}
            )
            assert decided.status_code == 200, decided.text
        refit = h.post("/v1/panels/safety-jury/jury/refit")
        assert refit.status_code == 200, refit.text
        jury = refit.json()
        after = [evaluate(h, t) for t in ("pass", "fail", "pass")]
        report = h.get("/v1/panels/safety-jury/agreement", params={"window": "1h"}).json()
    assert jury["version"] == 1
    assert jury["n_items"] == len(truths) and jury["n_labelled"] == len(truths)
    assert jury["converged"] is True
    # a binary scale with 20 labels: the error model was chosen on held-out labels
    assert jury["error_model"] in (
        "shrunk",
        "one-coin",
        "equal judges",
        "shrunk labels-only",
        "one-coin labels-only",
        "equal judges labels-only",
    )
    assert report["jury"]["error_model"] == jury["error_model"]
    workers = {w["judge"]: w for w in jury["workers"]}
    assert workers["honest"]["accuracy"] > 0.8
    assert workers["contrary-1"]["accuracy"] < 0.2
    low, high = workers["honest"]["accuracy_ci"]
    assert low < workers["honest"]["accuracy"] < high
    for ev, truth in zip(after, ("pass", "fail", "pass"), strict=True):
        assert ev["jury_version"] == 1
        assert ev["verdict"]["value"] == truth
        assert ev["confidence"] > 0.9
    assert report["jury"]["version"] == 1


def test_the_refit_is_stored_and_loaded_by_a_restarted_replica(service: Any) -> None:
    with service() as s, httpx.Client(base_url=s.url, timeout=30) as h:
        for truth in ("pass", "fail", "pass"):
            evaluate(h, truth)
        assert h.post("/v1/panels/safety-jury/jury/refit").json()["version"] == 1
    with service() as s, httpx.Client(base_url=s.url, timeout=30) as h:
        assert h.get("/v1/panels/safety-jury/jury").json()["version"] == 1
        assert evaluate(h, "pass")["jury_version"] == 1


def test_a_panel_whose_refit_fails_does_not_hold_up_the_others(
    tmp_path: Path, double: JudgeDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduled refit goes on to the next panel when one fails (here the first one
    in the config), and tries the failed one again at the next tick."""
    from api.app import create_app
    from api.services.jury import JuryService
    from api.settings import Settings

    real_fit = JuryService._fit
    attempts: list[str] = []

    def fit(self: JuryService, panel: Any, rubric: Any, reason: str) -> Any:
        if panel.name == "safety-jury":
            attempts.append(panel.name)
            raise RuntimeError("the stored votes of safety-jury cannot be read")
        return real_fit(self, panel, rubric, reason)

    monkeypatch.setattr(JuryService, "_fit", fit)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'q.db'}",
        config=jury_config(tmp_path / "q.yaml", double),
        jury_check_s=0.2,
    )
    with ServerThread(create_app(settings)) as s, httpx.Client(base_url=s.url, timeout=30) as h:
        evaluate(h, "pass")
        body = {"panel": "score-jury", "input": {"prompt": "p", "response": "[[q=4]]"}}
        assert h.post("/v1/evaluations", json=body).status_code == 200
        deadline = time.monotonic() + 60  # the refit runs in a worker thread
        while h.get("/v1/panels/score-jury/jury").json()["version"] < 1:
            assert time.monotonic() < deadline, "score-jury was never refitted"
            time.sleep(0.1)
        while len(attempts) < 2:  # retried at a later tick
            assert time.monotonic() < deadline, "safety-jury was not retried"
            time.sleep(0.1)
        assert h.get("/v1/panels/safety-jury/jury").json()["version"] == 0


def test_the_lifespan_refits_when_enough_human_verdicts_arrive(
    tmp_path: Path, double: JudgeDouble
) -> None:
    from api.app import create_app
    from api.settings import Settings

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'q.db'}",
        config=jury_config(tmp_path / "q.yaml", double, audit_rate=1.0),
        jury_check_s=0.2,
        jury_refit_labels=1,  # every new human verdict is due (the first fit may come first)
    )
    with ServerThread(create_app(settings)) as s, httpx.Client(base_url=s.url, timeout=30) as h:
        for truth in ("pass", "fail", "pass"):
            evaluate(h, truth)
            item = h.post("/v1/reviews/claim", json={"reviewer": "r", "panel": "safety-jury"})
            h.post(
                f"/v1/reviews/{item.json()['id']}/verdict", json={"reviewer": "r", "value": truth}
            )
        deadline = time.monotonic() + 60  # the refit runs in a worker thread
        while h.get("/v1/panels/safety-jury/jury").json()["n_labelled"] < 3:
            assert time.monotonic() < deadline, "no refit after the human verdicts"
            time.sleep(0.2)


def test_pairwise_jury_reads_each_order_as_its_own_worker(service: Any) -> None:
    with service() as s, httpx.Client(base_url=s.url, timeout=30) as h:
        for a, b in ((5, 1), (1, 5), (4, 2)):
            r = h.post(
                "/v1/comparisons",
                json={
                    "panel": "pair-jury",
                    "input": {
                        "prompt": "p",
                        "response_a": f"[[q={a}]]",
                        "response_b": f"[[q={b}]]",
                    },
                },
            )
            assert r.status_code == 200, r.text
        jury = h.post("/v1/panels/pair-jury/jury/refit").json()
    keys = {(w["judge"], w["order"]) for w in jury["workers"]}
    assert keys == {("honest", "AB"), ("honest", "BA"), ("contrary-1", "AB"), ("contrary-1", "BA")}


def test_the_jury_of_an_unknown_panel_is_404(service: Any) -> None:
    with service() as s, httpx.Client(base_url=s.url, timeout=30) as h:
        r = h.get("/v1/panels/nope/jury")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_correlated_judges_get_a_confidence_that_is_a_probability(
    tmp_path: Path, double: JudgeDouble
) -> None:
    """Three judges that always answer alike, and reviewers who disagree with them on 1
    item in 5: untempered, three agreeing votes at accuracy 0.8 would claim 0.985; the
    refit's temperature brings the next evaluation's confidence to about 0.8."""
    from api.app import create_app
    from api.settings import Settings

    b = double.base_url
    judges = [{"name": f"h{k}", "model": "openai/honest", "api_base": b} for k in range(3)]
    panels = [
        {
            "name": "safety-jury",
            "rubric": "safety",
            "judges": ["h0", "h1", "h2"],
            "routing": {"audit_rate": 1.0},
        }
    ]
    config = tmp_path / "q.yaml"
    config.write_text(yaml.safe_dump({"judges": judges, "panels": panels}, sort_keys=False))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'q.db'}", config=config, jury_check_s=3600
    )
    with ServerThread(create_app(settings)) as s, httpx.Client(base_url=s.url, timeout=30) as h:
        for i in range(40):
            shown = "pass" if i % 2 else "fail"
            human = shown if i % 5 else ("fail" if shown == "pass" else "pass")
            evaluate(h, shown)
            item = h.post("/v1/reviews/claim", json={"reviewer": "r", "panel": "safety-jury"})
            assert item.status_code == 200, item.text
            h.post(
                f"/v1/reviews/{item.json()['id']}/verdict", json={"reviewer": "r", "value": human}
            )
        jury = h.post("/v1/panels/safety-jury/jury/refit").json()
        after = evaluate(h, "pass")
    assert jury["n_labelled"] == 40
    assert 0.2 < jury["temperature"] < 0.6
    assert after["jury_version"] == jury["version"]
    assert after["verdict"]["value"] == "pass"
    assert 0.7 < after["confidence"] < 0.9
