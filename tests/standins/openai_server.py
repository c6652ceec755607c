"""A scripted OpenAI-compatible chat endpoint for tests, speaking the real wire protocol.

The only stand-in the project allows: a paid remote LLM cannot run here. It serves
`POST /v1/chat/completions` with `stream: true` as server-sent events (`data: {chunk}` lines,
then `data: [DONE]`), with content deltas and tool-call deltas fragmented as real servers send
them, and records every request so tests can assert what the agent asked. Asked for usage
(`stream_options.include_usage`), it sends `usage: null` on every chunk and a last chunk with no
choices and the token counts, as OpenAI does (tokens estimated at 4 characters each).
A request without `stream: true` gets one plain `chat.completion` whose content is the reply's text.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class ScriptedReply:
    """One completion: text (sent in `chunk_chars` pieces), then optional tool calls."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    chunk_chars: int = 4
    delay_first_s: float = 0.0  # before the first byte: to test first-token timeouts
    delay_between_s: float = 0.0
    status: int = 200  # a non-200 answers with an OpenAI-style error body


def _completion(body: dict[str, Any], reply: ScriptedReply) -> dict[str, Any]:
    """A non-streaming `chat.completion` (structured output, `response_format`): `text` is the content,
    verbatim, so a test can script invalid JSON as well as valid."""
    prompt = len(json.dumps(body.get("messages", []), ensure_ascii=False)) // 4
    completion = len(reply.text) // 4
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}}


class ScriptedOpenAIServer:
    def __init__(self, replies: list[ScriptedReply]) -> None:
        self._replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.sent_tool_call_ids: list[list[str]] = []  # per answered request: the tool call ids it sent
        self.base_url = ""

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ScriptedOpenAIServer]:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        try:
            yield self
        finally:
            await runner.cleanup()

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if not self._replies:
            return web.json_response({"error": {"message": "script exhausted", "type": "server_error"}},
                                     status=500)
        reply = self._replies.pop(0)
        await asyncio.sleep(reply.delay_first_s)
        if reply.status != 200:
            return web.json_response({"error": {"message": "scripted failure", "type": "server_error"}},
                                     status=reply.status)
        if request.transport is None or request.transport.is_closing():
            return web.Response(status=499)  # the client gave up waiting (a timeout under test)
        if not body.get("stream"):  # a plain completion: the reply's text is the whole message
            return web.json_response(_completion(body, reply))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        async def send(delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = {
                "id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.get("model", "scripted"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if with_usage:
                chunk["usage"] = None
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await asyncio.sleep(reply.delay_between_s)

        sent_ids: list[str] = []
        self.sent_tool_call_ids.append(sent_ids)
        await send({"role": "assistant", "content": ""})
        for i in range(0, len(reply.text), reply.chunk_chars):
            await send({"content": reply.text[i : i + reply.chunk_chars]})
        for index, (name, arguments) in enumerate(reply.tool_calls):
            raw = json.dumps(arguments, ensure_ascii=False)
            call_id = f"call_{uuid.uuid4().hex[:8]}"
            sent_ids.append(call_id)
            await send({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                        "function": {"name": name, "arguments": ""}}]})
            for i in range(0, len(raw), 7):  # arguments arrive in fragments, as from real servers
                await send({"tool_calls": [{"index": index, "function": {"arguments": raw[i : i + 7]}}]})
        await send({}, "tool_calls" if reply.tool_calls else "stop")
        if with_usage:
            prompt = _tokens(json.dumps(body.get("messages", []), ensure_ascii=False))
            calls = json.dumps(reply.tool_calls, ensure_ascii=False) if reply.tool_calls else ""
            completion = _tokens(reply.text + calls)
            usage = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": body.get("model", "scripted"), "choices": [],
                     "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                               "total_tokens": prompt + completion}}
            await response.write(f"data: {json.dumps(usage)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _tokens(text: str) -> int:
    return max(1, -(-len(text) // 4)) if text else 0
