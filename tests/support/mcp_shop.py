"""A real MCP server for the tool tests (mcp's MCPServer, once called FastMCP): a shop's order lookup and a few
tools that fail on purpose. Run as a script: stdio by default, ``--http PORT`` for streamable HTTP on loopback.

Each call appends ``<pid> <tool>`` to the file named by ``SHOP_CALLS`` (when set), so a test can tell how many
server processes served its calls.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

ORDERS = {"A1": {"status": "shipped", "eta": "tomorrow"}, "B2": {"status": "packing"}}
shop = MCPServer("shop", log_level="ERROR")


def _note(tool: str) -> None:
    path = os.environ.get("SHOP_CALLS")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {tool}\n")


@shop.tool(description="Find an order by its id")
def lookup_order(order_id: str) -> dict[str, Any]:
    """The order's status."""
    _note("lookup_order")
    return ORDERS.get(order_id, {"status": "unknown"})


@shop.tool()
def out_of_stock(sku: str) -> str:
    """Always fails, as a tool whose backend says no."""
    _note("out_of_stock")
    raise ToolError(f"{sku} is out of stock")


@shop.tool()
def slow() -> str:
    """Answers after 5 s, past any test's timeout."""
    _note("slow")
    time.sleep(5)
    return "late"


@shop.tool()
def crash() -> str:
    """Ends the server process in the middle of the call."""
    _note("crash")
    os._exit(3)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        shop.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        shop.run()
