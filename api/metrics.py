"""Prometheus metrics: declared once here, on an injectable registry.

Labels are bounded: panel, rubric, judge and reason come from configuration or closed
enums; `app` comes from request metadata, and `model` and `use_case` (on the verdict
counters) from the request's `subject.model` and `use_case`; each is capped (an
allow-list, else the first N values seen, then "other"; "none" when absent), so a client
cannot explode cardinality.

Several worker processes: when PROMETHEUS_MULTIPROC_DIR is set (`quorum serve
--workers N` sets it), prometheus-client's multiprocess mode aggregates every worker's
samples at scrape time; gauges use "mostrecent" so the freshest refresh wins.

No `_created` series: prometheus-client would add one per counter and histogram series,
doubling what is stored for a timestamp nobody queries (Prometheus computes rates
without it). `disable_created_metrics()` below turns it off for the whole process, the
same switch as PROMETHEUS_DISABLE_CREATED_SERIES=true; multiprocess mode writes none.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from api.metric_labels import AppLabels, CappedLabels
from judges import Vote
from routing import PanelVerdict
from routing.governance import CorrectedRate, Rate
from rubrics import Rubric

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120)
SCORE_BUCKETS = (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)
OPEN_REVIEW_STATUSES = ("pending", "claimed")
"""What `quorum_review_queue_depth` counts: items still waiting for a human. Decided items
leave the queue; they are counted by `quorum_reviews_decided_total` instead."""

disable_created_metrics()


class Metrics:
    """Every Quorum metric, registered on `registry`."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        apps: CappedLabels | None = None,
        *,
        models: CappedLabels | None = None,
        use_cases: CappedLabels | None = None,
        tenants: CappedLabels | None = None,
    ) -> None:
        r = registry if registry is not None else CollectorRegistry()
        self.registry = r
        self.apps = apps or AppLabels()
        self.models = models or CappedLabels()
        """Caps the `model` label (the subject model that wrote the judged response)."""
        self.use_cases = use_cases or CappedLabels()
        """Caps the `use_case` label (the request's governance use case)."""
        self.tenants = tenants or CappedLabels()
        """Caps the `tenant` label of the drift series (each tenant's streams are charted
        apart, so two tenants' streams of one model must not share a series)."""
        self.evaluations = Counter(
            "quorum_evaluations_total",
            "Evaluations completed, by routing decision.",
            ["panel", "rubric", "app", "decision"],
            registry=r,
        )
        self.failed = Counter(
            "quorum_evaluations_failed_total",
            "Evaluations marked failed (an error inside Quorum, or interrupted too often).",
            ["panel"],
            registry=r,
        )
        self.verdicts = Counter(
            "quorum_verdicts_total",
            "Panel verdicts on compliance rubrics, by compliance.",
            ["panel", "rubric", "app", "model", "use_case", "compliant"],
            registry=r,
        )
        self.verdict_score = Histogram(
            "quorum_verdict_score",
            "Panel verdict as a normalised score (0 worst, 1 best).",
            ["panel", "rubric", "app"],
            buckets=SCORE_BUCKETS,
            registry=r,
        )
        self.not_applicable = Counter(
            "quorum_verdicts_not_applicable_total",
            "Panel verdicts of n/a (the criterion does not apply): out of compliance rates.",
            ["panel", "rubric", "app", "model", "use_case"],
            registry=r,
        )
        self.assessments = Counter(
            "quorum_assessments_total",
            "Assessments whose profile compliance became known, by compliance.",
            ["profile", "model", "use_case", "compliant"],
            registry=r,
        )
        self.assessment_score = Histogram(
            "quorum_assessment_score",
            "Weighted compliance score of assessments (0..1), when their compliance is known.",
            ["profile"],
            buckets=SCORE_BUCKETS,
            registry=r,
        )
        self.routed = Counter(
            "quorum_routed_total",
            "Items routed to human review, by reason.",
            ["panel", "reason"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "quorum_review_queue_depth",
            "Open review items (pending or claimed), by status.",
            ["panel", "status"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.oldest_pending = Gauge(
            "quorum_review_oldest_pending_seconds",
            "Age of the oldest pending review item.",
            ["panel"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.reviews_decided = Counter(
            "quorum_reviews_decided_total",
            "Review items given their final human verdict.",
            ["panel"],
            registry=r,
        )
        self.judge_requests = Counter(
            "quorum_judge_requests_total",
            "Judge calls, by outcome (ok, unscored, error kind).",
            ["judge", "outcome"],
            registry=r,
        )
        self.judge_latency = Histogram(
            "quorum_judge_latency_seconds",
            "Judge call latency, retries included.",
            ["judge"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.judge_unscored = Counter(
            "quorum_judge_unscored_total",
            "Judge answers that could not be used, by reason.",
            ["judge", "reason"],
            registry=r,
        )
        self.judge_tokens = Counter(
            "quorum_judge_tokens_total",
            "Tokens used by judge calls.",
            ["judge", "kind"],
            registry=r,
        )
        self.judge_cost = Counter(
            "quorum_judge_cost_usd_total",
            "Judge call cost in US dollars (where known).",
            ["judge"],
            registry=r,
        )
        self.cache = Counter(
            "quorum_vote_cache_requests_total",
            "Exact-duplicate vote cache look-ups, by result (hit or miss).",
            ["backend", "result"],
            registry=r,
        )
        self.refused = Counter(
            "quorum_evaluations_refused_total",
            "Requests refused by admission control (503 overloaded; nothing stored).",
            ["panel"],
            registry=r,
        )
        self.held = Gauge(
            "quorum_evaluations_held",
            "Evaluations a process holds: being judged or waiting for a judging slot.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.judge_up = Gauge(
            "quorum_judge_up",
            "1 when the judge's last check passed (key present, a minimal call answered).",
            ["judge"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.panel_kappa = Gauge(
            "quorum_panel_fleiss_kappa",
            "Panel Fleiss' kappa over the stats window.",
            ["panel"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.human_kappa = Gauge(
            "quorum_judge_human_kappa",
            "Judge's Cohen's kappa against human verdicts.",
            ["panel", "judge"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.position_bias = Gauge(
            "quorum_judge_position_bias",
            "Share of a judge's inconsistent comparisons won by the first-shown response.",
            ["panel", "judge"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self._governance(r)

    def _governance(self, r: CollectorRegistry) -> None:
        """Governance: the compliance matrix, drift, zones (docs/governance.md). Labels
        `model`, `use_case` and `tenant` are capped like `app`; the compliance figures sum
        every tenant, the drift series are per tenant (each tenant's stream has its own
        chart)."""
        cell = ["profile", "model", "use_case"]
        self.compliance: dict[str, Gauge] = {
            name: Gauge(
                f"quorum_compliance_{name}",
                text,
                cell,
                registry=r,
                multiprocess_mode="mostrecent",
            )
            for name, text in (
                ("rate", "Profile compliance rate per subject model and use case (window)."),
                ("rate_low", "Lower end of the compliance rate's 95% Wilson interval."),
                ("rate_high", "Upper end of the compliance rate's 95% Wilson interval."),
                ("items", "Assessments the compliance rate rests on."),
                ("corrected_rate", "Compliance rate corrected on the audit sample (PPI)."),
                ("corrected_rate_low", "Lower end of the corrected rate's 95% interval."),
                ("corrected_rate_high", "Upper end of the corrected rate's 95% interval."),
                ("audited_items", "Audited assessments the corrected rate rests on."),
            )
        }
        stream = ["tenant", "model", "use_case", "criterion"]
        self.drift_statistic = Gauge(
            "quorum_drift_cusum_statistic",
            "CUSUM statistic of a verdict stream as a share of its threshold (1: alarm).",
            stream,
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.drift_events = Counter(
            "quorum_drift_events_total",
            "Drift events: a stream's non-compliance rate rose (CUSUM alarm).",
            stream,
            registry=r,
        )
        self.models_in_zone = Gauge(
            "quorum_models_in_zone",
            "Tenants that have the subject model in the zone (0 or more).",
            ["model", "zone"],
            registry=r,
            multiprocess_mode="mostrecent",
        )

    def observe_drift(
        self,
        tenant: str | None,
        model: str,
        use_case: str | None,
        criterion: str,
        statistic: float,
        alarms: int,
    ) -> None:
        """A stream's CUSUM after a sweep (`tenant` None or "": rows of no tenant, "none"),
        and its `alarms` in that sweep, each one event. The chart restarts at an alarm, so
        the statistic after one is low: a sweep with an alarm shows 1 (the threshold) until
        the next sweep, so that a dashboard or an alert on >= 1 sees it. The counter exists
        at 0 before any alarm, so that `increase()` sees the first one."""
        labels = (self.tenants(tenant), self.models(model), self.use_cases(use_case), criterion)
        self.drift_statistic.labels(*labels).set(max(statistic, 1.0) if alarms else statistic)
        self.drift_events.labels(*labels).inc(alarms)

    def observe_compliance(
        self,
        profile: str,
        model: str,
        use_case: str | None,
        rate: Rate | None,
        corrected: CorrectedRate | None,
    ) -> None:
        """One cell of the compliance matrix (`Rate` and `CorrectedRate`, or None)."""
        labels = (profile, self.models(model), self.use_cases(use_case))
        g = self.compliance
        if rate is not None:
            g["rate"].labels(*labels).set(rate.value)
            g["rate_low"].labels(*labels).set(rate.low)
            g["rate_high"].labels(*labels).set(rate.high)
            g["items"].labels(*labels).set(rate.n)
        if corrected is not None:
            g["corrected_rate"].labels(*labels).set(corrected.value)
            g["corrected_rate_low"].labels(*labels).set(corrected.low)
            g["corrected_rate_high"].labels(*labels).set(corrected.high)
            g["audited_items"].labels(*labels).set(corrected.n_audited)

    def observe_zone(self, model: str, zone: str, tenants: int) -> None:
        self.models_in_zone.labels(self.models(model), zone).set(tenants)

    def observe(
        self,
        panel: str,
        rubric: Rubric,
        app: str | None,
        verdict: PanelVerdict,
        votes: Sequence[Vote],
        *,
        model: str | None = None,
        use_case: str | None = None,
    ) -> None:
        """Record one completed evaluation and its judge calls; `model` and `use_case`
        (the request's subject model and use case) label the verdict counters."""
        label = self.apps(app)
        self.evaluations.labels(panel, rubric.id, label, verdict.routing.decision).inc()
        if verdict.compliant is not None:
            compliant = str(verdict.compliant).lower()
            subject = self._subject(model, use_case)
            self.verdicts.labels(panel, rubric.id, label, *subject, compliant).inc()
        elif rubric.is_not_applicable(verdict.value):
            self.not_applicable.labels(
                panel, rubric.id, label, *self._subject(model, use_case)
            ).inc()
        score = rubric.normalised(verdict.value)
        if score is not None and rubric.ordinal:
            self.verdict_score.labels(panel, rubric.id, label).observe(score)
        for reason in verdict.routing.reasons:
            self.routed.labels(panel, reason.code.value).inc()
        for v in votes:
            self.judge_requests.labels(v.judge, v.outcome).inc()
            self.judge_latency.labels(v.judge).observe(v.latency_ms / 1000)
            if v.unscored is not None:
                self.judge_unscored.labels(v.judge, v.unscored.value).inc()
            # Counters only go up: a figure a provider got wrong (the client keeps none
            # that is negative, but a vote can come from elsewhere) is not counted.
            if v.prompt_tokens and v.prompt_tokens > 0:
                self.judge_tokens.labels(v.judge, "prompt").inc(v.prompt_tokens)
            if v.completion_tokens and v.completion_tokens > 0:
                self.judge_tokens.labels(v.judge, "completion").inc(v.completion_tokens)
            if v.cost_usd and v.cost_usd > 0 and math.isfinite(v.cost_usd):
                self.judge_cost.labels(v.judge).inc(v.cost_usd)

    def _subject(self, model: str | None, use_case: str | None) -> tuple[str, str]:
        """The capped (`model`, `use_case`) labels; a value takes a place under the cap
        only when a series carries it."""
        return self.models(model), self.use_cases(use_case)

    def observe_assessment(
        self,
        profile: str,
        compliant: bool | None,
        score: float | None,
        *,
        model: str | None = None,
        use_case: str | None = None,
    ) -> None:
        """Record an assessment whose compliance became known (once per assessment)."""
        if compliant is not None:
            subject = self._subject(model, use_case)
            self.assessments.labels(profile, *subject, str(compliant).lower()).inc()
        if score is not None:
            self.assessment_score.labels(profile).observe(score)


def exposition(metrics: Metrics) -> tuple[bytes, str]:
    """The text exposition: every worker's samples in multiprocess mode, else ours."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST
