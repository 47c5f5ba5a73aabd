"""What a request carries about what it approves and who asks: the artifact an approval binds,
the CI run or the agent's tool call behind it; pure, imports pydantic and `workflows` only.

Approvers see these on the card and the ledger keeps them, so an agent's preview is masked
again here, whatever the client says it did: a secret that reaches a chat message or the
ledger has leaked for good.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from workflows.redaction import mask_text


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Artifact(_Frozen):
    """What is approved, by content: the client checks this digest before it acts."""

    digest: str
    uri: str | None = None


class CiRun(_Frozen):
    """The pipeline run that asks."""

    provider: str
    repository: str | None = None
    run_id: str | None = None
    run_url: str | None = None
    sha: str | None = None


class AgentCall(_Frozen):
    """The tool call an AI agent wants to make: its digest binds it, its preview is read."""

    name: str
    session: str | None = None
    tool: str | None = None
    arguments_digest: str | None = None
    preview: str | None = None

    @field_validator("preview")
    @classmethod
    def _masked(cls, value: str | None) -> str | None:
        # Every way in (the API, a stored state read back) passes here, so none keeps a secret.
        return None if value is None else mask_text(value)


def provenance_data(
    artifact: Artifact | None, ci: CiRun | None, agent: AgentCall | None
) -> dict[str, Any]:
    """The ledger's record of them: only what was given, the preview already masked."""
    data: dict[str, Any] = {}
    if artifact is not None:
        data["artifact"] = artifact.model_dump(exclude_none=True)
    if ci is not None:
        data["ci"] = ci.model_dump(exclude_none=True)
    if agent is not None:
        data["agent"] = agent.model_dump(exclude_none=True)
    return data
