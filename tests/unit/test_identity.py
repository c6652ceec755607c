"""National ids and phones made canonical: RUT, DNI/CUIT, cédula, E.164."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from countries.ar import cuit_check_digit
from countries.cl import normalise_rut, rut_check_digit
from countries.identity import InvalidIdentity, normalise_national_id, normalise_phone


@pytest.mark.parametrize("written", ["12.345.678-5", "12345678-5", "123456785", " 12 345 678-5 ", "12.345.678 - 5"])
def test_rut_spellings_become_one_canonical_form(written):
    assert normalise_rut(written) == "12345678-5"


def test_rut_with_k_check_digit_is_upper_case():
    body = next(b for b in range(1_000_000, 1_001_000) if rut_check_digit(b) == "K")
    assert normalise_rut(f"{body}-k") == f"{body}-K"
    assert normalise_rut(f"{body}k") == f"{body}-K"


def test_rut_check_digit_examples():
    assert rut_check_digit(12_345_678) == "5"
    assert rut_check_digit(11_111_111) == "1"
    assert normalise_rut("7.654.321-6") == "7654321-6"


def test_a_wrong_check_digit_says_which_one_is_right():
    with pytest.raises(InvalidIdentity, match="dígito verificador del RUT debería ser 5, no 3") as caught:
        normalise_rut("12.345.678-3")
    assert isinstance(caught.value, ValueError)
    assert "12.345" not in caught.value.reason  # masked: the reason goes to logs and import_errors


@pytest.mark.parametrize("bad", ["", "abc", "12.345.678-X", "0-0", "123456789012-3", "-5"])
def test_malformed_ruts_are_rejected(bad):
    with pytest.raises(InvalidIdentity):
        normalise_rut(bad)


def _dotted(body: int) -> str:
    return f"{body:,}".replace(",", ".")


@given(st.integers(min_value=1, max_value=99_999_999), st.booleans(), st.booleans())
def test_rut_round_trips_with_and_without_dots(body, dots, dash):
    check = rut_check_digit(body)
    written = (_dotted(body) if dots else str(body)) + ("-" if dash else "") + check.lower()
    assert normalise_rut(written) == f"{body}-{check}"
    assert normalise_rut(normalise_rut(written)) == f"{body}-{check}"


@given(st.integers(min_value=1, max_value=99_999_999), st.sampled_from("0123456789K"), st.booleans())
def test_a_wrong_rut_check_digit_is_always_rejected(body, digit, dots):
    if digit == rut_check_digit(body):
        return
    with pytest.raises(InvalidIdentity, match="dígito verificador"):
        normalise_rut((_dotted(body) if dots else str(body)) + f"-{digit}")


def test_argentine_dni_and_cuit():
    assert normalise_national_id("12.345.678", "AR") == "12345678"
    assert normalise_national_id("1234567", "ar") == "1234567"
    assert cuit_check_digit("2012345678") == 6
    assert normalise_national_id("20123456786", "AR") == "20-12345678-6"
    assert normalise_national_id("20-12345678-6", "AR") == "20-12345678-6"
    with pytest.raises(InvalidIdentity, match="dígito verificador del CUIT/CUIL debería ser 6, no 5"):
        normalise_national_id("20-12345678-5", "AR")
    for bad in ("123456", "123456789", "12a45678"):
        with pytest.raises(InvalidIdentity):
            normalise_national_id(bad, "AR")


def test_colombian_cedula():
    assert normalise_national_id("1.020.304.050", "CO") == "1020304050"
    assert normalise_national_id("123456", "CO") == "123456"
    for bad in ("12345", "12345678901", "12x456"):
        with pytest.raises(InvalidIdentity):
            normalise_national_id(bad, "CO")


def test_other_countries_keep_the_id_as_written():
    assert normalise_national_id("  AB-123 ", "PE") == "AB-123"
    with pytest.raises(InvalidIdentity):
        normalise_national_id("   ", "PE")


@pytest.mark.parametrize(("written", "country", "e164"), [
    ("+56 9 8765 4321", "CL", "+56987654321"),
    ("987654321", "CL", "+56987654321"),
    ("56987654321", "CL", "+56987654321"),
    ("(2) 2345 6789", "CL", "+56223456789"),
    ("11 2345-6789", "AR", "+541123456789"),
    ("+54 9 11 2345-6789", "AR", "+5491123456789"),
    ("300 123 4567", "CO", "+573001234567"),
])
def test_phones_become_e164(written, country, e164):
    assert normalise_phone(written, country) == e164


@pytest.mark.parametrize("bad", ["912", "+56 9 1234 567", "hello", "", "+56 9 1812 3456"])
def test_invalid_phones_are_rejected_with_a_masked_reason(bad):
    with pytest.raises(InvalidIdentity) as caught:
        normalise_phone(bad, "CL")
    digits = "".join(c for c in bad if c.isdigit())
    if len(digits) > 6:
        assert digits not in caught.value.reason.replace(" ", "")
