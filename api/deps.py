"""FastAPI dependencies: the resources built in the lifespan, handed to routes.

They are `async def` although they do not await: FastAPI runs a plain `def` dependency
in its thread pool, a thread hop per request for an attribute read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.config import QuorumConfig
from api.services.assessments import AssessmentService
from api.services.evaluator import EvaluationService
from api.services.jury import JuryService
from api.services.reviews import ReviewService
from api.services.stats import StatsService
from api.store.engine import SessionFactory


async def _service(request: Request) -> EvaluationService:
    return request.app.state.service


async def _config(request: Request) -> QuorumConfig:
    return request.app.state.config


async def _stats(request: Request) -> StatsService:
    return request.app.state.stats


async def _reviews(request: Request) -> ReviewService:
    return request.app.state.reviews


async def _jury(request: Request) -> JuryService:
    return request.app.state.jury


async def _assessments(request: Request) -> AssessmentService:
    return request.app.state.assessments


async def _sessions(request: Request) -> SessionFactory:
    return request.app.state.sessions


Service = Annotated[EvaluationService, Depends(_service)]
Config = Annotated[QuorumConfig, Depends(_config)]
Sessions = Annotated[SessionFactory, Depends(_sessions)]
Stats = Annotated[StatsService, Depends(_stats)]
Reviews = Annotated[ReviewService, Depends(_reviews)]
Jury = Annotated[JuryService, Depends(_jury)]
Assessments = Annotated[AssessmentService, Depends(_assessments)]
