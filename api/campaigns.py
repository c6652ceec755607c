"""Campaigns: create one, list them, see one with today's progress, launch a wave now, pause, resume, finish.

Pausing stops the dialer from claiming the campaign's queued calls (campaigns/queue.py); calls
already up go on to their end. Resuming lets the queue flow again; the next scheduled wave runs
as planned.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import psycopg
from aiohttp import web

from api.endpoint import ApiCall, Endpoint, json_response
from api.errors import ApiError
from campaigns.campaign import Campaign, CampaignSpec
from campaigns.report import progress


def _campaign(c: Campaign) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "country": c.country, "timezone": c.timezone, "trunk": c.trunk,
            "caller_id": c.caller_id, "status": c.status, "answering_machine": c.answering_machine, "kind": c.kind,
            "flows": dict(c.flows), "selection": c.selection.model_dump(mode="json"),
            "waves": [t.strftime("%H:%M") for t in c.policy_config.waves]}


async def _get(call: ApiCall) -> Campaign:
    campaign = await call.services.campaigns.get(call.path["campaign_id"])
    if campaign is None:
        raise ApiError(404, f"no campaign {call.path['campaign_id']}")
    return campaign


async def list_campaigns(call: ApiCall) -> web.StreamResponse:
    """Every campaign with its jobs by state, counted in one query (the dashboard lists them all)."""
    async with call.services.pool.connection() as conn:
        cur = await conn.execute("SELECT campaign_id, state, count(*) FROM call_jobs GROUP BY 1, 2")
        jobs: dict[int, dict[str, int]] = {}
        for campaign_id, state, n in await cur.fetchall():
            jobs.setdefault(campaign_id, {})[state] = n
    return json_response({"items": [{**_campaign(c), "jobs": jobs.get(c.id, {})}
                                    for c in await call.services.campaigns.list()]})


async def create_campaign(call: ApiCall) -> web.StreamResponse:
    try:
        campaign = await call.services.campaigns.create(call.body)
    except psycopg.errors.UniqueViolation:
        raise ApiError(409, f"a campaign named {call.body.name!r} already exists") from None
    except (ValueError, LookupError) as exc:  # a caller id the law forbids, an unknown country profile
        raise ApiError(422, str(exc)) from None
    return json_response(_campaign(campaign), status=201)


async def get_campaign(call: ApiCall) -> web.StreamResponse:
    campaign = await _get(call)
    state = await progress(call.services.pool, campaign, datetime.now().astimezone())
    return json_response({**_campaign(campaign), "progress": asdict(state)})


async def start_wave(call: ApiCall) -> web.StreamResponse:
    """A wave now, under the same limits as the scheduled ones; activates a draft or paused campaign."""
    campaign = await _get(call)
    if campaign.status == "finished":
        raise ApiError(409, f"campaign {campaign.name!r} is finished")
    if campaign.status != "active":
        await call.services.campaigns.set_status(campaign.id, "active")
        campaign = await _get(call)
    result = await call.services.planner.plan(campaign, datetime.now().astimezone())
    return json_response({"campaign_id": campaign.id, "wave_id": result.wave_id, "day": result.local_date,
                          "slot": result.slot, "enqueued": result.enqueued, "reminders": result.reminders,
                          "held_back": result.skipped},
                         status=201)


async def _set_status(call: ApiCall, status: str, allowed_from: tuple[str, ...]) -> web.StreamResponse:
    campaign = await _get(call)
    if campaign.status not in allowed_from:
        raise ApiError(409, f"campaign {campaign.name!r} is {campaign.status}; it cannot become {status}")
    await call.services.campaigns.set_status(campaign.id, status)
    return json_response(_campaign(await _get(call)))


async def pause_campaign(call: ApiCall) -> web.StreamResponse:
    return await _set_status(call, "paused", ("active", "paused"))


async def resume_campaign(call: ApiCall) -> web.StreamResponse:
    return await _set_status(call, "active", ("paused", "draft", "active"))


async def finish_campaign(call: ApiCall) -> web.StreamResponse:
    """No more waves and no more calls from its queue (calls up go on to their end); not undone."""
    return await _set_status(call, "finished", ("draft", "active", "paused", "finished"))


ONE = {"campaign_id": "id"}
ENDPOINTS = [
    Endpoint("GET", "/api/v1/campaigns", list_campaigns, "Campaigns, each with its jobs by state", "campaigns"),
    Endpoint("POST", "/api/v1/campaigns", create_campaign, "Create a campaign (flows, policy, answering "
             "machines)", "campaigns", body=CampaignSpec, ok=201, errors=(409,)),
    Endpoint("GET", "/api/v1/campaigns/{campaign_id}", get_campaign, "A campaign with today's progress",
             "campaigns", path_params=ONE, errors=(404,)),
    Endpoint("POST", "/api/v1/campaigns/{campaign_id}/start", start_wave, "Launch a wave now",
             "campaigns", path_params=ONE, ok=201, errors=(404, 409)),
    Endpoint("POST", "/api/v1/campaigns/{campaign_id}/pause", pause_campaign, "Pause: no new calls",
             "campaigns", path_params=ONE, errors=(404, 409)),
    Endpoint("POST", "/api/v1/campaigns/{campaign_id}/resume", resume_campaign, "Resume a paused campaign",
             "campaigns", path_params=ONE, errors=(404, 409)),
    Endpoint("POST", "/api/v1/campaigns/{campaign_id}/finish", finish_campaign, "Finish: no more waves or calls",
             "campaigns", path_params=ONE, errors=(404,)),
]
