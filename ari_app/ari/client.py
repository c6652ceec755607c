"""REST half of the ARI client: one method per ARI operation the app uses."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from ari_app.ari.models import Channel


class AriError(RuntimeError):
    """An ARI request failed: carries the HTTP status so callers can tell 404 (gone) from 5xx."""

    def __init__(self, method: str, path: str, status: int | None, message: str) -> None:
        super().__init__(f"ARI {method} {path} -> {status if status is not None else 'no response'}: {message}")
        self.method = method
        self.path = path
        self.status = status

    @property
    def not_found(self) -> bool:
        return self.status == 404


class AriClient:
    """ARI REST calls over a caller-owned aiohttp session (the session's lifetime is the app's)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        user: str,
        password: str,
        app: str,
        request_timeout_s: float = 10.0,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/") + "/ari"
        self._headers = basic_auth_header(user, password)
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self.app = app

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        clean = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self._session.request(
                method, self._base + path, params=clean, json=body, headers=self._headers, timeout=self._timeout
            ) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    raise AriError(method, path, resp.status, _error_message(text))
                if not text:
                    return None
                return json.loads(text)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AriError(method, path, None, f"{type(exc).__name__}: {exc}") from exc

    # --- asterisk ------------------------------------------------------------------------
    async def asterisk_info(self) -> dict[str, Any]:
        return await self.request("GET", "/asterisk/info")

    async def endpoint_state(self, technology: str, resource: str) -> str:
        """"online", "offline" or "unknown": for PJSIP, whether the endpoint's contacts qualify."""
        data = await self.request("GET", f"/endpoints/{technology}/{resource}")
        return str(data.get("state") or "unknown")

    async def config_object(self, config_class: str, object_type: str, object_id: str) -> dict[str, str]:
        """A configuration object as Asterisk holds it (e.g. res_pjsip, aor, trunk): its attributes by name."""
        data = await self.request("GET", f"/asterisk/config/dynamic/{config_class}/{object_type}/{object_id}")
        return {str(a["attribute"]): str(a["value"]) for a in data or ()}

    # --- channels ------------------------------------------------------------------------
    async def list_channels(self) -> list[Channel]:
        return [Channel.from_json(c) for c in await self.request("GET", "/channels")]

    async def get_channel(self, channel_id: str) -> Channel:
        return Channel.from_json(await self.request("GET", f"/channels/{channel_id}"))

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app_args: str = "",
        caller_id: str | None = None,
        timeout_s: int = 30,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Dial `endpoint` (e.g. PJSIP/+56912345678@trunk); it enters our Stasis app when answered."""
        data = await self.request(
            "POST",
            "/channels",
            params={
                "endpoint": endpoint,
                "app": self.app,
                "appArgs": app_args,
                "channelId": channel_id,
                "callerId": caller_id or None,
                "timeout": timeout_s,
            },
            body={"variables": dict(variables or {})},
        )
        return Channel.from_json(data)

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str = "s",
                                   priority: int = 1) -> None:
        """The channel leaves Stasis for the dialplan (a transfer to the human agents' context)."""
        await self.request("POST", f"/channels/{channel_id}/continue",
                           params={"context": context, "extension": extension, "priority": str(priority)})

    async def subscribe(self, channel_id: str) -> None:
        """Keep receiving a channel's events while it runs dialplan outside Stasis."""
        await self.request("POST", f"/applications/{self.app}/subscription",
                           params={"eventSource": f"channel:{channel_id}"})

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/variable", params={"variable": name, "value": value})

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> bool:
        """Hang up; returns False when the channel was already gone (a race every call center sees)."""
        return await self._delete(f"/channels/{channel_id}", params={"reason": reason})

    async def external_media(
        self, *, channel_id: str, external_host: str, audio_format: str, direction: str = "both"
    ) -> Channel:
        """Create an ExternalMedia channel streaming RTP to/from `external_host` (host:port)."""
        data = await self.request(
            "POST",
            "/channels/externalMedia",
            params={
                "app": self.app,
                "channelId": channel_id,
                "external_host": external_host,
                "format": audio_format,
                "encapsulation": "rtp",
                "transport": "udp",
                "connection_type": "client",
                "direction": direction,
            },
        )
        return Channel.from_json(data)

    async def get_variable(self, channel_id: str, name: str) -> str:
        data = await self.request("GET", f"/channels/{channel_id}/variable", params={"variable": name})
        return str(data.get("value", ""))

    # --- bridges -------------------------------------------------------------------------
    async def create_bridge(self, bridge_id: str, bridge_type: str = "mixing") -> None:
        await self.request("POST", f"/bridges/{bridge_id}", params={"type": bridge_type})

    async def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/addChannel", params={"channel": ",".join(channel_ids)})

    async def destroy_bridge(self, bridge_id: str) -> bool:
        return await self._delete(f"/bridges/{bridge_id}")


    # --- stored recordings (files in Asterisk's recording spool: MixMonitor's, the dialplan's) ---------
    async def stored_recording_file(self, name: str) -> bytes | None:
        """The file of the stored recording `name` (no extension), None when there is none. Fetched over
        ARI so that the app and Asterisk need no shared disk (they may be different containers)."""
        path = f"/recordings/stored/{name}/file"
        try:
            async with self._session.get(self._base + path, headers=self._headers, timeout=self._timeout) as resp:
                if resp.status == 404:
                    return None
                if resp.status >= 400:
                    raise AriError("GET", path, resp.status, _error_message(await resp.text()))
                return await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AriError("GET", path, None, f"{type(exc).__name__}: {exc}") from exc

    async def delete_stored_recording(self, name: str) -> bool:
        return await self._delete(f"/recordings/stored/{name}")

    async def _delete(self, path: str, **kwargs: Any) -> bool:
        """DELETE `path`; False when it was already gone (404), which callers treat as done."""
        try:
            await self.request("DELETE", path, **kwargs)
        except AriError as exc:
            if exc.not_found:
                return False
            raise
        return True

def basic_auth_header(user: str, password: str) -> dict[str, str]:
    """ARI's HTTP Basic credentials as a header (aiohttp's `auth=` argument is deprecated)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error_message(text: str) -> str:
    try:
        return str(json.loads(text).get("message", text))
    except (ValueError, AttributeError):
        return text[:200]
