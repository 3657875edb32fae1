"""The jury model: a Dawid-Skene latent-class model of the panel, per judge and order.

`fit_votes` / `fit` estimate it by EM from stored votes and clamped human labels over
pattern-grouped sufficient statistics (`tabulate`); `posterior` reads one item's votes
into a verdict whose confidence is the (tempered: `routing.jury.temperature`) posterior
probability of that verdict;
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
from routing.jury.fit import (
    cold_start,
    default_classes,
    discretised_normal,
    fit,
    fit_votes,
    log_joint_rows,
    symmetric_confusion,
    votes_data,
)
from routing.jury.model import JuryModel, JuryPriors, JuryVerdict, Worker
from routing.jury.posterior import (
    can_change,
    log_posterior,
    posterior,
    posterior_from,
    verdict_index,
    worker_confusion,
)
from routing.jury.select import (
    PriorSelection,
    Selection,
    candidates_for,
    describe_priors,
    fit_by_policy,
    fit_selected,
    select,
    selects,
)
from routing.jury.temperature import fit_temperature

__all__ = [
    "JuryData",
    "JuryModel",
    "JuryPriors",
    "JuryVerdict",
    "Observation",
    "PriorSelection",
    "Selection",
    "Worker",
    "can_change",
    "candidates_for",
    "cold_start",
    "default_classes",
    "describe_priors",
    "discretised_normal",
    "fit",
    "fit_by_policy",
    "fit_selected",
    "fit_temperature",
    "fit_votes",
    "label_distribution",
    "log_joint_rows",
    "log_posterior",
    "observations",
    "posterior",
    "posterior_from",
    "select",
    "selects",
    "symmetric_confusion",
    "tabulate",
    "verdict_index",
    "votes_data",
    "worker_confusion",
    "worker_of",
]
