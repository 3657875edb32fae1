"""The offline backtest: replay recorded judge votes with human labels through Quorum's
routing code, offline, and score single judges and panels against the humans.

`datasets` loads the JSONL record format (`judges.record`), `replay` scores each judge and
panel, `strategies` replays panels asking in waves, `routing_curve` computes the routing
curve and the calibrated threshold, `results` holds what was measured, `report` and
`plots` show it, and `cli` is the `quorum backtest` command. Imports rubrics, judges and
routing only: no web framework, database, metrics or model provider.
"""

from backtest.datasets import Dataset, DatasetError, DatasetItem, find_datasets, load_dataset
from backtest.replay import PERMISSIVE, human_reference, run_backtest
from backtest.report import format_result, write_json
from backtest.results import DatasetResult, Row
from backtest.routing_curve import RoutingAnalysis, RoutingSettings, analyse_routing, routing_curve
from backtest.strategies import STRATEGIES, StrategyReplay, replay_strategy

__all__ = [
    "PERMISSIVE",
    "STRATEGIES",
    "Dataset",
    "DatasetError",
    "DatasetItem",
    "DatasetResult",
    "RoutingAnalysis",
    "RoutingSettings",
    "Row",
    "StrategyReplay",
    "analyse_routing",
    "find_datasets",
    "format_result",
    "human_reference",
    "load_dataset",
    "replay_strategy",
    "routing_curve",
    "run_backtest",
    "write_json",
]
