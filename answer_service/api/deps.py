"""Dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from answer_service.service import AnswerService


def get_service(request: Request) -> AnswerService:
    service: AnswerService = request.app.state.service
    return service


ServiceDep = Annotated[AnswerService, Depends(get_service)]
