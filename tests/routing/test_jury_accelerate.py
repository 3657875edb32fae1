"""SQUAREM on the jury's EM (`routing.jury.accelerate`): the same fixed point as plain EM
in fewer steps, and in tens of steps where plain EM crawled for thousands (votes whose
stated probabilities are near uniform)."""

from __future__ import annotations

import numpy as np
import pytest

from routing.jury import JuryPriors, Worker, fit, tabulate
from routing.jury.accelerate import squarem
from routing.jury.fit import _e_step, _initial_posterior, _m_step
from tests.routing.jury_support import simulate, symmetric


def plain_em(data, priors: JuryPriors, ordinal: bool):  # type: ignore[no-untyped-def]
    """The unaccelerated iteration, as `fit` ran it before: (pi, theta, steps)."""
    weight = np.ones(len(data.workers))
    post = _initial_posterior(data)
    soft = data.soft_probs[:, None, :].repeat(len(data.classes), axis=1)
    pi, theta, _ = _m_step(data, post, soft, priors, ordinal)
    for step in range(1, priors.max_iter + 1):
        post, soft, _, _ = _e_step(data, pi, theta, data.labelled, weight)
        new_pi, new_theta, _ = _m_step(data, post, soft, priors, ordinal)
        change = max(np.abs(new_pi - pi).max(), np.abs(new_theta - theta).max())
        pi, theta = new_pi, new_theta
        if change < priors.tol:
            return pi, theta, step
    raise AssertionError("plain EM did not converge")


def test_a_linear_contraction_is_solved_in_a_few_cycles() -> None:
    """x -> A x + b with spectral radius 0.995 needs ~3,000 plain steps to move less than
    1e-7 a step; SQUAREM's extrapolation, its length bound growing fourfold a cycle,
    solves it in a few cycles."""
    a = np.array([[0.995, 0.0], [0.0, 0.5]])
    b = np.array([0.0025, 0.2])  # fixed point (0.5, 0.4)

    def step(x: np.ndarray) -> tuple[np.ndarray, int]:
        return a @ x + b, 0

    end = squarem(step, np.array([0.9, 0.1]), 0, tol=1e-10, max_steps=10_000)
    assert end.converged and end.steps <= 60  # plain iteration: about 3,400 steps
    assert end.x == pytest.approx([0.5, 0.4], abs=1e-8)
    capped = squarem(step, np.array([0.9, 0.1]), 0, tol=1e-10, max_steps=2)
    assert (capped.steps, capped.converged) == (2, False)


@pytest.mark.parametrize("priors", [JuryPriors(), JuryPriors.none()], ids=["map", "ml"])
def test_the_fit_reaches_plain_ems_fixed_point_in_fewer_steps(priors: JuryPriors) -> None:
    confusions = [
        symmetric(0.8, 3),
        symmetric(0.65, 3),
        np.array([[0.7, 0.2, 0.1], [0.15, 0.7, 0.15], [0.1, 0.3, 0.6]]),
    ]
    _, items = simulate(confusions, [0.5, 0.3, 0.2], n=300, seed=3)
    data = tabulate(items, 3, (0, 1, 2))
    pi, theta, plain_steps = plain_em(data, priors, ordinal=False)
    model = fit(data, (1, 2, 3), ordinal=False, numeric=False, priors=priors)
    assert model.converged and model.iterations < plain_steps
    # Both stop within tol a step of the fixed point; plain EM's steps shrink slowly, so
    # it stops further from it: agreement to 1e-4, not 1e-7.
    assert np.array(model.class_priors) == pytest.approx(pi, abs=1e-4)
    assert model.confusion_array() == pytest.approx(theta, abs=1e-4)


def test_votes_near_uniform_converge_in_tens_of_steps_not_thousands() -> None:
    """Votes with stated probabilities of 0.5-0.55 carry almost no evidence: the
    likelihood is nearly flat and plain EM took thousands of rounds per fit (a probe set
    of 200 such items took 75 s to backtest)."""
    rng = np.random.default_rng(0)
    workers = [Worker(judge=f"j{w}") for w in range(4)]
    items = []
    for _ in range(200):
        obs = {}
        for w in workers:
            p = float(rng.uniform(0.5, 0.55))
            obs[w] = (p, 1 - p) if rng.random() < 0.5 else (1 - p, p)
        items.append(obs)
    data = tabulate(items, 2, (0, 1))
    priors = JuryPriors()
    _, _, plain_steps = plain_em(data, priors, ordinal=False)
    model = fit(data, (False, True), ordinal=False, numeric=False, priors=priors)
    assert model.converged and plain_steps > 1_000 and model.iterations < plain_steps / 5
