"""FastAPI dependencies: the resources built in the lifespan, handed to routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.config import QuorumConfig
from api.db import SessionFactory
from api.evaluate import EvaluationService
from api.reviews import ReviewService
from api.stats import StatsService


def _service(request: Request) -> EvaluationService:
    return request.app.state.service


def _config(request: Request) -> QuorumConfig:
    return request.app.state.config


def _stats(request: Request) -> StatsService:
    return request.app.state.stats


def _reviews(request: Request) -> ReviewService:
    return request.app.state.reviews


def _sessions(request: Request) -> SessionFactory:
    return request.app.state.sessions


Service = Annotated[EvaluationService, Depends(_service)]
Config = Annotated[QuorumConfig, Depends(_config)]
Sessions = Annotated[SessionFactory, Depends(_sessions)]
Stats = Annotated[StatsService, Depends(_stats)]
Reviews = Annotated[ReviewService, Depends(_reviews)]
