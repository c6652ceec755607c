"""Every country folder is complete and consistent; each country's own id examples.

A new country (a folder under `countries/`) is checked by the first group of tests without any change
here; add its national id examples to `ID_EXAMPLES` below.
"""

from __future__ import annotations

import tomllib
import zoneinfo

import phonenumbers
import pytest

from agent.nlu import parse_amount
from campaigns.cells import parse_country
from countries import all_countries, country, country_code, default_timezone
from countries.identity import InvalidIdentity, normalise_national_id
from countries.profile import CountryProfile, bundled_profiles

COUNTRIES = sorted(all_countries())


def test_the_folders_are_found() -> None:
    assert {"CL", "AR", "CO", "US"} <= set(COUNTRIES)


@pytest.mark.parametrize("code", COUNTRIES)
def test_a_country_folder_is_consistent(code: str) -> None:
    c = all_countries()[code]
    assert c.code == code and code in phonenumbers.SUPPORTED_REGIONS
    if c.timezone is not None:
        zoneinfo.ZoneInfo(c.timezone)  # a real IANA zone
    for name in c.names:
        assert name == name.lower() and country_code(name) == code
    assert all(isinstance(v, int) and v >= 1_000 for v in c.money_words.values())
    text = c.profile_toml()
    if text is not None:  # its legal profile parses and names its own country
        data = tomllib.loads(text)
        assert data["country"] == code
        assert isinstance(CountryProfile.from_toml(data), CountryProfile)
        assert code in bundled_profiles()
    if c.normalise_id is not None:
        with pytest.raises(InvalidIdentity):
            normalise_national_id("ABC", code)  # letters are nobody's id


# Valid spellings of one person's id, its canonical form, and an invalid one.
ID_EXAMPLES = {
    "CL": (["12.345.678-5", "123456785"], "12345678-5", "12.345.678-6"),
    "AR": (["20-12345678-6", "20123456786"], "20-12345678-6", "20-12345678-5"),
    "CO": (["1.234.567", "1234567"], "1234567", "12345"),
}


@pytest.mark.parametrize("code", sorted(ID_EXAMPLES))
def test_each_country_reads_its_own_national_id(code: str) -> None:
    spellings, canonical, invalid = ID_EXAMPLES[code]
    assert {normalise_national_id(s, code) for s in spellings} == {canonical}
    with pytest.raises(InvalidIdentity):
        normalise_national_id(invalid, code)


def test_every_debtor_country_has_its_id_examples() -> None:
    debtor_countries = {code for code, c in all_countries().items() if c.normalise_id is not None}
    assert debtor_countries == set(ID_EXAMPLES)


def test_names_zones_and_money_words_are_read_from_the_folders() -> None:
    assert parse_country("Argentina") == "AR" and parse_country("colombia") == "CO"
    assert default_timezone("CO") == "America/Bogota" and default_timezone("US") is None
    assert country("cl") is all_countries()["CL"]
    assert parse_amount("cinco lucas") == 5_000  # Chile's and Argentina's word
    assert parse_amount("diez barras") == 10_000  # Colombia's
    assert parse_amount("medio palo") == 500_000
