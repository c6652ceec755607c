"""When the agent may say it will call back: the next moment the country's law allows a call.

A callback the debtor asks for outside the law's hours ("llámeme el sábado" in Chile, "hoy a las
cinco" on a Colombian Saturday afternoon) is moved to the next allowed moment, so that the time the
agent says is the time the call will come: the country's profile (`countries.profile`, its
`profile.toml`) decides, as it does when `campaigns.actions` books the callback.
"""

from __future__ import annotations

from datetime import datetime

from countries import country
from countries.profile import profile_for

__all__ = ["next_allowed"]


def next_allowed(when: datetime, country_code: str | None) -> datetime:
    """`when` itself if calls are allowed then, else the next moment they are (unknown country: `when`)."""
    found = country(country_code) if country_code else None
    if found is None or found.profile_toml() is None:
        return when
    return profile_for([found.code]).next_open(when)
