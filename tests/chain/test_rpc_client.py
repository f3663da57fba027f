"""The JSON-RPC client against a local HTTP server with canned answers."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hedgebot.chain.rpc import JsonRpcClient, RpcRequestError, RpcUnavailable, redact_url
from tests.chain.support import TEST_RETRY


class CannedServer:
    """Answers each POST with the next (status, body) of ``answers``; repeats the last."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, str]] = []
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                server.requests.append(json.loads(self.rfile.read(length)))
                status, body = (
                    server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                )
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v2/SECRET-API-KEY"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[CannedServer]:
    canned = CannedServer()
    yield canned
    canned.close()


def ok(result: object) -> tuple[int, str]:
    return 200, json.dumps({"jsonrpc": "2.0", "id": 1, "result": result})


def rpc_error(code: int, message: str) -> tuple[int, str]:
    return 200, json.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": message}})


def call(server: CannedServer, method: str = "eth_blockNumber") -> Any:
    async def go() -> Any:
        client = JsonRpcClient(server.url, retry=TEST_RETRY)
        try:
            return await client.call(method, [])
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_result_is_returned_and_the_request_is_json_rpc_2(server: CannedServer) -> None:
    server.answers = [ok("0x10")]
    assert call(server) == "0x10"
    assert server.requests[0]["jsonrpc"] == "2.0"
    assert server.requests[0]["method"] == "eth_blockNumber"


@pytest.mark.parametrize(
    "failure",
    [(503, "busy"), (429, "slow down"), (200, "<html>"), rpc_error(-32005, "limit exceeded")],
)
def test_transient_failures_are_retried_until_an_answer(
    server: CannedServer, failure: tuple[int, str]
) -> None:
    server.answers = [failure, failure, ok("0x1")]
    assert call(server) == "0x1"
    assert len(server.requests) == 3


def test_transient_failures_beyond_the_attempts_surface_as_unavailable(
    server: CannedServer,
) -> None:
    server.answers = [(502, "bad gateway")]
    with pytest.raises(RpcUnavailable, match="HTTP 502") as caught:
        call(server)
    assert len(server.requests) == TEST_RETRY.max_attempts
    assert "SECRET-API-KEY" not in str(caught.value)


def test_a_definite_json_rpc_error_is_not_retried(server: CannedServer) -> None:
    server.answers = [rpc_error(3, "execution reverted")]
    with pytest.raises(RpcRequestError) as caught:
        call(server, "eth_call")
    assert (caught.value.code, caught.value.message) == (3, "execution reverted")
    assert len(server.requests) == 1


def test_unreachable_node_is_unavailable_and_its_url_path_is_not_shown() -> None:
    async def go() -> None:
        client = JsonRpcClient("http://127.0.0.1:9/v2/SECRET-API-KEY", retry=TEST_RETRY)
        try:
            await client.call("eth_blockNumber")
        finally:
            await client.aclose()

    with pytest.raises(RpcUnavailable) as caught:
        asyncio.run(go())
    assert "SECRET-API-KEY" not in str(caught.value)
    assert "127.0.0.1:9" in str(caught.value)


def test_redacted_url_keeps_only_scheme_host_and_port() -> None:
    assert redact_url("https://user:pw@base.example.com:8443/v2/key?x=1") == (
        "https://base.example.com:8443"
    )


def test_websocket_urls_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="http"):
        JsonRpcClient("wss://node.example/v2/key")
