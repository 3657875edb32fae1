"""GET /v1/panels/{name}/agreement over stored evaluations, checked against references."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from tests.doubles.judge_server import JudgeDouble
from tests.support import ServerThread, write_config


def test_window_agreement_matches_reference_libraries(http: httpx.Client) -> None:
    qualities = [1, 2, 3, 4, 5, 2, 3, 4, 5, 1, 3, 4]
    for q in qualities:
        r = http.post(
            "/v1/evaluations",
            json={"panel": "mean-jury", "input": {"prompt": "p", "response": f"[[q={q}]]"}},
        )
        assert r.status_code == 200
    report = http.get("/v1/panels/mean-jury/agreement", params={"window": "1h"}).json()
    # Judges of mean-jury: honest-1 answers q, fixed-5 always 5, fixed-3 always 3.
    codes = np.array([[q - 1, 4, 2] for q in qualities])
    assert report["n_items"] == len(qualities)
    assert report["weighting"] == "quadratic"
    expected = sm_fleiss(aggregate_raters(codes, n_cat=5)[0])
    assert abs(report["fleiss_kappa"]["value"] - expected) < 1e-9
    low, high = report["fleiss_kappa"]["ci_low"], report["fleiss_kappa"]["ci_high"]
    assert low <= report["fleiss_kappa"]["value"] <= high
    kappa = report["cohen_kappa"]["honest-1"]["fixed-3"]
    ref = cohen_kappa_score(codes[:, 0], codes[:, 2], weights="quadratic", labels=range(5))
    assert abs(kappa - ref) < 1e-9
    judges = {j["judge"]: j for j in report["judges"]}
    assert judges["honest-1"]["calls"] == len(qualities)
    assert judges["honest-1"]["unscored_rate"] == 0.0
    assert judges["fixed-5"]["human_kappa"] is None  # no human verdicts yet
    assert report["n_human"] == 0


def test_unscored_and_error_rates(http: httpx.Client) -> None:
    for _ in range(3):
        http.post(
            "/v1/evaluations",
            json={"panel": "degraded", "input": {"prompt": "p", "response": "[[q=4]]"}},
        )
    report = http.get("/v1/panels/degraded/agreement").json()
    judges = {j["judge"]: j for j in report["judges"]}
    assert judges["boom"]["error_rate"] == 1.0
    assert judges["garbage"]["unscored_rate"] == 1.0
    assert judges["garbage"]["error_rate"] == 0.0
    assert judges["honest-1"]["error_rate"] == 0.0
    assert report["fleiss_kappa"] is None  # too few items with every judge usable


def test_bad_window_and_unknown_panel(http: httpx.Client) -> None:
    r = http.get("/v1/panels/jury/agreement", params={"window": "soon"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert http.get("/v1/panels/nope/agreement").status_code == 404
    # The one window rule of every endpoint: ASCII digits, s/m/h/d/w, at most 366 days.
    for bad in ("\u0663d", "367d", "99999999999999999999d", "0h"):
        r = http.get("/v1/panels/jury/agreement", params={"window": bad})
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["location"] == "query.window"


def test_the_window_is_echoed_in_its_largest_exact_unit(http: httpx.Client) -> None:
    for asked, echoed in (("24h", "1d"), (" 7d\n", "7d"), ("2w", "14d"), ("90m", "90m")):
        report = http.get("/v1/panels/jury/agreement", params={"window": asked}).json()
        assert report["window"] == echoed, asked


def test_position_bias_per_judge(http: httpx.Client) -> None:
    for n in range(16):
        body = {
            "panel": "biased-pair",
            "input": {
                "prompt": f"Q{n}",
                "response_a": f"first {n} [[q=1]]",
                "response_b": f"second {n} [[q=5]]",
            },
        }
        assert http.post("/v1/comparisons", json=body).status_code == 200
    report = http.get("/v1/panels/biased-pair/agreement").json()
    for judge in report["judges"]:
        # A flip happens when the first-shown (worse) response_a wins in order AB while
        # response_b wins in BA, where it is shown first: the first position won both times.
        assert judge["position_inconsistency"] > 0.5
        assert judge["first_position_rate"] == 1.0
        low, high = judge["first_position_ci"]
        assert 0.5 < low < 1.0 == pytest.approx(high)


def test_weighted_panel_learns_reliability_weights(
    tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> None:
    """Weights are estimated over the window and put in force by the lifespan's refresh,
    never by a read: reading /agreement changes no later verdict."""
    import random
    import time

    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("weights")
    config = write_config(root / "q.yaml", double)

    def settings(refresh_s: float) -> Settings:
        return Settings(
            database_url=f"sqlite:///{root / 'q.db'}", config=config, gauge_refresh_s=refresh_s
        )

    one = {"panel": "weighted-jury", "input": {"prompt": "p", "response": "[[q=4]]"}}
    rng = random.Random(7)
    with (
        ServerThread(create_app(settings(3600))) as server,
        httpx.Client(base_url=server.url, timeout=30) as h,
    ):
        for _ in range(36):
            q = rng.randint(2, 5)
            body = {"panel": "weighted-jury", "input": {"prompt": "p", "response": f"[[q={q}]]"}}
            assert h.post("/v1/evaluations", json=body).status_code == 200
        report = h.get("/v1/panels/weighted-jury/agreement", params={"window": "30m"}).json()
        weights = {j["judge"]: j for j in report["judges"]}
        assert report["weights_items"] == 36
        assert {j["weight_source"] for j in weights.values()} == {"dawid_skene"}
        assert weights["fixed-1"]["weight"] < weights["honest-1"]["weight"]
        assert weights["honest-1"]["accuracy"] > 0.9
        # The read changed nothing: the next verdict still uses the configured priors.
        used = {
            j["judge"]: j["weight"] for j in h.post("/v1/evaluations", json=one).json()["judges"]
        }
        assert set(used.values()) == {1.0}
    # A replica whose refresh runs: the weights in force now steer new verdicts.
    with (
        ServerThread(create_app(settings(0.2))) as server,
        httpx.Client(base_url=server.url, timeout=30) as h,
    ):
        deadline = time.monotonic() + 20
        while True:
            ev = h.post("/v1/evaluations", json=one).json()
            used = {j["judge"]: j["weight"] for j in ev["judges"]}
            if set(used.values()) != {1.0} or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert used["fixed-1"] < used["honest-1"]
    assert ev["verdict"]["value"] == 4


def test_a_window_beyond_the_item_cap_is_exact(
    tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> None:
    """QUORUM_STATS_MAX_ITEMS no longer cuts the window: the figures come from per-hour
    pattern counts and cover every item (the cap bounds only the reliability-weight fit)."""
    from api.app import create_app
    from api.settings import Settings

    root = tmp_path_factory.mktemp("agreement-cap")
    settings = Settings(
        database_url=f"sqlite:///{root / 'q.db'}",
        config=write_config(root / "q.yaml", double),
        stats_max_items=10,
    )
    qualities = [5, 5, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5]  # more than the cap of 10
    with ServerThread(create_app(settings)) as server, httpx.Client(base_url=server.url) as h:
        for q in qualities:
            r = h.post(
                "/v1/evaluations",
                json={"panel": "mean-jury", "input": {"prompt": "p", "response": f"[[q={q}]]"}},
                timeout=30,
            )
            assert r.status_code == 200
        report = h.get("/v1/panels/mean-jury/agreement", params={"window": "1h"}).json()
    assert report["truncated"] is False
    assert report["n_items"] == len(qualities)
    assert report["n_patterns"] == 5  # one per quality: the other two judges are constant
    assert report["weights_items"] is None  # a mean panel fits no reliability weights
    judges = {j["judge"]: j for j in report["judges"]}
    assert judges["honest-1"]["calls"] == len(qualities)
    codes = np.array([[q - 1, 4, 2] for q in qualities])
    expected = sm_fleiss(aggregate_raters(codes, n_cat=5)[0])
    assert abs(report["fleiss_kappa"]["value"] - expected) < 1e-9
    kappa = report["cohen_kappa"]["honest-1"]["fixed-3"]
    ref = cohen_kappa_score(codes[:, 0], codes[:, 2], weights="quadratic", labels=range(5))
    assert abs(kappa - ref) < 1e-9


def test_reviews_after_the_fact_update_the_figures(
    tmp_path_factory: pytest.TempPathFactory, double: JudgeDouble
) -> None:
    """A human verdict decided after the evaluation concluded moves it to its new pattern
    in the counts: n_human and each judge's kappa against humans follow, once each."""
    from api.app import create_app
    from api.settings import Settings
    from tests.support.reviews import route_to_humans

    root = tmp_path_factory.mktemp("agreement-reviews")
    settings = Settings(
        database_url=f"sqlite:///{root / 'q.db'}", config=write_config(root / "q.yaml", double)
    )
    with (
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as h,
    ):
        route_to_humans(h, "split", 12)
        before = h.get("/v1/panels/split/agreement", params={"window": "1h"}).json()
        assert (before["n_items"], before["n_human"]) == (12, 0)
        values = [1, 3, 5] * 4  # humans side with each judge on a third of the items
        for n, value in enumerate(values):
            item = h.post("/v1/reviews/claim", json={"reviewer": f"r{n}", "panel": "split"})
            assert item.status_code == 200, item.text
            decided = h.post(
                f"/v1/reviews/{item.json()['id']}/verdict",
                json={"reviewer": f"r{n}", "value": value},
            )
            assert decided.status_code == 200, decided.text
        after = h.get("/v1/panels/split/agreement", params={"window": "1h"}).json()
    assert (after["n_items"], after["n_human"]) == (12, 12)
    judges = {j["judge"]: j for j in after["judges"]}
    for judge, value in (("fixed-1", 0), ("fixed-3", 2), ("fixed-5", 4)):
        # A constant judge against varied humans: quadratic kappa exactly 0 (sklearn).
        ref = cohen_kappa_score(
            [value] * 12, [v - 1 for v in values], weights="quadratic", labels=range(5)
        )
        assert abs(judges[judge]["human_kappa"]["value"] - ref) < 1e-9
        assert judges[judge]["human_kappa"]["n_items"] == 12


def test_a_quiet_window_is_not_truncated(http: httpx.Client) -> None:
    report = http.get("/v1/panels/jury/agreement", params={"window": "1h"}).json()
    assert report["truncated"] is False
