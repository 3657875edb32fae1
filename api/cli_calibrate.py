"""`quorum calibrate PANEL`: a dry run unless --apply; --reset is the undo."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from api.cli_common import run_job, settings_of

if TYPE_CHECKING:
    from api.store.engine import SessionFactory
    from api.store.tables import CalibrationRow


def cmd_calibrate(args: argparse.Namespace) -> int:
    from api.config import load_config as load
    from api.errors import QuorumError
    from api.services.calibration import CalibrationService, public

    settings = settings_of(args)
    config = load(settings.config)
    configured = config.panel(args.panel).routing.min_confidence

    async def job(sessions: SessionFactory) -> tuple[CalibrationRow, float | None]:
        service = CalibrationService(config, sessions)
        await service.refresh()
        before = service.in_force(args.panel)
        if args.reset:
            return await service.reset(args.panel), before
        return await service.run(args.panel, args.alpha, args.delta, args.apply), before

    try:
        row, before = run_job(job, settings, creates=False)
    except QuorumError as exc:
        print(f"quorum: {exc.detail}", file=sys.stderr)
        return 2
    in_force = _threshold(configured if before is None else before)
    undo = f"quorum calibrate {row.panel} --reset"
    if row.n_items == 0:
        print(
            f"panel {row.panel} calibration v{row.version}: reset: the configured threshold "
            f"{_threshold(configured)} is in force again (it was {in_force})"
        )
        return 0
    threshold = "none certified" if row.threshold is None else f"{row.threshold:.4f}"
    print(f"panel {row.panel} calibration v{row.version}: threshold {threshold}")
    print(
        f"  guarantee: agreement with humans >= {1 - row.alpha:.0%} "
        f"with probability >= {1 - row.delta:.0%}"
    )
    print(
        f"  coverage (decided automatically): {row.coverage:.1%} of {row.n_items} "
        f"human-reviewed items ({row.n_audit} from the random audit)"
    )
    if row.risk is not None:
        print(f"  disagreement above it: {row.risk:.3f} (upper bound {row.risk_upper:.3f})")
    needed = public(row).reviews_needed
    if needed is not None:
        print(
            f"  not certified: at alpha {row.alpha:g} and delta {row.delta:g} certification "
            f"needs at least {needed} more human reviews agreeing with the panel"
        )
    if row.applied:
        print(f"  applied: the threshold is in force (it was {in_force}); undo: {undo}")
    elif needed is not None:
        print(f"  not applied: nothing certified; the threshold in force stays {in_force}")
        return 1 if args.apply else 0
    else:
        print(
            f"  not applied (dry run): the threshold in force stays {in_force}; "
            "add --apply to put this one in force"
        )
    return 0


def _threshold(value: float | None) -> str:
    if value is None:
        return "none (no confidence floor)"
    return "none certified: every item to humans" if value > 1 else f"{value:g}"
