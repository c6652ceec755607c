"""The number the carrier receives: E.164 with or without '+', or the national form, after a prefix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ari_app.settings import Settings
from countries.dialing import trunk_number


@pytest.mark.parametrize(("e164", "national"), [
    ("+56987654321", "987654321"),         # Chile, mobile: no trunk prefix since 2016
    ("+56221234567", "221234567"),         # Chile, Santiago landline
    ("+5491123456789", "0111523456789"),   # Argentina, Buenos Aires mobile: the 9 becomes 0 11 ... 15
    ("+5493514567890", "0351154567890"),   # Argentina, Córdoba mobile
    ("+541143211234", "01143211234"),      # Argentina, Buenos Aires landline
    ("+573001234567", "3001234567"),       # Colombia, mobile
    ("+576012345678", "6012345678"),       # Colombia, Bogotá landline (601)
    ("+576045123456", "6045123456"),       # Colombia, Medellín landline (604)
])
def test_each_format_of_chilean_argentine_and_colombian_numbers(e164, national) -> None:
    assert trunk_number(e164) == e164
    assert trunk_number(e164, "+e164") == e164
    assert trunk_number(e164, "e164") == e164[1:]
    assert trunk_number(e164, "national") == national


def test_the_prefix_goes_before_any_format() -> None:
    assert trunk_number("+573001234567", "e164", "00") == "00573001234567"
    assert trunk_number("+5491123456789", "national", "1234#") == "1234#0111523456789"
    assert trunk_number("+56987654321", "+e164", "*99") == "*99+56987654321"


def test_a_number_without_plus_is_dialed_as_given() -> None:
    # A lab extension, or a number already in the carrier's form: nothing to convert.
    assert trunk_number("5551234", "national") == "5551234"
    assert trunk_number("5551234", "e164", "9") == "95551234"


def test_bad_formats_prefixes_and_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown number format"):
        trunk_number("+56987654321", "E.164")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only digits"):
        trunk_number("+56987654321", "e164", "0;x")
    with pytest.raises(ValueError, match="not an E.164 number") as refused:
        trunk_number("+0001234567", "national")
    assert "1234567" not in str(refused.value)  # masked, as in every log line


def test_settings_refuse_an_unknown_format_or_prefix_at_start() -> None:
    with pytest.raises(ValidationError, match="TRUNK_NUMBER_FORMAT"):
        Settings(TRUNK_NUMBER_FORMAT="international")
    with pytest.raises(ValidationError, match="TRUNK_DIAL_PREFIX may hold only digits"):
        Settings(TRUNK_DIAL_PREFIX="00 ")
    settings = Settings(TRUNK_NUMBER_FORMAT="national", TRUNK_DIAL_PREFIX="1234#")
    assert (settings.trunk_number_format, settings.trunk_dial_prefix) == ("national", "1234#")
