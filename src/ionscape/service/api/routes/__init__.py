"""One router per resource."""

from typing import Annotated

from fastapi import Path, Query

MAX_INT = 2**31 - 1  # the largest value of a database INTEGER: bigger offsets and ids cannot match anything

PageOffset = Annotated[int, Query(ge=0, le=MAX_INT)]
AnnotationId = Annotated[int, Path(ge=1, le=MAX_INT)]
