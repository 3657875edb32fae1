"""The jury model: a Dawid-Skene latent-class model of the panel, per judge and order.

`fit_votes` / `fit` estimate it by EM from stored votes and clamped human labels over
pattern-grouped sufficient statistics (`tabulate`); `posterior` reads one item's votes
into a verdict whose confidence is the posterior probability of that verdict;
`can_change` bounds what judges not yet asked could do (the cascade's stop rule in
`routing.sequential`). `cold_start` is the model before any data. docs/statistics.md
describes the model and its assumptions.
"""

from routing.jury.data import (
    JuryData,
    Observation,
    label_distribution,
    observations,
    tabulate,
    worker_of,
)
from routing.jury.fit import cold_start, default_classes, fit, fit_votes, symmetric_confusion
from routing.jury.model import JuryModel, JuryPriors, JuryVerdict, Worker
from routing.jury.posterior import (
    can_change,
    log_posterior,
    posterior,
    posterior_from,
    worker_confusion,
)

__all__ = [
    "JuryData",
    "JuryModel",
    "JuryPriors",
    "JuryVerdict",
    "Observation",
    "Worker",
    "can_change",
    "cold_start",
    "default_classes",
    "fit",
    "fit_votes",
    "label_distribution",
    "log_posterior",
    "observations",
    "posterior",
    "posterior_from",
    "symmetric_confusion",
    "tabulate",
    "worker_confusion",
    "worker_of",
]
