"""A local JSON-RPC proxy in front of anvil that misbehaves on request.

It speaks plain HTTP on 127.0.0.1 and forwards every request to the real node, except
when told to fail: answer 503 for the next N requests, refuse ``eth_getLogs`` ranges
wider than a limit (as hosted nodes do), or drop ``blockTimestamp`` from logs (as
nodes that predate that field do). It records the methods it saw.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Behaviour:
    fail_next: int = 0
    max_log_range: int | None = None
    strip_block_timestamp: bool = False
    methods: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_failure(self) -> bool:
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return True
            return False


class RpcProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.behaviour = Behaviour()
        self.client = httpx.Client(timeout=30.0)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, answer = proxy.handle(json.loads(body))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def handle(self, request: dict[str, Any]) -> tuple[int, Any]:
        behaviour = self.behaviour
        method = str(request.get("method"))
        with behaviour.lock:
            behaviour.methods.append(method)
        if behaviour.take_failure():
            return 503, {"error": "upstream unavailable"}
        if method == "eth_getLogs" and behaviour.max_log_range is not None:
            query = request["params"][0]
            width = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
            if width > behaviour.max_log_range:
                return 200, {
                    "jsonrpc": "2.0",
                    "id": request.get("id"),
                    "error": {
                        "code": -32602,
                        "message": f"block range too large: max {behaviour.max_log_range}",
                    },
                }
        answer = self.client.post(self.upstream, json=request).json()
        if method == "eth_getLogs" and behaviour.strip_block_timestamp:
            for entry in answer.get("result") or []:
                entry.pop("blockTimestamp", None)
        return 200, answer

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()
