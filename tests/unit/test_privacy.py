from countries.privacy import mask_identifiers_in, mask_national_id, mask_phone


def test_phone_masks_keep_country_and_last_digits():
    assert mask_phone("+56912345678") == "+569*****678"
    assert mask_phone("5551234") == "5***234"
    assert "1234567" not in mask_phone("+541112345678")


def test_short_numbers_are_fully_masked():
    assert mask_phone("1001") == "****"


def test_rut_mask_keeps_only_the_tail_and_check_digit():
    assert mask_national_id("12.345.678-5") == "*****678-5"
    assert mask_national_id("9876543") == "****543"


def test_ruts_in_a_transcript_line_are_masked_and_amounts_are_not():
    assert mask_identifiers_in("Mi RUT es 14.567.890-0, debo $1.500.000") == "Mi RUT es *****890-0, debo $1.500.000"
    assert mask_identifiers_in("es el 9876543 - k") == "es el ****543-k"
    assert mask_identifiers_in("le pago 50.000 el 15") == "le pago 50.000 el 15"


def test_keyed_entries_of_an_identifier_are_masked_and_menu_keys_stay():
    assert mask_identifiers_in("145678900#", keyed=True) == "*****890-0"
    assert mask_identifiers_in("1456789*", keyed=True) == "****789-K"  # * is K on a phone keypad
    assert [mask_identifiers_in(k, keyed=True) for k in ("0", "1", "12#")] == ["0", "1", "12#"]
