"""Request bodies of the REST API (pydantic). Answers are the service's own ``to_dict`` forms."""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

Tags = Optional[Union[list[str], str]]
Timestamp = Optional[Union[float, str]]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemoryCreate(Body):
    content: str = Field(description="The text to remember")
    tags: Tags = Field(None, description="List of tags, or one comma-separated string")
    memory_type: Optional[str] = None
    metadata: Optional[dict[str, Any]] = None
    created_at: Timestamp = Field(None, description="Unix seconds or ISO 8601; default now")


class MemoryBatch(Body):
    memories: list[MemoryCreate] = Field(min_length=1, max_length=1000)


class MemoryUpdate(Body):
    """Only the fields present are changed; metadata is merged unless merge_metadata is false."""

    tags: Tags = None
    memory_type: Optional[str] = None
    metadata: Optional[dict[str, Any]] = None
    merge_metadata: bool = True


class SearchRequest(Body):
    query: str
    n_results: int = Field(5, ge=1)
    tags: Tags = None
    memory_type: Optional[str] = None
    min_relevance: Optional[float] = Field(None, ge=0.0, le=1.0)
    mode: Optional[str] = Field(None, description="semantic, lexical or hybrid (the service's default if omitted)")


class TagSearchRequest(Body):
    tags: Union[list[str], str]
    match_all: bool = False
    limit: Optional[int] = Field(None, ge=1)


class TimeSearchRequest(Body):
    start: Timestamp = Field(None, description="Unix seconds or ISO 8601; open if omitted")
    end: Timestamp = None
    limit: Optional[int] = Field(None, ge=1)


class RecallRequest(Body):
    query: str = Field(description="Natural language with an optional time expression, e.g. 'last week'")
    n_results: int = Field(5, ge=1)
    now: Timestamp = Field(None, description="Reference time for the expression (default now)")
    mode: Optional[str] = Field(None, description="Ranking mode, as in /api/search")


class ExactMatchRequest(Body):
    content: str


class DeleteByTagRequest(Body):
    tags: Union[list[str], str]
