"""What the service does, one module per job; routes call these, these call the store.

Services receive the session factory and own their transactions (repositories never
commit). The modules, in the order a request meets them:

- `admission`: room for new evaluations, or `Overloaded`.
- `records`: the rows built from a request and a verdict (pure).
- `evaluator`: accept, persist, judge, conclude (`EvaluationService`), with `leases`;
  `asking` puts the panel's questions to its judges (at once, or in waves), and
  `outcomes` stores how each evaluation ended (its verdict with the votes, or a failure).
- `present`: stored rows as API answers; `evaluation_reads`: stored evaluations read
  back as answers (by id, a page, an idempotency key's twin).
- `reviews`, `consensus` and `blind`: the human review queue, its agreement rule, and
  what a reviewer may see before deciding (`review_view`: other
  reviewers' decisions an adjudicator sees, the order a pairwise item is shown in).
- `stats` (read-only window statistics), `reliability` (the weights in force),
  `calibration`, `gauges`, `webhooks`, `audit`, `keys`.
"""

__all__ = [
    "admission",
    "asking",
    "audit",
    "blind",
    "calibration",
    "consensus",
    "evaluation_reads",
    "evaluator",
    "gauges",
    "keys",
    "leases",
    "outcomes",
    "present",
    "records",
    "reliability",
    "review_view",
    "reviews",
    "stats",
    "webhooks",
]
