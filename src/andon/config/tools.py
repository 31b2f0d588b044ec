"""Tool definitions of a version step (issue 14): JSON Schema arguments, a Python function, an HTTP endpoint, or an
MCP server whose tools are listed when the step runs."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from andon.config.graders import DOTTED_PATH
from andon.messages import t

TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # what OpenAI's and Anthropic's tool APIs accept
TAG_PREFIX = "tool="  # pydantic puts a union's tag into error locations; the loader drops segments so marked


class ToolSpec(BaseModel):
    """One tool the model may call; exactly one of ``python`` or ``http`` implements it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the arguments; a call is checked against it before the tool runs.",
    )
    python: str | None = Field(default=None, description="`package.module:function` called with the arguments.")
    http: str | None = Field(default=None, description="An http(s) URL the arguments are POSTed to as JSON.")
    allowed_networks: list[str] = Field(
        default_factory=list,
        description="CIDRs an `http` tool may reach although private or local (e.g. 10.0.0.0/8 for an internal "
        "host); every other private, loopback or link-local address is refused, as for the gateway's image URLs.",
    )
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    max_result_chars: int = Field(default=16_000, ge=1, le=1_000_000)
    approval: Literal["none", "human"] = Field(
        default="none", description="`human`: a call parks the run in the review queue until a person decides it."
    )

    @model_validator(mode="after")
    def _one_implementation(self) -> ToolSpec:
        if (self.python is None) == (self.http is None):
            raise ValueError(t("agents.tools.one_impl", name=self.name))
        if self.python is not None and not DOTTED_PATH.match(self.python):
            raise ValueError(t("house2.schema.dotted"))
        if self.http is not None and not self.http.startswith(("http://", "https://")):
            raise ValueError(t("house2.schema.http_url"))
        for network in self.allowed_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(t("tools14.config.network", name=self.name, network=network)) from None
        if self.parameters.get("type", "object") != "object":
            raise ValueError(t("agents.tools.object_schema", name=self.name))
        return self


class McpServer(BaseModel):
    """How to reach an MCP server: a ``command`` started over stdio, or the ``url`` of its streamable HTTP endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: list[str] | None = Field(default=None, min_length=1, description="e.g. [python, -m, my_server]")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Variables set for the server, whose environment is otherwise only PATH, HOME and a few "
        "like them. The values are part of the version: put no secrets here, name them in `pass_env`.",
    )
    pass_env: list[str] = Field(
        default_factory=list,
        description="Names of andon's environment variables handed to the server (e.g. a token); only the "
        "names are part of the version.",
    )
    cwd: str | None = Field(default=None, description="Folder the command runs in (default: where andon runs).")
    url: str | None = Field(default=None, description="Streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp.")
    startup_timeout_s: float = Field(default=30.0, gt=0, le=600, description="Time to start and list its tools.")
    allowed_networks: list[str] = Field(
        default_factory=list,
        description="CIDRs a `url` server may be reached at although private or local (e.g. 127.0.0.1/32 for a "
        "server on this machine); every other private, loopback or link-local address is refused, as for `http` tools.",
    )

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError(t("tools14.config.transport"))
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(t("house2.schema.http_url"))
        if self.url is not None and (self.env or self.pass_env or self.cwd):
            raise ValueError(t("tools14.config.stdio_only"))
        if self.command is not None and self.allowed_networks:
            raise ValueError(t("sim14.mcp.networks_url_only"))
        for network in self.allowed_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(t("sim14.mcp.network", server=self.label, network=network)) from None
        return self

    @property
    def label(self) -> str:
        """The server as errors name it: its command line or its URL."""
        return " ".join(self.command) if self.command is not None else str(self.url)


class McpTools(BaseModel):
    """The tools of one MCP server (all, or those in ``include``), offered to the model like the step's own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mcp: McpServer
    include: list[str] | None = Field(default=None, description="The server's tools to offer; unset: all of them.")
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    max_result_chars: int = Field(default=16_000, ge=1, le=1_000_000)


def _entry_kind(value: Any) -> str:
    has_mcp = (isinstance(value, dict) and "mcp" in value) or isinstance(value, McpTools)
    return f"{TAG_PREFIX}mcp" if has_mcp else f"{TAG_PREFIX}spec"


# One entry of a step's `tools:` list: a tool, or an MCP server's tools (chosen by the `mcp` key).
ToolEntry = Annotated[
    Annotated[ToolSpec, Tag(f"{TAG_PREFIX}spec")] | Annotated[McpTools, Tag(f"{TAG_PREFIX}mcp")],
    Discriminator(_entry_kind),
]


def check_tools(tools: list[ToolEntry]) -> list[ToolEntry]:
    """Tool names must be unique within a step (the model calls them by name)."""
    names = [tool.name for tool in tools if isinstance(tool, ToolSpec)]
    if len(set(names)) != len(names):
        raise ValueError(t("agents.tools.names", names=names))
    return tools
