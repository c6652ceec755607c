from campaigns.privacy import mask_national_id, mask_phone


def test_phone_masks_keep_country_and_last_digits():
    assert mask_phone("+56912345678") == "+569*****678"
    assert mask_phone("5551234") == "5***234"
    assert "1234567" not in mask_phone("+541112345678")


def test_short_numbers_are_fully_masked():
    assert mask_phone("1001") == "****"


def test_rut_mask_keeps_only_the_tail_and_check_digit():
    assert mask_national_id("12.345.678-5") == "*****678-5"
    assert mask_national_id("9876543") == "****543"
